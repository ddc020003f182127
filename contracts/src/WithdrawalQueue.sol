// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IStETHShares {
    function getSharesByPooledEth(uint256 pooledEthAmount) external view returns (uint256);
    function transferFrom(address sender, address recipient, uint256 amount) external returns (bool);
}

/// @title WithdrawalQueue
/// @notice Lido's withdrawal queue (WithdrawalQueueERC721's accounting without the NFT): requests lock stETH,
///         an oracle report finalizes them at min(request value, shares x report share rate), owners claim ETH.
///         Views keep mainnet's names: unfinalizedStETH, getWithdrawalStatus, getLastRequestId, ...
contract WithdrawalQueue {
    struct WithdrawalRequestStatus {
        uint256 amountOfStETH;
        uint256 amountOfShares;
        address owner;
        uint256 timestamp;
        bool isFinalized;
        bool isClaimed;
    }

    struct Request {
        uint128 cumulativeStETH;
        uint128 cumulativeShares;
        address owner;
        uint40 timestamp;
        bool claimed;
    }

    uint256 public constant MIN_STETH_WITHDRAWAL_AMOUNT = 100;
    uint256 public constant MAX_STETH_WITHDRAWAL_AMOUNT = 1000 ether;
    uint256 internal constant E27_PRECISION_BASE = 1e27;

    event WithdrawalRequested(
        uint256 indexed requestId,
        address indexed requestor,
        address indexed owner,
        uint256 amountOfStETH,
        uint256 amountOfShares
    );
    event WithdrawalsFinalized(
        uint256 indexed from, uint256 indexed to, uint256 amountOfETHLocked, uint256 sharesToBurn, uint256 timestamp
    );
    event WithdrawalClaimed(
        uint256 indexed requestId, address indexed owner, address indexed receiver, uint256 amountOfETH
    );

    IStETHShares public immutable STETH;
    // Request 0 is the zero sentinel, as on mainnet, so cumulative sums start at 0.
    Request[] internal _requests;
    mapping(uint256 => uint256) internal _claimable;
    uint256 internal _lastFinalizedRequestId;
    uint256 internal _lockedEther;

    event InitializedV1(address _admin);

    error AlreadyInitialized();

    /// @dev As on mainnet, an implementation behind Lido's OssifiableProxy: immutables here, storage set up by
    ///      `initialize` through the proxy.
    constructor(IStETHShares stETH_) {
        STETH = stETH_;
    }

    /// @notice WithdrawalQueue.initialize: the zero sentinel request (mainnet also grants `_admin` its roles, which
    ///         this stand-in, without AccessControl or pausing, does not keep).
    function initialize(address _admin) external {
        if (_requests.length != 0) revert AlreadyInitialized();
        _requests.push(Request(0, 0, address(0), uint40(block.timestamp), true));
        emit InitializedV1(_admin);
    }

    function requestWithdrawals(uint256[] calldata _amounts, address _owner)
        external
        returns (uint256[] memory requestIds)
    {
        if (_owner == address(0)) _owner = msg.sender;
        requestIds = new uint256[](_amounts.length);
        for (uint256 i = 0; i < _amounts.length; ++i) {
            uint256 amount = _amounts[i];
            require(amount >= MIN_STETH_WITHDRAWAL_AMOUNT, "RequestAmountTooSmall");
            require(amount <= MAX_STETH_WITHDRAWAL_AMOUNT, "RequestAmountTooLarge");
            STETH.transferFrom(msg.sender, address(this), amount);
            uint256 shares = STETH.getSharesByPooledEth(amount);
            Request memory last = _requests[_requests.length - 1];
            _requests.push(
                Request(
                    uint128(last.cumulativeStETH + amount),
                    uint128(last.cumulativeShares + shares),
                    _owner,
                    uint40(block.timestamp),
                    false
                )
            );
            requestIds[i] = _requests.length - 1;
            emit WithdrawalRequested(requestIds[i], msg.sender, _owner, amount, shares);
        }
    }

    /// @notice ETH to lock and shares to burn to finalize up to the last id of `_batches` at `_maxShareRate` (1e27).
    function prefinalize(uint256[] calldata _batches, uint256 _maxShareRate)
        external
        view
        returns (uint256 ethToLock, uint256 sharesToBurn)
    {
        uint256 lastId = _batches[_batches.length - 1];
        require(lastId > _lastFinalizedRequestId && lastId < _requests.length, "InvalidRequestId");
        for (uint256 id = _lastFinalizedRequestId + 1; id <= lastId; ++id) {
            (uint256 eth, uint256 shares) = _requestValue(id, _maxShareRate);
            ethToLock += eth;
            sharesToBurn += shares;
        }
    }

    function finalize(uint256 _lastRequestIdToBeFinalized, uint256 _maxShareRate) external payable {
        require(msg.sender == address(STETH), "NotLido");
        uint256 first = _lastFinalizedRequestId + 1;
        require(_lastRequestIdToBeFinalized >= first && _lastRequestIdToBeFinalized < _requests.length, "InvalidRequestId");
        uint256 locked;
        uint256 burnt;
        for (uint256 id = first; id <= _lastRequestIdToBeFinalized; ++id) {
            (uint256 eth, uint256 shares) = _requestValue(id, _maxShareRate);
            _claimable[id] = eth;
            locked += eth;
            burnt += shares;
        }
        require(locked == msg.value, "InvalidEtherAmount");
        _lastFinalizedRequestId = _lastRequestIdToBeFinalized;
        _lockedEther += locked;
        emit WithdrawalsFinalized(first, _lastRequestIdToBeFinalized, locked, burnt, block.timestamp);
    }

    function claimWithdrawal(uint256 _requestId) external {
        require(_requestId != 0 && _requestId <= _lastFinalizedRequestId, "RequestNotFoundOrNotFinalized");
        Request storage request = _requests[_requestId];
        require(!request.claimed, "RequestAlreadyClaimed");
        require(request.owner == msg.sender, "NotOwner");
        request.claimed = true;
        uint256 amount = _claimable[_requestId];
        _lockedEther -= amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "CantSendValueRecipientMayHaveReverted");
        emit WithdrawalClaimed(_requestId, msg.sender, msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    function unfinalizedStETH() external view returns (uint256) {
        return _requests[_requests.length - 1].cumulativeStETH - _requests[_lastFinalizedRequestId].cumulativeStETH;
    }

    function unfinalizedRequestNumber() external view returns (uint256) {
        return _requests.length - 1 - _lastFinalizedRequestId;
    }

    function getLastRequestId() external view returns (uint256) {
        return _requests.length - 1;
    }

    function getLastFinalizedRequestId() external view returns (uint256) {
        return _lastFinalizedRequestId;
    }

    function getLockedEtherAmount() external view returns (uint256) {
        return _lockedEther;
    }

    function getWithdrawalStatus(uint256[] calldata _requestIds)
        external
        view
        returns (WithdrawalRequestStatus[] memory statuses)
    {
        statuses = new WithdrawalRequestStatus[](_requestIds.length);
        for (uint256 i = 0; i < _requestIds.length; ++i) {
            uint256 id = _requestIds[i];
            require(id != 0 && id < _requests.length, "InvalidRequestId");
            Request memory request = _requests[id];
            Request memory previous = _requests[id - 1];
            statuses[i] = WithdrawalRequestStatus(
                request.cumulativeStETH - previous.cumulativeStETH,
                request.cumulativeShares - previous.cumulativeShares,
                request.owner,
                request.timestamp,
                id <= _lastFinalizedRequestId,
                request.claimed
            );
        }
    }

    /// @dev What a request is worth at finalization: its stETH, capped by its shares at the report's share rate
    ///      (so stakers in the queue bear slashing but earn no rewards, as on mainnet).
    function _requestValue(uint256 id, uint256 shareRate) internal view returns (uint256 eth, uint256 shares) {
        uint256 stETH = _requests[id].cumulativeStETH - _requests[id - 1].cumulativeStETH;
        shares = _requests[id].cumulativeShares - _requests[id - 1].cumulativeShares;
        eth = (shares * shareRate) / E27_PRECISION_BASE;
        if (eth > stETH) eth = stETH;
    }
}
