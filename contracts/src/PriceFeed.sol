// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Chainlink's AggregatorV3Interface, as read by price consumers.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);
    function description() external view returns (string memory);
    function version() external view returns (uint256);
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// @title PriceFeed
/// @notice A Chainlink-compatible feed whose owner sets the answer; keeps every round so historical
///         reads (getRoundData) behave like the real aggregator.
contract PriceFeed is AggregatorV3Interface, Ownable {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error NoDataPresent();

    uint8 public immutable override decimals;
    string public override description;
    uint256 public constant override version = 4;

    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) Ownable(msg.sender) {
        decimals = decimals_;
        description = description_;
        _record(1, initialAnswer, block.timestamp, block.timestamp);
    }

    /// @notice Starts a new round at the current block time.
    function updateAnswer(int256 answer) external onlyOwner {
        _record(latestRound + 1, answer, block.timestamp, block.timestamp);
    }

    /// @notice Writes an arbitrary round (any timestamps), e.g. to make the feed look stale.
    function updateRoundData(uint80 roundId, int256 answer, uint256 updatedAt, uint256 startedAt)
        external
        onlyOwner
    {
        _record(roundId, answer, updatedAt, startedAt);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }

    function getAnswer(uint256 roundId) external view returns (int256) {
        return _rounds[uint80(roundId)].answer;
    }

    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return _rounds[uint80(roundId)].updatedAt;
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = _rounds[roundId];
        if (r.updatedAt == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint80 id = latestRound;
        Round memory r = _rounds[id];
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }

    function _record(uint80 roundId, int256 answer, uint256 updatedAt, uint256 startedAt) private {
        _rounds[roundId] = Round(answer, startedAt, updatedAt);
        // A round written out of order (a test rewinding history) must not move latestRound backwards.
        if (roundId >= latestRound) latestRound = roundId;
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }
}
