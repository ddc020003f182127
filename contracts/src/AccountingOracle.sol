// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

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
/// @notice Lido's accounting oracle as on mainnet in shape: an implementation (immutables: LIDO, SECONDS_PER_SLOT,
///         GENESIS_TIME) behind Lido's OssifiableProxy, set up through the proxy by `initializeWithoutMigration`,
///         with AccessControl roles (DEFAULT_ADMIN_ROLE: the admin, Lido's Agent on mainnet; SUBMIT_DATA_ROLE;
///         mainnet's AccessControlEnumerable getters are left out). Reduced: the consensus contract is one trusted
///         member that submits the report itself (mainnet: HashConsensus members agree on its hash first). A report
///         names a reference slot and the consensus-layer state then; the report time and the time elapsed follow
///         from slots as on mainnet (GENESIS_TIME + refSlot * SECONDS_PER_SLOT), and Lido rebases.
contract AccountingOracle is AccessControl {
    bytes32 public constant SUBMIT_DATA_ROLE = keccak256("SUBMIT_DATA_ROLE");

    uint256 public immutable SECONDS_PER_SLOT;
    uint256 public immutable GENESIS_TIME;
    ILidoOracleReportReceiver public immutable LIDO;

    uint256 internal _contractVersion;
    address internal _consensusContract;
    uint256 internal _consensusVersion;
    uint256 internal _lastProcessingRefSlot;

    event ProcessingStarted(uint256 indexed refSlot, bytes32 hash);

    error NonZeroContractVersionOnInit();
    error AdminCannotBeZero();
    error SenderNotAllowed();
    error RefSlotMustBeGreaterThanProcessingOne(uint256 refSlot, uint256 processingRefSlot);

    constructor(ILidoOracleReportReceiver lido, uint256 secondsPerSlot, uint256 genesisTime) {
        LIDO = lido;
        SECONDS_PER_SLOT = secondsPerSlot;
        GENESIS_TIME = genesisTime;
        _contractVersion = type(uint256).max; // the implementation itself cannot be initialized (mainnet: petrified)
    }

    /// @notice Mainnet V1's initializer for a deployment without a LegacyOracle to migrate from: the admin gets
    ///         DEFAULT_ADMIN_ROLE; reports are processed from ``lastProcessingRefSlot`` on.
    function initializeWithoutMigration(
        address admin,
        address consensusContract,
        uint256 consensusVersion,
        uint256 lastProcessingRefSlot
    ) external {
        if (_contractVersion != 0) revert NonZeroContractVersionOnInit();
        if (admin == address(0)) revert AdminCannotBeZero();
        _contractVersion = 1;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _consensusContract = consensusContract;
        _consensusVersion = consensusVersion;
        _lastProcessingRefSlot = lastProcessingRefSlot;
    }

    function getContractVersion() external view returns (uint256) {
        return _contractVersion;
    }

    function getConsensusContract() external view returns (address) {
        return _consensusContract;
    }

    function getConsensusVersion() external view returns (uint256) {
        return _consensusVersion;
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
        if (msg.sender != _consensusContract && !hasRole(SUBMIT_DATA_ROLE, msg.sender)) revert SenderNotAllowed();
        uint256 lastRefSlot = _lastProcessingRefSlot;
        if (refSlot <= lastRefSlot) revert RefSlotMustBeGreaterThanProcessingOne(refSlot, lastRefSlot);
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
