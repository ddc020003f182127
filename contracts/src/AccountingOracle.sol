// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface ILidoOracleReportReceiver {
    function handleOracleReport(
        uint256 reportTimestamp,
        uint256 timeElapsed,
        uint256 clValidators,
        uint256 clBalance,
        uint256 withdrawalVaultBalance,
        uint256 elRewardsVaultBalance,
        uint256 sharesRequestedToBurn,
        uint256[] calldata withdrawalFinalizationBatches,
        uint256 simulatedShareRate
    ) external returns (uint256[4] memory);
}

/// @title AccountingOracle
/// @notice Lido's accounting oracle, reduced to one trusted member: a report names a reference slot and the
///         consensus-layer state then; the report time and the time elapsed follow from slots as on mainnet
///         (GENESIS_TIME + refSlot * SECONDS_PER_SLOT), and Lido rebases.
contract AccountingOracle {
    uint256 public immutable SECONDS_PER_SLOT;
    uint256 public immutable GENESIS_TIME;
    ILidoOracleReportReceiver public immutable LIDO;
    address public member;
    uint256 internal _lastProcessingRefSlot;

    event ProcessingStarted(uint256 indexed refSlot, bytes32 hash);

    constructor(ILidoOracleReportReceiver lido, uint256 secondsPerSlot, uint256 genesisTime, uint256 initialRefSlot) {
        LIDO = lido;
        SECONDS_PER_SLOT = secondsPerSlot;
        GENESIS_TIME = genesisTime;
        member = msg.sender;
        _lastProcessingRefSlot = initialRefSlot;
    }

    function getLastProcessingRefSlot() external view returns (uint256) {
        return _lastProcessingRefSlot;
    }

    function submitReportData(
        uint256 refSlot,
        uint256 numValidators,
        uint256 clBalanceGwei,
        uint256 withdrawalVaultBalance,
        uint256 elRewardsVaultBalance,
        uint256[] calldata withdrawalFinalizationBatches,
        uint256 simulatedShareRate
    ) external {
        require(msg.sender == member, "SenderNotAllowed");
        uint256 lastRefSlot = _lastProcessingRefSlot;
        require(refSlot > lastRefSlot, "RefSlotMustBeGreaterThanProcessingOne");
        _lastProcessingRefSlot = refSlot;
        emit ProcessingStarted(refSlot, keccak256(msg.data));
        LIDO.handleOracleReport(
            GENESIS_TIME + refSlot * SECONDS_PER_SLOT,
            (refSlot - lastRefSlot) * SECONDS_PER_SLOT,
            numValidators,
            clBalanceGwei * 1 gwei,
            withdrawalVaultBalance,
            elRewardsVaultBalance,
            0,
            withdrawalFinalizationBatches,
            simulatedShareRate
        );
    }
}
