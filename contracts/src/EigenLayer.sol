// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

// EigenLayer core as deployed on Ethereum after the slashing upgrade (2025), with the real function names,
// argument shapes, views and events (tests/fixtures/abi/eigenlayer). As on mainnet the three managers are
// implementations (cross references immutable) behind TransparentUpgradeableProxies, set up by `initialize`.
// Pausing is mainnet's (`Pausable` bits behind one `PauserRegistry`: pausers pause, only the unpauser unpauses);
// the strategies' own pause flags are left out. Left out too: signatures,
// the AllocationManager (no operator is ever slashed here, so every slashing factor stays 1 and scaled shares
// equal deposit shares) and native withdrawals. The deployer is the owner, the strategy whitelister and, for
// lack of beacon-chain proofs, every EigenPod. `setMinWithdrawalDelayBlocks` is the only devnet-only hook.

interface IStrategy {
    function deposit(IERC20 token, uint256 amount) external returns (uint256);
    function withdraw(address recipient, IERC20 token, uint256 amountShares) external;
    function underlyingToken() external view returns (IERC20);
}

/// @title StrategyBase
/// @notice One underlying token; shares priced with EigenLayer's virtual offsets (1e3 shares, 1e3 wei). As on
///         mainnet, one implementation serves every strategy from behind a BeaconProxy: the StrategyManager is
///         its immutable, the underlying token storage that `initialize` sets through the proxy.
contract StrategyBase is IStrategy, Initializable {
    using SafeERC20 for IERC20;

    uint256 internal constant SHARES_OFFSET = 1e3;
    uint256 internal constant BALANCE_OFFSET = 1e3;
    uint256 internal constant MAX_TOTAL_SHARES = 1e38 - 1;

    event ExchangeRateEmitted(uint256 rate);
    event StrategyTokenSet(IERC20 token, uint8 decimals);

    // Public on mainnet's StrategyBase, but not part of IStrategy (the interface we replicate).
    StrategyManager internal immutable strategyManager;
    IERC20 public underlyingToken;
    uint256 public totalShares;

    constructor(StrategyManager _strategyManager) {
        strategyManager = _strategyManager;
        _disableInitializers();
    }

    function initialize(IERC20 _underlyingToken) public initializer {
        underlyingToken = _underlyingToken;
        emit StrategyTokenSet(_underlyingToken, 18);
    }

    modifier onlyStrategyManager() {
        require(msg.sender == address(strategyManager), "OnlyStrategyManager");
        _;
    }

    function deposit(IERC20 token, uint256 amount) external onlyStrategyManager returns (uint256 newShares) {
        require(token == underlyingToken, "OnlyUnderlyingToken");
        uint256 priorTotalShares = totalShares;
        uint256 virtualShareAmount = priorTotalShares + SHARES_OFFSET;
        uint256 virtualTokenBalance = _tokenBalance() + BALANCE_OFFSET;
        uint256 virtualPriorTokenBalance = virtualTokenBalance - amount;
        newShares = (amount * virtualShareAmount) / virtualPriorTokenBalance;
        require(newShares != 0, "NewSharesZero");
        totalShares = priorTotalShares + newShares;
        require(totalShares <= MAX_TOTAL_SHARES, "TotalSharesExceedsMax");
        _emitExchangeRate(virtualTokenBalance, totalShares + SHARES_OFFSET);
    }

    function withdraw(address recipient, IERC20 token, uint256 amountShares) external onlyStrategyManager {
        require(token == underlyingToken, "OnlyUnderlyingToken");
        uint256 priorTotalShares = totalShares;
        require(amountShares <= priorTotalShares, "WithdrawalAmountExceedsTotalDeposits");
        uint256 virtualPriorTotalShares = priorTotalShares + SHARES_OFFSET;
        uint256 virtualTokenBalance = _tokenBalance() + BALANCE_OFFSET;
        uint256 amountToSend = (virtualTokenBalance * amountShares) / virtualPriorTotalShares;
        totalShares = priorTotalShares - amountShares;
        _emitExchangeRate(virtualTokenBalance - amountToSend, totalShares + SHARES_OFFSET);
        token.safeTransfer(recipient, amountToSend);
    }

    function sharesToUnderlyingView(uint256 amountShares) public view returns (uint256) {
        uint256 virtualTotalShares = totalShares + SHARES_OFFSET;
        uint256 virtualTokenBalance = _tokenBalance() + BALANCE_OFFSET;
        return (virtualTokenBalance * amountShares) / virtualTotalShares;
    }

    function sharesToUnderlying(uint256 amountShares) external view returns (uint256) {
        return sharesToUnderlyingView(amountShares);
    }

    function underlyingToSharesView(uint256 amountUnderlying) public view returns (uint256) {
        uint256 virtualTotalShares = totalShares + SHARES_OFFSET;
        uint256 virtualTokenBalance = _tokenBalance() + BALANCE_OFFSET;
        return (amountUnderlying * virtualTotalShares) / virtualTokenBalance;
    }

    function underlyingToShares(uint256 amountUnderlying) external view returns (uint256) {
        return underlyingToSharesView(amountUnderlying);
    }

    function shares(address user) public view returns (uint256) {
        return strategyManager.stakerDepositShares(user, IStrategy(address(this)));
    }

    function userUnderlyingView(address user) public view returns (uint256) {
        return sharesToUnderlyingView(shares(user));
    }

    function userUnderlying(address user) external view returns (uint256) {
        return userUnderlyingView(user);
    }

    function explanation() external pure returns (string memory) {
        return "Base Strategy implementation to inherit from for more complex implementations";
    }

    function version() external pure returns (string memory) {
        return "1.3.0";
    }

    function _tokenBalance() internal view returns (uint256) {
        return underlyingToken.balanceOf(address(this));
    }

    function _emitExchangeRate(uint256 virtualTokenBalance, uint256 virtualTotalShares) internal {
        emit ExchangeRateEmitted((1e18 * virtualTokenBalance) / virtualTotalShares);
    }
}

/// @notice OwnableUpgradeable's owner and transfers, as mainnet's managers inherit them (OpenZeppelin); the owner is
///         the first storage slot of each manager (Initializable keeps its state in a namespaced slot).
abstract contract OwnableManager {
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    address public owner;

    function transferOwnership(address newOwner) public {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        require(newOwner != address(0), "Ownable: new owner is the zero address");
        _transferOwnership(newOwner);
    }

    function renounceOwnership() public {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        _transferOwnership(address(0));
    }

    function _transferOwnership(address newOwner) internal {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}

/// @notice Mainnet's IPauserRegistry (Layr-Labs/eigenlayer-contracts src/contracts/interfaces/IPauserRegistry.sol).
interface IPauserRegistry {
    error OnlyUnpauser();
    error InputAddressZero();

    event PauserStatusChanged(address pauser, bool canPause);
    event UnpauserChanged(address previousUnpauser, address newUnpauser);

    function isPauser(address pauser) external view returns (bool);
    function unpauser() external view returns (address);
}

/// @title PauserRegistry
/// @notice Who may pause EigenLayer's core contracts (any pauser) and unpause them (the one unpauser, who also
///         names pausers and its successor), as mainnet's src/contracts/permissions/PauserRegistry.sol: the
///         constructor's pausers and unpauser are set through the same internal setters, so each one logs
///         PauserStatusChanged / UnpauserChanged (how the control reads find them: isPauser cannot be enumerated).
contract PauserRegistry is IPauserRegistry {
    mapping(address => bool) public isPauser;
    address public unpauser;

    constructor(address[] memory _pausers, address _unpauser) {
        for (uint256 i = 0; i < _pausers.length; ++i) {
            _setIsPauser(_pausers[i], true);
        }
        _setUnpauser(_unpauser);
    }

    modifier onlyUnpauser() {
        if (msg.sender != unpauser) revert OnlyUnpauser();
        _;
    }

    function setIsPauser(address newPauser, bool canPause) external onlyUnpauser {
        _setIsPauser(newPauser, canPause);
    }

    function setUnpauser(address newUnpauser) external onlyUnpauser {
        _setUnpauser(newUnpauser);
    }

    function _setIsPauser(address pauser, bool canPause) internal {
        if (pauser == address(0)) revert InputAddressZero();
        isPauser[pauser] = canPause;
        emit PauserStatusChanged(pauser, canPause);
    }

    function _setUnpauser(address newUnpauser) internal {
        if (newUnpauser == address(0)) revert InputAddressZero();
        emit UnpauserChanged(unpauser, newUnpauser);
        unpauser = newUnpauser;
    }
}

/// @title Pausable
/// @notice Mainnet's src/contracts/permissions/Pausable.sol semantics: a 256-bit map of pause flags, each bit one
///         function group (the managers' PAUSED_* indices); `pause` may only set bits and `unpause` only clear
///         them; pausers come from the immutable `pauserRegistry`; errors and events as IPausable's.
/// @dev Mainnet keeps `_paused` in ordinary storage after OwnableUpgradeable's; here it is in a namespaced slot, so
///      the managers' storage stays as it was (nothing shifts under their proxies).
abstract contract Pausable {
    error OnlyPauser();
    error OnlyUnpauser();
    error CurrentlyPaused();
    error InvalidNewPausedStatus();

    event Paused(address indexed account, uint256 newPausedStatus);
    event Unpaused(address indexed account, uint256 newPausedStatus);

    IPauserRegistry public immutable pauserRegistry;

    /// @dev keccak256("defiscope.eigenlayer.Pausable.paused") - 1
    bytes32 private constant PAUSED_SLOT = bytes32(uint256(keccak256("defiscope.eigenlayer.Pausable.paused")) - 1);

    constructor(IPauserRegistry _pauserRegistry) {
        pauserRegistry = _pauserRegistry;
    }

    modifier onlyPauser() {
        if (!pauserRegistry.isPauser(msg.sender)) revert OnlyPauser();
        _;
    }

    modifier onlyUnpauser() {
        if (msg.sender != pauserRegistry.unpauser()) revert OnlyUnpauser();
        _;
    }

    modifier onlyWhenNotPaused(uint8 index) {
        if (paused(index)) revert CurrentlyPaused();
        _;
    }

    function _initializePauser(uint256 initPausedStatus) internal {
        _setPaused(initPausedStatus);
        emit Paused(msg.sender, initPausedStatus);
    }

    function pause(uint256 newPausedStatus) external onlyPauser {
        uint256 current = paused();
        if (current & newPausedStatus != current) revert InvalidNewPausedStatus();
        _setPaused(newPausedStatus);
        emit Paused(msg.sender, newPausedStatus);
    }

    function pauseAll() external onlyPauser {
        _setPaused(type(uint256).max);
        emit Paused(msg.sender, type(uint256).max);
    }

    function unpause(uint256 newPausedStatus) external onlyUnpauser {
        uint256 current = paused();
        if (~current & ~newPausedStatus != ~current) revert InvalidNewPausedStatus();
        _setPaused(newPausedStatus);
        emit Unpaused(msg.sender, newPausedStatus);
    }

    function paused() public view returns (uint256 status) {
        bytes32 slot = PAUSED_SLOT;
        assembly {
            status := sload(slot)
        }
    }

    function paused(uint8 index) public view returns (bool) {
        uint256 mask = 1 << index;
        return paused() & mask == mask;
    }

    function _setPaused(uint256 status) private {
        bytes32 slot = PAUSED_SLOT;
        assembly {
            sstore(slot, status)
        }
    }
}

/// @title StrategyManager
/// @notice Deposits into whitelisted strategies and each staker's deposit shares. The whitelist changes only
///         through the whitelister, each change an event: that is how strategies are found.
contract StrategyManager is Initializable, OwnableManager, Pausable {
    /// @dev Mainnet's index: deposits (depositIntoStrategy).
    uint8 internal constant PAUSED_DEPOSITS = 0;

    using SafeERC20 for IERC20;

    event Deposit(address staker, IStrategy strategy, uint256 shares);
    event StrategyWhitelisterChanged(address previousAddress, address newAddress);
    event StrategyAddedToDepositWhitelist(IStrategy strategy);
    event StrategyRemovedFromDepositWhitelist(IStrategy strategy);

    address public strategyWhitelister;
    DelegationManager public immutable delegation;
    mapping(address => mapping(IStrategy => uint256)) public stakerDepositShares;
    mapping(address => IStrategy[]) public stakerStrategyList;
    mapping(IStrategy => bool) public strategyIsWhitelistedForDeposit;
    mapping(address => uint256) public nonces;

    /// @param _delegation the DelegationManager (deployed right after; its address is known in advance).
    constructor(DelegationManager _delegation, IPauserRegistry _pauserRegistry) Pausable(_pauserRegistry) {
        delegation = _delegation;
        _disableInitializers();
    }

    function initialize(address initialOwner, address initialStrategyWhitelister, uint256 initialPausedStatus)
        external
        initializer
    {
        _transferOwnership(initialOwner);
        strategyWhitelister = initialStrategyWhitelister;
        _initializePauser(initialPausedStatus);
    }

    modifier onlyDelegationManager() {
        require(msg.sender == address(delegation), "OnlyDelegationManager");
        _;
    }

    modifier onlyStrategyWhitelister() {
        require(msg.sender == strategyWhitelister, "OnlyStrategyWhitelister");
        _;
    }

    function setStrategyWhitelister(address newStrategyWhitelister) external {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        emit StrategyWhitelisterChanged(strategyWhitelister, newStrategyWhitelister);
        strategyWhitelister = newStrategyWhitelister;
    }

    function addStrategiesToDepositWhitelist(IStrategy[] calldata strategiesToWhitelist)
        external
        onlyStrategyWhitelister
    {
        for (uint256 i = 0; i < strategiesToWhitelist.length; ++i) {
            if (!strategyIsWhitelistedForDeposit[strategiesToWhitelist[i]]) {
                strategyIsWhitelistedForDeposit[strategiesToWhitelist[i]] = true;
                emit StrategyAddedToDepositWhitelist(strategiesToWhitelist[i]);
            }
        }
    }

    function removeStrategiesFromDepositWhitelist(IStrategy[] calldata strategiesToRemoveFromWhitelist)
        external
        onlyStrategyWhitelister
    {
        for (uint256 i = 0; i < strategiesToRemoveFromWhitelist.length; ++i) {
            if (strategyIsWhitelistedForDeposit[strategiesToRemoveFromWhitelist[i]]) {
                strategyIsWhitelistedForDeposit[strategiesToRemoveFromWhitelist[i]] = false;
                emit StrategyRemovedFromDepositWhitelist(strategiesToRemoveFromWhitelist[i]);
            }
        }
    }

    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount)
        external
        onlyWhenNotPaused(PAUSED_DEPOSITS)
        returns (uint256 depositShares)
    {
        require(strategyIsWhitelistedForDeposit[strategy], "StrategyNotWhitelistedForDeposit");
        token.safeTransferFrom(msg.sender, address(strategy), amount);
        depositShares = strategy.deposit(token, amount);
        (uint256 prevDepositShares, uint256 addedShares) = _addShares(msg.sender, strategy, depositShares);
        delegation.increaseDelegatedShares(msg.sender, strategy, prevDepositShares, addedShares);
    }

    function stakerStrategyListLength(address staker) external view returns (uint256) {
        return stakerStrategyList[staker].length;
    }

    function getStakerStrategyList(address staker) external view returns (IStrategy[] memory) {
        return stakerStrategyList[staker];
    }

    function getDeposits(address staker) external view returns (IStrategy[] memory, uint256[] memory) {
        IStrategy[] memory strategies = stakerStrategyList[staker];
        uint256[] memory amounts = new uint256[](strategies.length);
        for (uint256 i = 0; i < strategies.length; ++i) {
            amounts[i] = stakerDepositShares[staker][strategies[i]];
        }
        return (strategies, amounts);
    }

    function removeDepositShares(address staker, IStrategy strategy, uint256 depositSharesToRemove)
        external
        onlyDelegationManager
        returns (uint256)
    {
        require(depositSharesToRemove != 0, "SharesAmountZero");
        uint256 userDepositShares = stakerDepositShares[staker][strategy];
        require(depositSharesToRemove <= userDepositShares, "SharesAmountTooHigh");
        userDepositShares -= depositSharesToRemove;
        stakerDepositShares[staker][strategy] = userDepositShares;
        if (userDepositShares == 0) _removeStrategyFromStakerStrategyList(staker, strategy);
        return userDepositShares;
    }

    function addShares(address staker, IStrategy strategy, uint256 shares)
        external
        onlyDelegationManager
        returns (uint256, uint256)
    {
        return _addShares(staker, strategy, shares);
    }

    function withdrawSharesAsTokens(address staker, IStrategy strategy, IERC20 token, uint256 shares)
        external
        onlyDelegationManager
    {
        strategy.withdraw(staker, token, shares);
    }

    function _addShares(address staker, IStrategy strategy, uint256 shares) internal returns (uint256, uint256) {
        require(staker != address(0), "StakerAddressZero");
        require(shares != 0, "SharesAmountZero");
        uint256 prevDepositShares = stakerDepositShares[staker][strategy];
        if (prevDepositShares == 0) stakerStrategyList[staker].push(strategy);
        stakerDepositShares[staker][strategy] = prevDepositShares + shares;
        emit Deposit(staker, strategy, shares);
        return (prevDepositShares, shares);
    }

    function _removeStrategyFromStakerStrategyList(address staker, IStrategy strategy) internal {
        IStrategy[] storage list = stakerStrategyList[staker];
        for (uint256 j = 0; j < list.length; ++j) {
            if (list[j] == strategy) {
                list[j] = list[list.length - 1];
                list.pop();
                return;
            }
        }
    }
}

/// @title EigenPodManager
/// @notice Natively restaked ETH as pod owners' deposit shares (1 share = 1 wei). There is no enumeration of
///         pods: they are found from PodDeployed logs. As on mainnet, createPod deploys the owner's EigenPod at a
///         CREATE2 address and only that pod may call recordBeaconChainETHBalanceUpdate (onlyEigenPod); balance
///         decreases (beacon-chain slashing) are not replicated and revert.
contract EigenPodManager is Initializable, OwnableManager, Pausable {
    /// @dev Mainnet's indices: new pods (createPod); pods' withdrawal-credential proofs (the devnet hook's stand-in).
    uint8 internal constant PAUSED_NEW_EIGENPODS = 0;
    uint8 internal constant PAUSED_EIGENPODS_VERIFY_CREDENTIALS = 2;

    IStrategy public constant beaconChainETHStrategy = IStrategy(0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0);
    int256 internal constant GWEI_TO_WEI = 1e9;

    event PodDeployed(address indexed eigenPod, address indexed podOwner);
    event PodSharesUpdated(address indexed podOwner, int256 sharesDelta);
    event NewTotalShares(address indexed podOwner, int256 newTotalShares);

    DelegationManager public immutable delegationManager;
    mapping(address => address) public ownerToPod;
    uint256 public numPods;
    mapping(address => int256) public podOwnerDepositShares;

    /// @param _delegationManager the DelegationManager (deployed right after; its address is known in advance).
    constructor(DelegationManager _delegationManager, IPauserRegistry _pauserRegistry) Pausable(_pauserRegistry) {
        delegationManager = _delegationManager;
        _disableInitializers();
    }

    function initialize(address initialOwner, uint256 initialPausedStatus) external initializer {
        _transferOwnership(initialOwner);
        _initializePauser(initialPausedStatus);
    }

    function createPod() external onlyWhenNotPaused(PAUSED_NEW_EIGENPODS) returns (address pod) {
        require(ownerToPod[msg.sender] == address(0), "EigenPodAlreadyExists");
        ++numPods;
        pod = address(new EigenPod{salt: bytes32(uint256(uint160(msg.sender)))}(this, msg.sender));
        ownerToPod[msg.sender] = pod;
        emit PodDeployed(pod, msg.sender);
    }

    /// @notice The pod's address, deployed or not: its CREATE2 address (mainnet's is a BeaconProxy's).
    function getPod(address podOwner) public view returns (address) {
        address pod = ownerToPod[podOwner];
        if (pod != address(0)) return pod;
        bytes32 initCode = keccak256(abi.encodePacked(type(EigenPod).creationCode, abi.encode(this, podOwner)));
        bytes32 salt = bytes32(uint256(uint160(podOwner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, initCode)))));
    }

    function hasPod(address podOwner) external view returns (bool) {
        return ownerToPod[podOwner] != address(0);
    }

    function stakerDepositShares(address user, IStrategy strategy) external view returns (uint256) {
        require(strategy == beaconChainETHStrategy, "InvalidStrategy");
        int256 depositShares = podOwnerDepositShares[user];
        return depositShares < 0 ? 0 : uint256(depositShares);
    }

    function recordBeaconChainETHBalanceUpdate(address podOwner, uint256, int256 balanceDeltaWei) external {
        require(msg.sender == ownerToPod[podOwner], "OnlyEigenPod");
        require(balanceDeltaWei % GWEI_TO_WEI == 0, "SharesNotMultipleOfGwei");
        int256 current = podOwnerDepositShares[podOwner];
        require(current >= 0, "LegacyWithdrawalsNotCompleted");
        require(balanceDeltaWei >= 0, "BeaconChainSlashingNotOnDevnet");
        if (balanceDeltaWei == 0) return;
        int256 updated = current + balanceDeltaWei;
        podOwnerDepositShares[podOwner] = updated;
        emit PodSharesUpdated(podOwner, balanceDeltaWei);
        emit NewTotalShares(podOwner, updated);
        delegationManager.increaseDelegatedShares(
            podOwner, beaconChainETHStrategy, uint256(current), uint256(balanceDeltaWei)
        );
    }
}

/// @title EigenPod
/// @notice A pod owner's pod: the only caller the EigenPodManager takes a restaked balance update from. Mainnet's
///         pod proves validators' withdrawal credentials and checkpoints against beacon-chain state roots; with
///         no beacon chain here, its owner reports newly verified validators through the devnet hook
///         `recordVerifiedValidators`, which the pod forwards as mainnet's proofs would.
contract EigenPod {
    EigenPodManager public immutable eigenPodManager;
    address public immutable podOwner;
    /// @dev What the pod has reported so far (mainnet: the sum of its validators' restaked balances).
    uint256 internal restakedBalanceWei;

    constructor(EigenPodManager _eigenPodManager, address _podOwner) {
        eigenPodManager = _eigenPodManager;
        podOwner = _podOwner;
    }

    /// @notice Devnet-only hook: validators worth `balanceWei` proven restaked (mainnet: verifyWithdrawalCredentials).
    function recordVerifiedValidators(uint256 balanceWei) external {
        require(msg.sender == podOwner, "OnlyEigenPodOwner");
        // Mainnet's verifyWithdrawalCredentials checks its EigenPodManager's PAUSED_EIGENPODS_VERIFY_CREDENTIALS (2).
        if (eigenPodManager.paused(2)) {
            revert Pausable.CurrentlyPaused();
        }
        uint256 previous = restakedBalanceWei;
        restakedBalanceWei = previous + balanceWei;
        eigenPodManager.recordBeaconChainETHBalanceUpdate(podOwner, previous, int256(balanceWei));
    }
}

/// @title DelegationManager
/// @notice Operators, delegation, operator shares, and the withdrawal queue: shares leave the staker and the
///         operator when queued; the tokens leave the strategy only on completion, strictly more than
///         minWithdrawalDelayBlocks later (as mainnet's slashing release).
contract DelegationManager is Initializable, OwnableManager, Pausable {
    /// @dev Mainnet's indices: new delegations (registerAsOperator, delegateTo), queueing and completing withdrawals.
    uint8 internal constant PAUSED_NEW_DELEGATION = 0;
    uint8 internal constant PAUSED_ENTER_WITHDRAWAL_QUEUE = 1;
    uint8 internal constant PAUSED_EXIT_WITHDRAWAL_QUEUE = 2;

    struct SignatureWithExpiry {
        bytes signature;
        uint256 expiry;
    }

    struct QueuedWithdrawalParams {
        IStrategy[] strategies;
        uint256[] depositShares;
        address __deprecated_withdrawer;
    }

    struct Withdrawal {
        address staker;
        address delegatedTo;
        address withdrawer;
        uint256 nonce;
        uint32 startBlock;
        IStrategy[] strategies;
        uint256[] scaledShares;
    }

    event OperatorRegistered(address indexed operator, address delegationApprover);
    event OperatorMetadataURIUpdated(address indexed operator, string metadataURI);
    event StakerDelegated(address indexed staker, address indexed operator);
    event OperatorSharesIncreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event OperatorSharesDecreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event SlashingWithdrawalQueued(bytes32 withdrawalRoot, Withdrawal withdrawal, uint256[] sharesToWithdraw);
    event SlashingWithdrawalCompleted(bytes32 withdrawalRoot);

    IStrategy public constant beaconChainETHStrategy = IStrategy(0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0);

    StrategyManager public immutable strategyManager;
    EigenPodManager public immutable eigenPodManager;
    uint32 public minWithdrawalDelayBlocks;
    mapping(address => mapping(IStrategy => uint256)) public operatorShares;
    mapping(address => address) public delegatedTo;
    mapping(address => address) public delegationApprover;
    mapping(bytes32 => bool) public pendingWithdrawals;
    mapping(address => uint256) public cumulativeWithdrawalsQueued;

    /// @dev Mainnet's MIN_WITHDRAWAL_DELAY_BLOCKS is immutable; here `initialize` copies it to storage, where the
    ///      devnet hook below may shorten it.
    uint32 internal immutable initialMinWithdrawalDelayBlocks;

    constructor(
        StrategyManager _strategyManager,
        EigenPodManager _eigenPodManager,
        IPauserRegistry _pauserRegistry,
        uint32 _minWithdrawalDelayBlocks
    ) Pausable(_pauserRegistry) {
        strategyManager = _strategyManager;
        eigenPodManager = _eigenPodManager;
        initialMinWithdrawalDelayBlocks = _minWithdrawalDelayBlocks;
        _disableInitializers();
    }

    function initialize(address initialOwner, uint256 initialPausedStatus) external initializer {
        _transferOwnership(initialOwner);
        _initializePauser(initialPausedStatus);
        minWithdrawalDelayBlocks = initialMinWithdrawalDelayBlocks;
    }

    /// @notice Devnet-only hook (mainnet's delay is immutable): lets a test wait fewer than 100,800 blocks.
    function setMinWithdrawalDelayBlocks(uint32 newMinWithdrawalDelayBlocks) external {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        minWithdrawalDelayBlocks = newMinWithdrawalDelayBlocks;
    }

    modifier onlyStrategyManagerOrEigenPodManager() {
        require(
            msg.sender == address(strategyManager) || msg.sender == address(eigenPodManager),
            "OnlyStrategyManagerOrEigenPodManager"
        );
        _;
    }

    /// @notice `allocationDelay` goes to the AllocationManager on mainnet; there is none here.
    function registerAsOperator(address initDelegationApprover, uint32, string calldata metadataURI)
        external
        onlyWhenNotPaused(PAUSED_NEW_DELEGATION)
    {
        require(!isDelegated(msg.sender), "ActivelyDelegated");
        delegationApprover[msg.sender] = initDelegationApprover;
        emit OperatorRegistered(msg.sender, initDelegationApprover);
        _delegate(msg.sender, msg.sender);
        emit OperatorMetadataURIUpdated(msg.sender, metadataURI);
    }

    /// @notice Operators with a delegation approver need its signature on mainnet; none is checked here, so such
    ///         operators refuse delegation.
    function delegateTo(address operator, SignatureWithExpiry memory, bytes32)
        external
        onlyWhenNotPaused(PAUSED_NEW_DELEGATION)
    {
        require(!isDelegated(msg.sender), "ActivelyDelegated");
        require(isOperator(operator), "OperatorNotRegistered");
        require(delegationApprover[operator] == address(0), "InvalidSignature");
        _delegate(msg.sender, operator);
    }

    function isOperator(address operator) public view returns (bool) {
        return operator != address(0) && delegatedTo[operator] == operator;
    }

    function isDelegated(address staker) public view returns (bool) {
        return delegatedTo[staker] != address(0);
    }

    function getOperatorShares(address operator, IStrategy[] memory strategies)
        public
        view
        returns (uint256[] memory amounts)
    {
        amounts = new uint256[](strategies.length);
        for (uint256 i = 0; i < strategies.length; ++i) {
            amounts[i] = operatorShares[operator][strategies[i]];
        }
    }

    function getOperatorsShares(address[] memory operators, IStrategy[] memory strategies)
        external
        view
        returns (uint256[][] memory amounts)
    {
        amounts = new uint256[][](operators.length);
        for (uint256 i = 0; i < operators.length; ++i) {
            amounts[i] = getOperatorShares(operators[i], strategies);
        }
    }

    function increaseDelegatedShares(address staker, IStrategy strategy, uint256, uint256 addedShares)
        external
        onlyStrategyManagerOrEigenPodManager
    {
        if (isDelegated(staker)) _increaseOperatorShares(delegatedTo[staker], staker, strategy, addedShares);
    }

    function calculateWithdrawalRoot(Withdrawal memory withdrawal) public pure returns (bytes32) {
        return keccak256(abi.encode(withdrawal));
    }

    function queueWithdrawals(QueuedWithdrawalParams[] calldata params)
        external
        onlyWhenNotPaused(PAUSED_ENTER_WITHDRAWAL_QUEUE)
        returns (bytes32[] memory roots)
    {
        roots = new bytes32[](params.length);
        address operator = delegatedTo[msg.sender];
        for (uint256 i = 0; i < params.length; ++i) {
            QueuedWithdrawalParams calldata p = params[i];
            require(p.strategies.length == p.depositShares.length, "InputArrayLengthMismatch");
            require(p.strategies.length != 0, "InputArrayLengthZero");
            for (uint256 j = 0; j < p.strategies.length; ++j) {
                require(p.strategies[j] != beaconChainETHStrategy, "NativeWithdrawalsNotOnDevnet");
                if (operator != address(0)) {
                    _decreaseOperatorShares(operator, msg.sender, p.strategies[j], p.depositShares[j]);
                }
                strategyManager.removeDepositShares(msg.sender, p.strategies[j], p.depositShares[j]);
            }
            // No slashing here: scaled shares equal deposit shares, and so do the shares to withdraw.
            Withdrawal memory withdrawal = Withdrawal({
                staker: msg.sender,
                delegatedTo: operator,
                withdrawer: msg.sender,
                nonce: cumulativeWithdrawalsQueued[msg.sender]++,
                startBlock: uint32(block.number),
                strategies: p.strategies,
                scaledShares: p.depositShares
            });
            bytes32 root = calculateWithdrawalRoot(withdrawal);
            pendingWithdrawals[root] = true;
            roots[i] = root;
            emit SlashingWithdrawalQueued(root, withdrawal, p.depositShares);
        }
    }

    function completeQueuedWithdrawal(Withdrawal calldata withdrawal, IERC20[] calldata tokens, bool receiveAsTokens)
        external
        onlyWhenNotPaused(PAUSED_EXIT_WITHDRAWAL_QUEUE)
    {
        bytes32 root = calculateWithdrawalRoot(withdrawal);
        require(pendingWithdrawals[root], "WithdrawalNotQueued");
        require(msg.sender == withdrawal.withdrawer, "WithdrawerNotCaller");
        require(uint32(block.number) > withdrawal.startBlock + minWithdrawalDelayBlocks, "WithdrawalDelayNotElapsed");
        require(tokens.length == withdrawal.strategies.length, "InputArrayLengthMismatch");
        delete pendingWithdrawals[root];
        for (uint256 i = 0; i < withdrawal.strategies.length; ++i) {
            IStrategy strategy = withdrawal.strategies[i];
            uint256 shares = withdrawal.scaledShares[i];
            if (receiveAsTokens) {
                strategyManager.withdrawSharesAsTokens(withdrawal.staker, strategy, tokens[i], shares);
            } else {
                strategyManager.addShares(withdrawal.staker, strategy, shares);
                if (isDelegated(withdrawal.staker)) {
                    _increaseOperatorShares(delegatedTo[withdrawal.staker], withdrawal.staker, strategy, shares);
                }
            }
        }
        emit SlashingWithdrawalCompleted(root);
    }

    function _delegate(address staker, address operator) internal {
        delegatedTo[staker] = operator;
        emit StakerDelegated(staker, operator);
        (IStrategy[] memory strategies, uint256[] memory amounts) = strategyManager.getDeposits(staker);
        for (uint256 i = 0; i < strategies.length; ++i) {
            _increaseOperatorShares(operator, staker, strategies[i], amounts[i]);
        }
        int256 podShares = eigenPodManager.podOwnerDepositShares(staker);
        if (podShares > 0) _increaseOperatorShares(operator, staker, beaconChainETHStrategy, uint256(podShares));
    }

    function _increaseOperatorShares(address operator, address staker, IStrategy strategy, uint256 shares) internal {
        operatorShares[operator][strategy] += shares;
        emit OperatorSharesIncreased(operator, staker, strategy, shares);
    }

    function _decreaseOperatorShares(address operator, address staker, IStrategy strategy, uint256 shares) internal {
        operatorShares[operator][strategy] -= shares;
        emit OperatorSharesDecreased(operator, staker, strategy, shares);
    }
}

/// @title DelegationManagerM2Logs
/// @notice Not a stand-in: code that tests put at the DelegationManager's address for one transaction (then restore)
///         to replay history its mainnet proxy has, logs of the M2 implementation it was upgraded from.
contract DelegationManagerM2Logs {
    struct OperatorDetails {
        address __deprecated_earningsReceiver;
        address delegationApprover;
        uint32 stakerOptOutWindowBlocks;
    }

    event OperatorRegistered(address indexed operator, OperatorDetails operatorDetails);

    function operatorRegistered(address operator, OperatorDetails calldata operatorDetails) external {
        emit OperatorRegistered(operator, operatorDetails);
    }
}
