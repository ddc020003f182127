// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AppStorage} from "./AragonApps.sol";

/// @notice What Lido needs from its withdrawal queue (WithdrawalQueueERC721's finalization entry points).
interface ILidoWithdrawalQueue {
    function prefinalize(uint256[] calldata batches, uint256 maxShareRate)
        external
        view
        returns (uint256 ethToLock, uint256 sharesToBurn);
    function finalize(uint256 lastRequestIdToBeFinalized, uint256 maxShareRate) external payable;
}

/// @title Lido (stETH) for defiscope's devnet
/// @notice ABI-compatible with Lido V2's stETH share accounting: balances are shares times
///         totalPooledEther / totalShares; `submit` mints shares; the accounting oracle's
///         `handleOracleReport` rebases by the consensus-layer balance change and mints the protocol fee
///         (10 %: 5 % node operators, 5 % treasury) as new shares, emitting Lido V2's `TokenRebased`.
///         Its pause powers are mainnet's (lidofinance/core `contracts/0.4.24/Lido.sol`, `StETH.sol`,
///         `utils/Pausable.sol`, `lib/StakeLimitUtils.sol`): `stop()` (PAUSE_ROLE) stops the protocol and pauses
///         staking, `resume()` (RESUME_ROLE) undoes both; `pauseStaking()` (STAKING_PAUSE_ROLE) pauses submits
///         alone, `resumeStaking()` and `setStakingLimit` / `removeStakingLimit` need STAKING_CONTROL_ROLE. Each is
///         checked through the kernel's ACL as aragonOS's `canPerform` does (an unconditional grant: no arguments).
///         A stopped stETH refuses share moves (transfers, `_whenNotStopped` in `_transferShares`) and oracle reports;
///         paused staking refuses submits with "STAKING_PAUSED"; a staking limit caps them ("STAKE_LIMIT").
/// @dev There is no beacon chain on the devnet: deposited ETH stays in this contract and stands for the
///      validators' balances; the oracle reports whatever balance a test wants. Unlike mainnet's initialize (which
///      leaves the pool stopped and staking paused until the DAO resumes it), `initialize` here leaves both running
///      and unlimited, as the mainnet pool has been since its launch vote.
contract Lido is AppStorage {
    string public constant name = "Liquid staked Ether 2.0";
    string public constant symbol = "stETH";
    uint8 public constant decimals = 18;

    address internal constant INITIAL_TOKEN_HOLDER = 0x000000000000000000000000000000000000dEaD;
    uint256 internal constant DEPOSIT_SIZE = 32 ether;
    // StakingRouter's fee precision: 100 * 10**18 is 100 %.
    uint256 internal constant FEE_PRECISION_POINTS = 100 * 10 ** 18;
    uint256 internal constant TOTAL_BASIS_POINTS = 10000;

    // ACL roles: keccak256 of their names, as mainnet's constants.
    bytes32 public constant PAUSE_ROLE = keccak256("PAUSE_ROLE");
    bytes32 public constant RESUME_ROLE = keccak256("RESUME_ROLE");
    bytes32 public constant STAKING_PAUSE_ROLE = keccak256("STAKING_PAUSE_ROLE");
    bytes32 public constant STAKING_CONTROL_ROLE = keccak256("STAKING_CONTROL_ROLE");

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event TransferShares(address indexed from, address indexed to, uint256 sharesValue);
    event SharesBurnt(
        address indexed account, uint256 preRebaseTokenAmount, uint256 postRebaseTokenAmount, uint256 sharesAmount
    );
    event Submitted(address indexed sender, uint256 amount, address referral);
    event Unbuffered(uint256 amount);
    event DepositedValidatorsChanged(uint256 depositedValidators);
    event CLValidatorsUpdated(uint256 indexed reportTimestamp, uint256 preCLValidators, uint256 postCLValidators);
    event ETHDistributed(
        uint256 indexed reportTimestamp,
        uint256 preCLBalance,
        uint256 postCLBalance,
        uint256 withdrawalsWithdrawn,
        uint256 executionLayerRewardsWithdrawn,
        uint256 postBufferedEther
    );
    event TokenRebased(
        uint256 indexed reportTimestamp,
        uint256 timeElapsed,
        uint256 preTotalShares,
        uint256 preTotalEther,
        uint256 postTotalShares,
        uint256 postTotalEther,
        uint256 sharesMintedAsFees
    );
    event Stopped();
    event Resumed();
    event StakingPaused();
    event StakingResumed();
    event StakingLimitSet(uint256 maxStakeLimit, uint256 stakeLimitIncreasePerBlock);
    event StakingLimitRemoved();

    address internal owner;
    address internal accountingOracle;
    address internal withdrawalQueue;
    address internal treasury;
    address internal nodeOperatorsRegistry;

    mapping(address => uint256) private _shares;
    mapping(address => mapping(address => uint256)) private _allowances;
    uint256 private _totalShares;
    uint256 private _bufferedEther;
    uint256 private _depositedValidators;
    uint256 private _beaconValidators;
    uint256 private _beaconBalance;
    // The StakingRouter's fee split, kept here as storage (mainnet reads it from the router): 10 % of rewards,
    // 5 % to node operators and the rest to the treasury.
    uint256 private _totalFee;
    uint256 private _nodeOperatorsFee;
    // Pausable's active flag (false: stopped) and StakeLimitUtils' state; staking is paused when
    // `_stakeBlock` (prevStakeBlockNumber) is 0, unlimited when `_stakeMaxLimit` is 0.
    bool private _active;
    uint32 private _stakeBlock;
    uint96 private _stakePrevLimit;
    uint32 private _stakeGrowthBlocks;
    uint96 private _stakeMaxLimit;

    modifier onlyOwner() {
        require(msg.sender == owner, "APP_AUTH_FAILED");
        _;
    }

    /// @dev Runs in the app proxy's storage (stETH is an Aragon AppProxyUpgradeable, as on mainnet), so there is no
    ///      constructor: as Lido V2's payable initialize, the first ETH mints shares to 0xdead so the share rate is
    ///      always defined. The caller becomes the owner.
    function initialize(address oracle, address queue, address treasury_, address operators) external payable {
        require(accountingOracle == address(0), "ALREADY_INITIALIZED");
        require(msg.value != 0, "ZERO_DEPOSIT");
        owner = msg.sender;
        _totalFee = 10 * 10 ** 18;
        _nodeOperatorsFee = 5 * 10 ** 18;
        _bufferedEther = msg.value;
        _mintShares(INITIAL_TOKEN_HOLDER, msg.value);
        emit Submitted(INITIAL_TOKEN_HOLDER, msg.value, address(0));
        emit Transfer(address(0), INITIAL_TOKEN_HOLDER, msg.value);
        emit TransferShares(address(0), INITIAL_TOKEN_HOLDER, msg.value);
        accountingOracle = oracle;
        withdrawalQueue = queue;
        treasury = treasury_;
        nodeOperatorsRegistry = operators;
        _active = true;
        _stakeBlock = uint32(block.number);
    }

    // ------------------------------------------------------------------ pause powers (mainnet's, ACL-checked)

    /// @notice Stop the protocol (transfers, submits, reports) and pause staking.
    function stop() external {
        _auth(PAUSE_ROLE);
        _stop();
        _pauseStaking();
    }

    /// @notice Resume the protocol and staking (with the staking limit set before, if any).
    function resume() external {
        _auth(RESUME_ROLE);
        _resume();
        _resumeStaking();
    }

    function isStopped() public view returns (bool) {
        return !_active;
    }

    /// @notice Refuse new ether (`submit` and plain transfers to the pool) until staking is resumed.
    function pauseStaking() external {
        _auth(STAKING_PAUSE_ROLE);
        _pauseStaking();
    }

    function resumeStaking() external {
        _auth(STAKING_CONTROL_ROLE);
        _resumeStaking();
    }

    function isStakingPaused() external view returns (bool) {
        return _stakeBlock == 0;
    }

    /// @notice Cap submits at `_maxStakeLimit`, restored by `_stakeLimitIncreasePerBlock` a block (StakeLimitUtils).
    function setStakingLimit(uint256 _maxStakeLimit, uint256 _stakeLimitIncreasePerBlock) external {
        _auth(STAKING_CONTROL_ROLE);
        require(_maxStakeLimit != 0, "ZERO_MAX_STAKE_LIMIT");
        require(_maxStakeLimit <= type(uint96).max, "TOO_LARGE_MAX_STAKE_LIMIT");
        require(_maxStakeLimit >= _stakeLimitIncreasePerBlock, "TOO_LARGE_LIMIT_INCREASE");
        require(
            _stakeLimitIncreasePerBlock == 0 || _maxStakeLimit / _stakeLimitIncreasePerBlock <= type(uint32).max,
            "TOO_SMALL_LIMIT_INCREASE"
        );
        if (_stakeBlock == 0 || _stakeMaxLimit == 0 || _maxStakeLimit < _stakePrevLimit) {
            _stakePrevLimit = uint96(_maxStakeLimit);
        }
        _stakeGrowthBlocks =
            _stakeLimitIncreasePerBlock != 0 ? uint32(_maxStakeLimit / _stakeLimitIncreasePerBlock) : 0;
        _stakeMaxLimit = uint96(_maxStakeLimit);
        if (_stakeBlock != 0) _stakeBlock = uint32(block.number);
        emit StakingLimitSet(_maxStakeLimit, _stakeLimitIncreasePerBlock);
    }

    function removeStakingLimit() external {
        _auth(STAKING_CONTROL_ROLE);
        _stakeMaxLimit = 0;
        emit StakingLimitRemoved();
    }

    /// @notice What can be submitted in this block: 0 when paused, 2**256 - 1 when unlimited.
    function getCurrentStakeLimit() external view returns (uint256) {
        if (_stakeBlock == 0) return 0;
        if (_stakeMaxLimit == 0) return type(uint256).max;
        return _currentStakeLimit();
    }

    /// @notice aragonOS's AragonApp.canPerform: the kernel's check, the parameters cast to bytes.
    function canPerform(address _sender, bytes32 _role, uint256[] memory _params) public view returns (bool) {
        if (address(kernel()) == address(0)) return false;
        return kernel().hasPermission(_sender, address(this), _role, abi.encodePacked(_params));
    }

    receive() external payable {
        _submit(address(0));
    }

    function submit(address _referral) external payable returns (uint256) {
        return _submit(_referral);
    }

    // ------------------------------------------------------------------ ERC20 over shares

    function totalSupply() external view returns (uint256) {
        return _getTotalPooledEther();
    }

    function balanceOf(address account) external view returns (uint256) {
        return getPooledEthByShares(_shares[account]);
    }

    function allowance(address owner_, address spender) external view returns (uint256) {
        return _allowances[owner_][spender];
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        _approve(msg.sender, spender, amount);
        return true;
    }

    function transfer(address recipient, uint256 amount) external returns (bool) {
        _transfer(msg.sender, recipient, amount);
        return true;
    }

    function transferFrom(address sender, address recipient, uint256 amount) external returns (bool) {
        _spendAllowance(sender, msg.sender, amount);
        _transfer(sender, recipient, amount);
        return true;
    }

    function transferShares(address recipient, uint256 sharesAmount) external returns (uint256) {
        _transferShares(msg.sender, recipient, sharesAmount);
        uint256 tokensAmount = getPooledEthByShares(sharesAmount);
        emit Transfer(msg.sender, recipient, tokensAmount);
        emit TransferShares(msg.sender, recipient, sharesAmount);
        return tokensAmount;
    }

    function transferSharesFrom(address sender, address recipient, uint256 sharesAmount) external returns (uint256) {
        uint256 tokensAmount = getPooledEthByShares(sharesAmount);
        _spendAllowance(sender, msg.sender, tokensAmount);
        _transferShares(sender, recipient, sharesAmount);
        emit Transfer(sender, recipient, tokensAmount);
        emit TransferShares(sender, recipient, sharesAmount);
        return tokensAmount;
    }

    // ------------------------------------------------------------------ share accounting views

    function getTotalPooledEther() external view returns (uint256) {
        return _getTotalPooledEther();
    }

    function getTotalShares() external view returns (uint256) {
        return _totalShares;
    }

    function sharesOf(address account) external view returns (uint256) {
        return _shares[account];
    }

    function getSharesByPooledEth(uint256 _ethAmount) public view returns (uint256) {
        return (_ethAmount * _totalShares) / _getTotalPooledEther();
    }

    function getPooledEthByShares(uint256 _sharesAmount) public view returns (uint256) {
        return (_sharesAmount * _getTotalPooledEther()) / _totalShares;
    }

    function getBufferedEther() external view returns (uint256) {
        return _bufferedEther;
    }

    function getBeaconStat()
        external
        view
        returns (uint256 depositedValidators, uint256 beaconValidators, uint256 beaconBalance)
    {
        return (_depositedValidators, _beaconValidators, _beaconBalance);
    }

    /// @notice Lido V2's getFee: the total fee on rewards in basis points (StakingRouter's, truncated to 1e4).
    function getFee() external view returns (uint16 totalFee) {
        return uint16(_totalFee * TOTAL_BASIS_POINTS / FEE_PRECISION_POINTS);
    }

    /// @notice Lido V2's (deprecated) getFeeDistribution: the treasury's and the operators' parts of the fee,
    ///         relative to the fee (10,000 is all of it); insurance is always 0 since V2.
    function getFeeDistribution()
        external
        view
        returns (uint16 treasuryFeeBasisPoints, uint16 insuranceFeeBasisPoints, uint16 operatorsFeeBasisPoints)
    {
        insuranceFeeBasisPoints = 0;
        treasuryFeeBasisPoints = uint16((_totalFee - _nodeOperatorsFee) * TOTAL_BASIS_POINTS / _totalFee);
        operatorsFeeBasisPoints = uint16(_nodeOperatorsFee * TOTAL_BASIS_POINTS / _totalFee);
    }

    // ------------------------------------------------------------------ deposits and reports

    /// @notice Moves whole 32 ETH deposits from the buffer to validators (the DepositSecurityModule's role).
    function deposit(uint256 _maxDepositsCount, uint256, bytes calldata) external onlyOwner {
        require(!isStopped(), "CAN_NOT_DEPOSIT");
        uint256 count = _bufferedEther / DEPOSIT_SIZE;
        if (count > _maxDepositsCount) count = _maxDepositsCount;
        if (count == 0) return;
        _bufferedEther -= count * DEPOSIT_SIZE;
        _depositedValidators += count;
        emit Unbuffered(count * DEPOSIT_SIZE);
        emit DepositedValidatorsChanged(_depositedValidators);
    }

    /// @notice Lido V2's oracle entry point (same arguments). `_sharesRequestedToBurn` must be 0 on the devnet;
    ///         withdrawal and EL-rewards vault balances move into the buffer as in Lido.
    function handleOracleReport(
        uint256 _reportTimestamp,
        uint256 _timeElapsed,
        uint256 _clValidators,
        uint256 _clBalance,
        uint256 _withdrawalVaultBalance,
        uint256 _elRewardsVaultBalance,
        uint256 _sharesRequestedToBurn,
        uint256[] calldata _withdrawalFinalizationBatches,
        uint256 _simulatedShareRate
    ) external returns (uint256[4] memory postRebaseAmounts) {
        _whenNotStopped();
        require(msg.sender == accountingOracle, "APP_AUTH_FAILED");
        require(_reportTimestamp <= block.timestamp, "INVALID_REPORT_TIMESTAMP");
        require(_sharesRequestedToBurn == 0, "BURN_NOT_SUPPORTED");
        ReportContext memory ctx;
        ctx.preTotalPooledEther = _getTotalPooledEther();
        ctx.preTotalShares = _totalShares;
        ctx.preCLBalance = _processClStateUpdate(_reportTimestamp, _clValidators, _clBalance);
        _bufferedEther += _withdrawalVaultBalance + _elRewardsVaultBalance;
        emit ETHDistributed(
            _reportTimestamp, ctx.preCLBalance, _clBalance, _withdrawalVaultBalance, _elRewardsVaultBalance, _bufferedEther
        );

        // Lido's _processRewards: no fee on a non-profitable report (LIP-12).
        if (_clBalance + _withdrawalVaultBalance > ctx.preCLBalance) {
            uint256 rewards = _clBalance + _withdrawalVaultBalance - ctx.preCLBalance + _elRewardsVaultBalance;
            ctx.sharesMintedAsFees = _distributeFee(ctx.preTotalPooledEther, ctx.preTotalShares, rewards);
        }

        if (_withdrawalFinalizationBatches.length != 0) {
            _finalizeWithdrawals(_withdrawalFinalizationBatches, _simulatedShareRate);
        }
        _completeTokenRebase(_reportTimestamp, _timeElapsed, ctx);
        postRebaseAmounts = [_getTotalPooledEther(), _totalShares, _withdrawalVaultBalance, _elRewardsVaultBalance];
    }

    struct ReportContext {
        uint256 preTotalPooledEther;
        uint256 preTotalShares;
        uint256 preCLBalance;
        uint256 sharesMintedAsFees;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Lido's _processClStateUpdate: validators that appeared bring their 32 ETH deposit, which is no reward.
    function _processClStateUpdate(uint256 reportTimestamp, uint256 postCLValidators, uint256 postCLBalance)
        internal
        returns (uint256 preCLBalance)
    {
        uint256 preCLValidators = _beaconValidators;
        require(postCLValidators >= preCLValidators, "REPORTED_LESS_VALIDATORS");
        require(postCLValidators <= _depositedValidators, "REPORTED_MORE_DEPOSITED");
        preCLBalance = _beaconBalance + (postCLValidators - preCLValidators) * DEPOSIT_SIZE;
        emit CLValidatorsUpdated(reportTimestamp, preCLValidators, postCLValidators);
        _beaconValidators = postCLValidators;
        _beaconBalance = postCLBalance;
    }

    function _completeTokenRebase(uint256 reportTimestamp, uint256 timeElapsed, ReportContext memory ctx) internal {
        emit TokenRebased(
            reportTimestamp,
            timeElapsed,
            ctx.preTotalShares,
            ctx.preTotalPooledEther,
            _totalShares,
            _getTotalPooledEther(),
            ctx.sharesMintedAsFees
        );
    }

    function _submit(address _referral) internal returns (uint256) {
        require(msg.value != 0, "ZERO_DEPOSIT");
        // Mainnet's invariant: a stopped protocol has staking paused too, so this check covers both.
        require(_stakeBlock != 0, "STAKING_PAUSED");
        if (_stakeMaxLimit != 0) {
            uint256 currentStakeLimit = _currentStakeLimit();
            require(msg.value <= currentStakeLimit, "STAKE_LIMIT");
            _stakePrevLimit = uint96(currentStakeLimit - msg.value);
            _stakeBlock = uint32(block.number);
        }
        uint256 sharesAmount = getSharesByPooledEth(msg.value);
        _mintShares(msg.sender, sharesAmount);
        _bufferedEther += msg.value;
        emit Submitted(msg.sender, msg.value, _referral);
        emit Transfer(address(0), msg.sender, getPooledEthByShares(sharesAmount));
        emit TransferShares(address(0), msg.sender, sharesAmount);
        return sharesAmount;
    }

    /// @dev Lido V2's _distributeFee: mint shares worth exactly totalFee of the rewards at the new rate,
    ///      shares2mint = rewards * totalFee * preTotalShares / (totalPooledEtherWithRewards * PRECISION - rewards * totalFee).
    function _distributeFee(uint256 _preTotalPooledEther, uint256 _preTotalShares, uint256 _totalRewards)
        internal
        returns (uint256 sharesMintedAsFees)
    {
        uint256 totalFee = _totalFee;
        uint256 totalPooledEtherWithRewards = _preTotalPooledEther + _totalRewards;
        sharesMintedAsFees = (_totalRewards * totalFee * _preTotalShares)
            / (totalPooledEtherWithRewards * FEE_PRECISION_POINTS - _totalRewards * totalFee);
        uint256 moduleRewards = (sharesMintedAsFees * _nodeOperatorsFee) / totalFee;
        _mintShares(nodeOperatorsRegistry, moduleRewards);
        emit TransferShares(address(0), nodeOperatorsRegistry, moduleRewards);
        _mintShares(treasury, sharesMintedAsFees - moduleRewards);
        emit TransferShares(address(0), treasury, sharesMintedAsFees - moduleRewards);
    }

    function _finalizeWithdrawals(uint256[] calldata batches, uint256 simulatedShareRate) internal {
        uint256 shareRate =
            simulatedShareRate != 0 ? simulatedShareRate : (_getTotalPooledEther() * 1e27) / _totalShares;
        (uint256 ethToLock, uint256 sharesToBurn) =
            ILidoWithdrawalQueue(withdrawalQueue).prefinalize(batches, shareRate);
        require(ethToLock <= _bufferedEther, "NOT_ENOUGH_BUFFERED_ETHER");
        _bufferedEther -= ethToLock;
        uint256 preRebaseTokenAmount = getPooledEthByShares(sharesToBurn);
        _burnShares(withdrawalQueue, sharesToBurn);
        emit SharesBurnt(withdrawalQueue, preRebaseTokenAmount, getPooledEthByShares(sharesToBurn), sharesToBurn);
        ILidoWithdrawalQueue(withdrawalQueue).finalize{value: ethToLock}(batches[batches.length - 1], shareRate);
    }

    function _getTotalPooledEther() internal view returns (uint256) {
        return _bufferedEther + _beaconBalance + (_depositedValidators - _beaconValidators) * DEPOSIT_SIZE;
    }

    function _transfer(address sender, address recipient, uint256 amount) internal {
        uint256 sharesToTransfer = getSharesByPooledEth(amount);
        _transferShares(sender, recipient, sharesToTransfer);
        emit Transfer(sender, recipient, amount);
        emit TransferShares(sender, recipient, sharesToTransfer);
    }

    function _transferShares(address sender, address recipient, uint256 sharesAmount) internal {
        require(sender != address(0), "TRANSFER_FROM_ZERO_ADDR");
        require(recipient != address(0), "TRANSFER_TO_ZERO_ADDR");
        require(recipient != address(this), "TRANSFER_TO_STETH_CONTRACT");
        _whenNotStopped();
        uint256 currentSenderShares = _shares[sender];
        require(sharesAmount <= currentSenderShares, "BALANCE_EXCEEDED");
        _shares[sender] = currentSenderShares - sharesAmount;
        _shares[recipient] += sharesAmount;
    }

    function _approve(address owner_, address spender, uint256 amount) internal {
        require(owner_ != address(0), "APPROVE_FROM_ZERO_ADDR");
        require(spender != address(0), "APPROVE_TO_ZERO_ADDR");
        _allowances[owner_][spender] = amount;
        emit Approval(owner_, spender, amount);
    }

    function _spendAllowance(address owner_, address spender, uint256 amount) internal {
        uint256 currentAllowance = _allowances[owner_][spender];
        if (currentAllowance != type(uint256).max) {
            require(currentAllowance >= amount, "ALLOWANCE_EXCEEDED");
            _approve(owner_, spender, currentAllowance - amount);
        }
    }

    function _mintShares(address recipient, uint256 sharesAmount) internal {
        require(recipient != address(0), "MINT_TO_ZERO_ADDR");
        _totalShares += sharesAmount;
        _shares[recipient] += sharesAmount;
    }

    function _burnShares(address account, uint256 sharesAmount) internal {
        uint256 accountShares = _shares[account];
        require(sharesAmount <= accountShares, "BALANCE_EXCEEDED");
        _totalShares -= sharesAmount;
        _shares[account] = accountShares - sharesAmount;
    }

    function _auth(bytes32 role) internal view {
        require(canPerform(msg.sender, role, new uint256[](0)), "APP_AUTH_FAILED");
    }

    function _whenNotStopped() internal view {
        require(_active, "CONTRACT_IS_STOPPED");
    }

    function _stop() internal {
        _whenNotStopped();
        _active = false;
        emit Stopped();
    }

    function _resume() internal {
        require(!_active, "CONTRACT_IS_ACTIVE");
        _active = true;
        emit Resumed();
    }

    function _pauseStaking() internal {
        _stakeBlock = 0;
        emit StakingPaused();
    }

    function _resumeStaking() internal {
        _stakeBlock = uint32(block.number);
        emit StakingResumed();
    }

    /// @dev StakeLimitUtils.calculateCurrentStakeLimit: the last limit moved toward the maximum by the blocks since.
    function _currentStakeLimit() internal view returns (uint256) {
        uint256 perBlock = _stakeGrowthBlocks != 0 ? _stakeMaxLimit / _stakeGrowthBlocks : 0;
        uint256 change = (block.number - _stakeBlock) * perBlock;
        uint256 prev = _stakePrevLimit;
        uint256 max = _stakeMaxLimit;
        if (prev < max) return prev + change < max ? prev + change : max;
        return prev > change && prev - change > max ? prev - change : max;
    }
}
