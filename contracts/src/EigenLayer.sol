// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

// EigenLayer M2 (mainnet, 2024) reduced to what defiscope reads and what its devnet scenarios do, with the real
// function names, argument shapes and views. No proxies, pausers or signatures: the deployer is the owner.

interface IStrategy {
    function deposit(IERC20 token, uint256 amount) external returns (uint256);
    function withdraw(address recipient, IERC20 token, uint256 amountShares) external;
    function underlyingToken() external view returns (IERC20);
}

/// @title StrategyBase
/// @notice One underlying token; shares priced with EigenLayer's virtual offsets (1e3 shares, 1e3 wei).
contract StrategyBase is IStrategy {
    using SafeERC20 for IERC20;

    uint256 internal constant SHARES_OFFSET = 1e3;
    uint256 internal constant BALANCE_OFFSET = 1e3;
    uint256 internal constant MAX_TOTAL_SHARES = 1e38 - 1;

    event ExchangeRateEmitted(uint256 rate);
    event StrategyTokenSet(IERC20 token, uint8 decimals);

    StrategyManager public immutable strategyManager;
    IERC20 public immutable underlyingToken;
    uint256 public totalShares;

    constructor(StrategyManager _strategyManager, IERC20 _underlyingToken) {
        strategyManager = _strategyManager;
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
        require(amountShares <= priorTotalShares, "AmountSharesMustBeLessThanOrEqualToTotalShares");
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
        return strategyManager.stakerStrategyShares(user, IStrategy(address(this)));
    }

    function userUnderlyingView(address user) external view returns (uint256) {
        return sharesToUnderlyingView(shares(user));
    }

    function explanation() external pure returns (string memory) {
        return "Base Strategy implementation to inherit from for more complex implementations";
    }

    function _tokenBalance() internal view returns (uint256) {
        return underlyingToken.balanceOf(address(this));
    }

    function _emitExchangeRate(uint256 virtualTokenBalance, uint256 virtualTotalShares) internal {
        emit ExchangeRateEmitted((1e18 * virtualTokenBalance) / virtualTotalShares);
    }
}

/// @title StrategyManager
/// @notice Deposits into whitelisted strategies and each staker's shares (stakerStrategyShares, stakerStrategyList).
contract StrategyManager {
    using SafeERC20 for IERC20;

    event Deposit(address staker, IERC20 token, IStrategy strategy, uint256 shares);
    event StrategyAddedToDepositWhitelist(IStrategy strategy);

    address public owner;
    DelegationManager public delegation;
    mapping(address => mapping(IStrategy => uint256)) public stakerStrategyShares;
    mapping(address => IStrategy[]) public stakerStrategyList;
    mapping(IStrategy => bool) public strategyIsWhitelistedForDeposit;
    mapping(address => uint256) public nonces;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyDelegationManager() {
        require(msg.sender == address(delegation), "OnlyDelegationManager");
        _;
    }

    function initialize(DelegationManager _delegation) external {
        require(msg.sender == owner && address(delegation) == address(0), "AlreadyInitialized");
        delegation = _delegation;
    }

    function addStrategiesToDepositWhitelist(IStrategy[] calldata strategies, bool[] calldata) external {
        require(msg.sender == owner, "OnlyStrategyWhitelister");
        for (uint256 i = 0; i < strategies.length; ++i) {
            if (!strategyIsWhitelistedForDeposit[strategies[i]]) {
                strategyIsWhitelistedForDeposit[strategies[i]] = true;
                emit StrategyAddedToDepositWhitelist(strategies[i]);
            }
        }
    }

    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount) external returns (uint256 shares) {
        require(strategyIsWhitelistedForDeposit[strategy], "StrategyNotWhitelisted");
        token.safeTransferFrom(msg.sender, address(strategy), amount);
        shares = strategy.deposit(token, amount);
        _addShares(msg.sender, token, strategy, shares);
        delegation.increaseDelegatedShares(msg.sender, strategy, shares);
    }

    function stakerStrategyListLength(address staker) external view returns (uint256) {
        return stakerStrategyList[staker].length;
    }

    function getDeposits(address staker) external view returns (IStrategy[] memory, uint256[] memory) {
        IStrategy[] memory strategies = stakerStrategyList[staker];
        uint256[] memory amounts = new uint256[](strategies.length);
        for (uint256 i = 0; i < strategies.length; ++i) {
            amounts[i] = stakerStrategyShares[staker][strategies[i]];
        }
        return (strategies, amounts);
    }

    function removeShares(address staker, IStrategy strategy, uint256 shareAmount) external onlyDelegationManager {
        require(shareAmount != 0, "SharesAmountZero");
        uint256 userShares = stakerStrategyShares[staker][strategy];
        require(shareAmount <= userShares, "SharesAmountTooHigh");
        userShares -= shareAmount;
        stakerStrategyShares[staker][strategy] = userShares;
        if (userShares == 0) _removeStrategyFromStakerStrategyList(staker, strategy);
    }

    function addShares(address staker, IERC20 token, IStrategy strategy, uint256 shares)
        external
        onlyDelegationManager
    {
        _addShares(staker, token, strategy, shares);
    }

    function withdrawSharesAsTokens(address recipient, IStrategy strategy, uint256 shares, IERC20 token)
        external
        onlyDelegationManager
    {
        strategy.withdraw(recipient, token, shares);
    }

    function _addShares(address staker, IERC20 token, IStrategy strategy, uint256 shares) internal {
        require(staker != address(0), "StakerAddressZero");
        require(shares != 0, "SharesAmountZero");
        if (stakerStrategyShares[staker][strategy] == 0) stakerStrategyList[staker].push(strategy);
        stakerStrategyShares[staker][strategy] += shares;
        emit Deposit(staker, token, strategy, shares);
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
/// @notice Natively restaked ETH as pod-owner shares. On the devnet there are no beacon-chain proofs: the owner
///         credits (or debits) a pod owner's validators with recordBeaconChainETHBalanceUpdate, as a pod would.
contract EigenPodManager {
    IStrategy public constant beaconChainETHStrategy = IStrategy(0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0);

    event PodDeployed(address indexed eigenPod, address indexed podOwner);
    event PodSharesUpdated(address indexed podOwner, int256 sharesDelta);

    address public owner;
    DelegationManager public delegationManager;
    mapping(address => int256) public podOwnerShares;
    mapping(address => address) public ownerToPod;
    uint256 public numPods;
    // Devnet-only enumeration (mainnet pods are found from PodDeployed logs).
    address[] public podOwners;

    constructor() {
        owner = msg.sender;
    }

    function initialize(DelegationManager _delegationManager) external {
        require(msg.sender == owner && address(delegationManager) == address(0), "AlreadyInitialized");
        delegationManager = _delegationManager;
    }

    function createPod() public returns (address pod) {
        require(ownerToPod[msg.sender] == address(0), "EigenPodAlreadyExists");
        // A deterministic stand-in address for the pod (no beacon proxy on the devnet).
        pod = address(uint160(uint256(keccak256(abi.encode(address(this), msg.sender)))));
        ownerToPod[msg.sender] = pod;
        podOwners.push(msg.sender);
        numPods += 1;
        emit PodDeployed(pod, msg.sender);
    }

    function getPod(address podOwner) external view returns (address) {
        return ownerToPod[podOwner];
    }

    function hasPod(address podOwner) external view returns (bool) {
        return ownerToPod[podOwner] != address(0);
    }

    function recordBeaconChainETHBalanceUpdate(address podOwner, int256 sharesDelta) external {
        require(msg.sender == owner, "OnlyEigenPod");
        require(ownerToPod[podOwner] != address(0), "PodDoesNotExist");
        require(sharesDelta % 1 gwei == 0, "SharesNotMultipleOfGwei");
        int256 updated = podOwnerShares[podOwner] + sharesDelta;
        require(updated >= 0, "NegativeShares");
        podOwnerShares[podOwner] = updated;
        emit PodSharesUpdated(podOwner, sharesDelta);
        if (sharesDelta > 0) {
            delegationManager.increaseDelegatedShares(podOwner, beaconChainETHStrategy, uint256(sharesDelta));
        } else if (sharesDelta < 0) {
            delegationManager.decreaseDelegatedShares(podOwner, beaconChainETHStrategy, uint256(-sharesDelta));
        }
    }
}

/// @title DelegationManager
/// @notice Operators, delegation and operator shares, and the withdrawal queue with a delay in blocks (M2).
contract DelegationManager {
    struct OperatorDetails {
        address __deprecated_earningsReceiver;
        address delegationApprover;
        uint32 stakerOptOutWindowBlocks;
    }

    struct SignatureWithExpiry {
        bytes signature;
        uint256 expiry;
    }

    struct QueuedWithdrawalParams {
        IStrategy[] strategies;
        uint256[] shares;
        address withdrawer;
    }

    struct Withdrawal {
        address staker;
        address delegatedTo;
        address withdrawer;
        uint256 nonce;
        uint32 startBlock;
        IStrategy[] strategies;
        uint256[] shares;
    }

    event OperatorRegistered(address indexed operator, OperatorDetails operatorDetails);
    event OperatorMetadataURIUpdated(address indexed operator, string metadataURI);
    event StakerDelegated(address indexed staker, address indexed operator);
    event OperatorSharesIncreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event OperatorSharesDecreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event WithdrawalQueued(bytes32 withdrawalRoot, Withdrawal withdrawal);
    event WithdrawalCompleted(bytes32 withdrawalRoot);

    StrategyManager public immutable strategyManager;
    EigenPodManager public immutable eigenPodManager;
    uint256 public minWithdrawalDelayBlocks;
    mapping(address => mapping(IStrategy => uint256)) public operatorShares;
    mapping(address => address) public delegatedTo;
    mapping(address => OperatorDetails) internal _operatorDetails;
    mapping(bytes32 => bool) public pendingWithdrawals;
    mapping(address => uint256) public cumulativeWithdrawalsQueued;

    address public owner;

    event MinWithdrawalDelayBlocksSet(uint256 previousValue, uint256 newValue);

    constructor(StrategyManager _strategyManager, EigenPodManager _eigenPodManager, uint256 _minWithdrawalDelayBlocks) {
        owner = msg.sender;
        strategyManager = _strategyManager;
        eigenPodManager = _eigenPodManager;
        minWithdrawalDelayBlocks = _minWithdrawalDelayBlocks;
    }

    function setMinWithdrawalDelayBlocks(uint256 newMinWithdrawalDelayBlocks) external {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        emit MinWithdrawalDelayBlocksSet(minWithdrawalDelayBlocks, newMinWithdrawalDelayBlocks);
        minWithdrawalDelayBlocks = newMinWithdrawalDelayBlocks;
    }

    modifier onlyStrategyManagerOrEigenPodManager() {
        require(
            msg.sender == address(strategyManager) || msg.sender == address(eigenPodManager),
            "OnlyStrategyManagerOrEigenPodManager"
        );
        _;
    }

    function registerAsOperator(OperatorDetails calldata registeringOperatorDetails, string calldata metadataURI)
        external
    {
        require(delegatedTo[msg.sender] == address(0), "ActivelyDelegated");
        _operatorDetails[msg.sender] = registeringOperatorDetails;
        emit OperatorRegistered(msg.sender, registeringOperatorDetails);
        _delegate(msg.sender, msg.sender);
        emit OperatorMetadataURIUpdated(msg.sender, metadataURI);
    }

    function delegateTo(address operator, SignatureWithExpiry memory, bytes32) external {
        require(delegatedTo[msg.sender] == address(0), "ActivelyDelegated");
        require(isOperator(operator), "OperatorNotRegistered");
        _delegate(msg.sender, operator);
    }

    function isOperator(address operator) public view returns (bool) {
        return operator != address(0) && delegatedTo[operator] == operator;
    }

    function isDelegated(address staker) public view returns (bool) {
        return delegatedTo[staker] != address(0);
    }

    function operatorDetails(address operator) external view returns (OperatorDetails memory) {
        return _operatorDetails[operator];
    }

    function getOperatorShares(address operator, IStrategy[] memory strategies)
        external
        view
        returns (uint256[] memory amounts)
    {
        amounts = new uint256[](strategies.length);
        for (uint256 i = 0; i < strategies.length; ++i) {
            amounts[i] = operatorShares[operator][strategies[i]];
        }
    }

    function increaseDelegatedShares(address staker, IStrategy strategy, uint256 shares)
        external
        onlyStrategyManagerOrEigenPodManager
    {
        if (isDelegated(staker)) _increaseOperatorShares(delegatedTo[staker], staker, strategy, shares);
    }

    function decreaseDelegatedShares(address staker, IStrategy strategy, uint256 shares)
        external
        onlyStrategyManagerOrEigenPodManager
    {
        if (isDelegated(staker)) _decreaseOperatorShares(delegatedTo[staker], staker, strategy, shares);
    }

    function calculateWithdrawalRoot(Withdrawal memory withdrawal) public pure returns (bytes32) {
        return keccak256(abi.encode(withdrawal));
    }

    /// @notice Removes the shares now (from the staker and its operator); the tokens leave the strategy only on
    ///         completion, at least minWithdrawalDelayBlocks later.
    function queueWithdrawals(QueuedWithdrawalParams[] calldata queuedWithdrawalParams)
        external
        returns (bytes32[] memory roots)
    {
        roots = new bytes32[](queuedWithdrawalParams.length);
        address operator = delegatedTo[msg.sender];
        for (uint256 i = 0; i < queuedWithdrawalParams.length; ++i) {
            QueuedWithdrawalParams calldata params = queuedWithdrawalParams[i];
            require(params.strategies.length == params.shares.length, "InputArrayLengthMismatch");
            require(params.withdrawer == msg.sender, "WithdrawerNotStaker");
            for (uint256 j = 0; j < params.strategies.length; ++j) {
                require(params.strategies[j] != eigenPodManager.beaconChainETHStrategy(), "NativeNotOnDevnet");
                if (operator != address(0)) {
                    _decreaseOperatorShares(operator, msg.sender, params.strategies[j], params.shares[j]);
                }
                strategyManager.removeShares(msg.sender, params.strategies[j], params.shares[j]);
            }
            Withdrawal memory withdrawal = Withdrawal({
                staker: msg.sender,
                delegatedTo: operator,
                withdrawer: params.withdrawer,
                nonce: cumulativeWithdrawalsQueued[msg.sender]++,
                startBlock: uint32(block.number),
                strategies: params.strategies,
                shares: params.shares
            });
            bytes32 root = calculateWithdrawalRoot(withdrawal);
            pendingWithdrawals[root] = true;
            roots[i] = root;
            emit WithdrawalQueued(root, withdrawal);
        }
    }

    function completeQueuedWithdrawal(
        Withdrawal calldata withdrawal,
        IERC20[] calldata tokens,
        uint256,
        bool receiveAsTokens
    ) external {
        bytes32 root = calculateWithdrawalRoot(withdrawal);
        require(pendingWithdrawals[root], "WithdrawalNotQueued");
        require(msg.sender == withdrawal.withdrawer, "WithdrawerNotCaller");
        require(withdrawal.startBlock + minWithdrawalDelayBlocks <= block.number, "WithdrawalDelayNotElapsed");
        require(tokens.length == withdrawal.strategies.length, "InputArrayLengthMismatch");
        delete pendingWithdrawals[root];
        for (uint256 i = 0; i < withdrawal.strategies.length; ++i) {
            if (receiveAsTokens) {
                strategyManager.withdrawSharesAsTokens(
                    msg.sender, withdrawal.strategies[i], withdrawal.shares[i], tokens[i]
                );
            } else {
                strategyManager.addShares(msg.sender, tokens[i], withdrawal.strategies[i], withdrawal.shares[i]);
                if (isDelegated(msg.sender)) {
                    _increaseOperatorShares(
                        delegatedTo[msg.sender], msg.sender, withdrawal.strategies[i], withdrawal.shares[i]
                    );
                }
            }
        }
        emit WithdrawalCompleted(root);
    }

    function _delegate(address staker, address operator) internal {
        delegatedTo[staker] = operator;
        emit StakerDelegated(staker, operator);
        (IStrategy[] memory strategies, uint256[] memory amounts) = strategyManager.getDeposits(staker);
        for (uint256 i = 0; i < strategies.length; ++i) {
            _increaseOperatorShares(operator, staker, strategies[i], amounts[i]);
        }
        int256 podShares = eigenPodManager.podOwnerShares(staker);
        if (podShares > 0) {
            _increaseOperatorShares(operator, staker, eigenPodManager.beaconChainETHStrategy(), uint256(podShares));
        }
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
