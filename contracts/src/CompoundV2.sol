// SPDX-License-Identifier: BSD-3-Clause
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// ABI- and math-compatible stand-ins for Compound V2 (compound-finance/compound-protocol): the names,
/// the mantissa arithmetic (Exponential.sol's mul_/div_/truncate) and the order of operations are
/// Compound's; what is left out (COMP rewards, borrow/supply caps and their guardians, reentrancy guards, error-code
/// paths other than the ones read by analytics) does not change a figure. The Comptroller's pause guardian is kept
/// with Compound's semantics (ComptrollerStorage's pauseGuardian and *GuardianPaused, Comptroller's _setPauseGuardian
/// and _set*Paused, and the policy hooks that refuse while paused), as its control is read live.

interface CompV2PriceFeed {
    function decimals() external view returns (uint8);
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
}

/// @notice BaseJumpRateModelV2 / JumpRateModelV2 with Compound's constants and rounding.
contract JumpRateModelV2 {
    bool public constant isInterestRateModel = true;
    uint256 public constant blocksPerYear = 2102400;

    uint256 public multiplierPerBlock;
    uint256 public baseRatePerBlock;
    uint256 public jumpMultiplierPerBlock;
    uint256 public kink;

    constructor(uint256 baseRatePerYear, uint256 multiplierPerYear, uint256 jumpMultiplierPerYear, uint256 kink_) {
        baseRatePerBlock = baseRatePerYear / blocksPerYear;
        multiplierPerBlock = (multiplierPerYear * 1e18) / (blocksPerYear * kink_);
        jumpMultiplierPerBlock = jumpMultiplierPerYear / blocksPerYear;
        kink = kink_;
    }

    function utilizationRate(uint256 cash, uint256 borrows, uint256 reserves) public pure returns (uint256) {
        if (borrows == 0) return 0;
        return borrows * 1e18 / (cash + borrows - reserves);
    }

    function getBorrowRate(uint256 cash, uint256 borrows, uint256 reserves) public view returns (uint256) {
        uint256 util = utilizationRate(cash, borrows, reserves);
        if (util <= kink) {
            return ((util * multiplierPerBlock) / 1e18) + baseRatePerBlock;
        }
        uint256 normalRate = ((kink * multiplierPerBlock) / 1e18) + baseRatePerBlock;
        uint256 excessUtil = util - kink;
        return ((excessUtil * jumpMultiplierPerBlock) / 1e18) + normalRate;
    }

    function getSupplyRate(uint256 cash, uint256 borrows, uint256 reserves, uint256 reserveFactorMantissa)
        public
        view
        returns (uint256)
    {
        uint256 oneMinusReserveFactor = 1e18 - reserveFactorMantissa;
        uint256 borrowRate = getBorrowRate(cash, borrows, reserves);
        uint256 rateToPool = borrowRate * oneMinusReserveFactor / 1e18;
        return utilizationRate(cash, borrows, reserves) * rateToPool / 1e18;
    }
}

/// @notice OpenZeppelin 4.9's Ownable2Step, as the mainnet oracle inherits it (pragma 0.8.7: OZ 4.x, revert strings,
///         not OZ 5's custom errors): the owner nominates, the nominee accepts.
abstract contract Ownable2StepV4 {
    address private _owner;
    address private _pendingOwner;

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    constructor() {
        _transferOwnership(msg.sender);
    }

    modifier onlyOwner() {
        require(owner() == msg.sender, "Ownable: caller is not the owner");
        _;
    }

    function owner() public view virtual returns (address) {
        return _owner;
    }

    function pendingOwner() public view virtual returns (address) {
        return _pendingOwner;
    }

    function renounceOwnership() public virtual onlyOwner {
        _transferOwnership(address(0));
    }

    function transferOwnership(address newOwner) public virtual onlyOwner {
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner(), newOwner);
    }

    function acceptOwnership() public virtual {
        require(_pendingOwner == msg.sender, "Ownable2Step: caller is not the new owner");
        _transferOwnership(msg.sender);
    }

    function _transferOwnership(address newOwner) internal virtual {
        delete _pendingOwner;
        address oldOwner = _owner;
        _owner = newOwner;
        emit OwnershipTransferred(oldOwner, newOwner);
    }
}

/// @notice Compound V2's price oracle as mainnet runs it (0x8CF42B08AD13761345531b839487aA4d113955d9,
///         compound-finance/open-oracle contracts/PriceOracle/PriceOracle.sol): one config per cToken, a Chainlink
///         feed or a fixed price, scaled to USD x 1e36 / 10**underlying decimals; Ownable2Step, every config change
///         owner only (mainnet's owner: the community multisig). Same functions, events, errors and access control.
contract CompoundV2Oracle is Ownable2StepV4 {
    struct TokenConfig {
        uint8 underlyingAssetDecimals;
        address priceFeed;
        uint256 fixedPrice;
    }

    struct LoadConfig {
        uint8 underlyingAssetDecimals;
        address cToken;
        address priceFeed;
        uint256 fixedPrice;
    }

    mapping(address => TokenConfig) internal tokenConfigs;

    event PriceOracleAssetAdded(address indexed cToken, uint8 underlyingAssetDecimals, address priceFeed, uint256 fixedPrice);
    event PriceOracleAssetPriceFeedUpdated(
        address indexed cToken, address oldPriceFeed, address newPriceFeed, uint256 oldFixedPrice
    );
    event PriceOracleAssetFixedPriceUpdated(
        address indexed cToken, uint256 oldFixedPrice, uint256 newFixedPrice, address oldPriceFeed
    );
    event PriceOracleAssetRemoved(address indexed cToken, uint8 underlyingAssetDecimals, address priceFeed, uint256 fixedPrice);

    uint8 internal constant MAX_DECIMALS = 72;
    uint8 internal constant PRICE_SCALE = 36;

    error MissingCTokenAddress();
    error InvalidUnderlyingAssetDecimals();
    error FormattingDecimalsTooHigh(uint16 decimals);
    error MissingPriceFeed();
    error MissingFixedPrice();
    error MissingPriceConfigs();
    error InvalidPriceConfigs(address priceFeed, uint256 fixedPrice);
    error DuplicateConfig(address cToken);
    error ConfigNotFound(address cToken);
    error UnchangedPriceFeed(address cToken, address existingPriceFeed, address newPriceFeed);
    error UnchangedFixedPrice(address cToken, uint256 existingFixedPrice, uint256 newFixedPrice);

    constructor(LoadConfig[] memory configs) {
        for (uint256 i = 0; i < configs.length; i++) {
            addConfig(configs[i]);
        }
    }

    /// @notice USD x 10**(36 - underlying decimals): the fixed price if set, else the feed's answer rescaled; a
    ///         non-positive answer is 0 (the Comptroller's "no price").
    function getUnderlyingPrice(address cToken) external view returns (uint256) {
        TokenConfig memory config = _existing(cToken);
        if (config.fixedPrice != 0) return config.fixedPrice;
        CompV2PriceFeed feed = CompV2PriceFeed(config.priceFeed);
        uint8 feedDecimals = feed.decimals();
        (, int256 answer,,,) = feed.latestRoundData();
        if (answer <= 0) return 0;
        uint256 decimals = uint256(feedDecimals) + config.underlyingAssetDecimals;
        if (decimals <= PRICE_SCALE) return uint256(answer) * 10 ** (PRICE_SCALE - decimals);
        return uint256(answer) / 10 ** (decimals - PRICE_SCALE);
    }

    function getConfig(address cToken) external view returns (TokenConfig memory) {
        return _existing(cToken);
    }

    function addConfig(LoadConfig memory config) public onlyOwner {
        if (config.cToken == address(0)) revert MissingCTokenAddress();
        if (config.priceFeed == address(0) && config.fixedPrice == 0) revert MissingPriceConfigs();
        if (config.priceFeed != address(0) && config.fixedPrice != 0) {
            revert InvalidPriceConfigs(config.priceFeed, config.fixedPrice);
        }
        if (tokenConfigs[config.cToken].underlyingAssetDecimals != 0) revert DuplicateConfig(config.cToken);
        if (config.priceFeed != address(0)) _checkDecimals(config.priceFeed, config.underlyingAssetDecimals);
        tokenConfigs[config.cToken] = TokenConfig(config.underlyingAssetDecimals, config.priceFeed, config.fixedPrice);
        emit PriceOracleAssetAdded(config.cToken, config.underlyingAssetDecimals, config.priceFeed, config.fixedPrice);
    }

    function updateConfigPriceFeed(address cToken, address priceFeed) external onlyOwner {
        TokenConfig memory config = _existing(cToken);
        if (priceFeed == address(0)) revert MissingPriceFeed();
        if (config.priceFeed == priceFeed) revert UnchangedPriceFeed(cToken, config.priceFeed, priceFeed);
        _checkDecimals(priceFeed, config.underlyingAssetDecimals);
        tokenConfigs[cToken].priceFeed = priceFeed;
        if (config.fixedPrice != 0) tokenConfigs[cToken].fixedPrice = 0;
        emit PriceOracleAssetPriceFeedUpdated(cToken, config.priceFeed, priceFeed, config.fixedPrice);
    }

    function updateConfigFixedPrice(address cToken, uint256 fixedPrice) external onlyOwner {
        TokenConfig memory config = _existing(cToken);
        if (fixedPrice == 0) revert MissingFixedPrice();
        if (config.fixedPrice == fixedPrice) revert UnchangedFixedPrice(cToken, config.fixedPrice, fixedPrice);
        tokenConfigs[cToken].fixedPrice = fixedPrice;
        if (config.priceFeed != address(0)) tokenConfigs[cToken].priceFeed = address(0);
        emit PriceOracleAssetFixedPriceUpdated(cToken, config.fixedPrice, fixedPrice, config.priceFeed);
    }

    function removeConfig(address cToken) external onlyOwner {
        TokenConfig memory config = _existing(cToken);
        delete tokenConfigs[cToken];
        emit PriceOracleAssetRemoved(cToken, config.underlyingAssetDecimals, config.priceFeed, config.fixedPrice);
    }

    function _existing(address cToken) internal view returns (TokenConfig memory config) {
        config = tokenConfigs[cToken];
        if (config.underlyingAssetDecimals == 0) revert ConfigNotFound(cToken);
    }

    function _checkDecimals(address priceFeed, uint8 underlyingAssetDecimals) internal view {
        if (underlyingAssetDecimals == 0) revert InvalidUnderlyingAssetDecimals();
        uint16 sum = uint16(CompV2PriceFeed(priceFeed).decimals()) + underlyingAssetDecimals;
        if (sum > MAX_DECIMALS) revert FormattingDecimalsTooHigh(sum);
    }
}

/// @notice Compound's UnitrollerAdminStorage: the Unitroller's slots, which the Comptroller's storage begins with.
contract UnitrollerAdminStorage {
    address public admin;
    address public pendingAdmin;
    address public comptrollerImplementation;
    address public pendingComptrollerImplementation;
}

/// @notice Compound's Unitroller (ComptrollerCore): the Comptroller's address and storage, delegating to
///         `comptrollerImplementation`. Upgrades take two steps: the admin sets a pending implementation, which
///         accepts itself (`Comptroller._become`). Failures return ComptrollerErrorReporter's codes with a
///         Failure event rather than reverting, as Compound's do.
contract Unitroller is UnitrollerAdminStorage {
    uint256 internal constant NO_ERROR = 0;
    uint256 internal constant UNAUTHORIZED = 1;
    // ComptrollerErrorReporter.FailureInfo values.
    uint256 internal constant ACCEPT_ADMIN_PENDING_ADMIN_CHECK = 0;
    uint256 internal constant ACCEPT_PENDING_IMPLEMENTATION_ADDRESS_CHECK = 1;
    uint256 internal constant SET_PENDING_ADMIN_OWNER_CHECK = 14;
    uint256 internal constant SET_PENDING_IMPLEMENTATION_OWNER_CHECK = 15;

    event Failure(uint256 error, uint256 info, uint256 detail);
    event NewPendingImplementation(address oldPendingImplementation, address newPendingImplementation);
    event NewImplementation(address oldImplementation, address newImplementation);
    event NewPendingAdmin(address oldPendingAdmin, address newPendingAdmin);
    event NewAdmin(address oldAdmin, address newAdmin);

    constructor() {
        admin = msg.sender;
    }

    function _setPendingImplementation(address newPendingImplementation) public returns (uint256) {
        if (msg.sender != admin) return _fail(UNAUTHORIZED, SET_PENDING_IMPLEMENTATION_OWNER_CHECK);
        address oldPendingImplementation = pendingComptrollerImplementation;
        pendingComptrollerImplementation = newPendingImplementation;
        emit NewPendingImplementation(oldPendingImplementation, pendingComptrollerImplementation);
        return NO_ERROR;
    }

    function _acceptImplementation() public returns (uint256) {
        if (msg.sender != pendingComptrollerImplementation || pendingComptrollerImplementation == address(0)) {
            return _fail(UNAUTHORIZED, ACCEPT_PENDING_IMPLEMENTATION_ADDRESS_CHECK);
        }
        address oldImplementation = comptrollerImplementation;
        address oldPendingImplementation = pendingComptrollerImplementation;
        comptrollerImplementation = pendingComptrollerImplementation;
        pendingComptrollerImplementation = address(0);
        emit NewImplementation(oldImplementation, comptrollerImplementation);
        emit NewPendingImplementation(oldPendingImplementation, pendingComptrollerImplementation);
        return NO_ERROR;
    }

    function _setPendingAdmin(address newPendingAdmin) public returns (uint256) {
        if (msg.sender != admin) return _fail(UNAUTHORIZED, SET_PENDING_ADMIN_OWNER_CHECK);
        address oldPendingAdmin = pendingAdmin;
        pendingAdmin = newPendingAdmin;
        emit NewPendingAdmin(oldPendingAdmin, newPendingAdmin);
        return NO_ERROR;
    }

    function _acceptAdmin() public returns (uint256) {
        if (msg.sender != pendingAdmin || msg.sender == address(0)) {
            return _fail(UNAUTHORIZED, ACCEPT_ADMIN_PENDING_ADMIN_CHECK);
        }
        address oldAdmin = admin;
        address oldPendingAdmin = pendingAdmin;
        admin = pendingAdmin;
        pendingAdmin = address(0);
        emit NewAdmin(oldAdmin, admin);
        emit NewPendingAdmin(oldPendingAdmin, pendingAdmin);
        return NO_ERROR;
    }

    function _fail(uint256 err, uint256 info) internal returns (uint256) {
        emit Failure(err, info, 0);
        return err;
    }

    /// @dev Delegates every other call to the implementation, returning or reverting with what it returned.
    fallback() external payable {
        (bool success,) = comptrollerImplementation.delegatecall(msg.data);
        assembly {
            let free_mem_ptr := mload(0x40)
            returndatacopy(free_mem_ptr, 0, returndatasize())
            switch success
            case 0 { revert(free_mem_ptr, returndatasize()) }
            default { return(free_mem_ptr, returndatasize()) }
        }
    }
}

/// @notice Comptroller (G7 shape): markets, membership, collateral factors and account liquidity.
contract Comptroller is UnitrollerAdminStorage {
    struct Market {
        bool isListed;
        uint256 collateralFactorMantissa;
        mapping(address => bool) accountMembership;
        bool isComped;
    }

    error NotAdmin();

    bool public constant isComptroller = true;
    uint256 internal constant collateralFactorMaxMantissa = 0.9e18;

    CompoundV2Oracle public oracle;
    uint256 public closeFactorMantissa;
    uint256 public liquidationIncentiveMantissa;
    mapping(address => Market) public markets;
    mapping(address => CToken[]) public accountAssets;
    CToken[] public allMarkets;
    /// @notice ComptrollerStorage's pause guardian (compound-finance/compound-protocol contracts/ComptrollerStorage.sol):
    ///         it may pause minting and borrowing per market, transfers and seizes globally; only the admin unpauses.
    ///         Redeem and repay can never be paused. Kept after the variables above (this stand-in's layout).
    address public pauseGuardian;
    bool public _mintGuardianPaused;
    bool public _borrowGuardianPaused;
    bool public transferGuardianPaused;
    bool public seizeGuardianPaused;
    mapping(address => bool) public mintGuardianPaused;
    mapping(address => bool) public borrowGuardianPaused;

    event MarketListed(address cToken);
    event MarketEntered(address cToken, address account);
    event NewCollateralFactor(address cToken, uint256 oldCollateralFactorMantissa, uint256 newCollateralFactorMantissa);
    event NewPriceOracle(address oldPriceOracle, address newPriceOracle);
    event NewPauseGuardian(address oldPauseGuardian, address newPauseGuardian);
    event ActionPaused(string action, bool pauseState);
    event ActionPaused(address cToken, string action, bool pauseState);
    event Failure(uint256 error, uint256 info, uint256 detail);

    uint256 internal constant UNAUTHORIZED = 1; // ComptrollerErrorReporter.Error
    uint256 internal constant SET_PAUSE_GUARDIAN_OWNER_CHECK = 19; // ComptrollerErrorReporter.FailureInfo

    constructor() {
        admin = msg.sender;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    function _setPriceOracle(CompoundV2Oracle newOracle) external onlyAdmin returns (uint256) {
        emit NewPriceOracle(address(oracle), address(newOracle));
        oracle = newOracle;
        return 0;
    }

    /// @notice The last step of an upgrade (ComptrollerG7._become): the Unitroller's admin makes it accept this
    ///         implementation, which its admin set pending first.
    function _become(Unitroller unitroller) external {
        require(msg.sender == unitroller.admin(), "only unitroller admin can change brains");
        require(unitroller._acceptImplementation() == 0, "change not authorized");
    }

    function _setCloseFactor(uint256 newCloseFactorMantissa) external onlyAdmin returns (uint256) {
        closeFactorMantissa = newCloseFactorMantissa;
        return 0;
    }

    function _setLiquidationIncentive(uint256 newMantissa) external onlyAdmin returns (uint256) {
        liquidationIncentiveMantissa = newMantissa;
        return 0;
    }

    function _supportMarket(CToken cToken) external onlyAdmin returns (uint256) {
        require(!markets[address(cToken)].isListed, "market already listed");
        markets[address(cToken)].isListed = true;
        allMarkets.push(cToken);
        emit MarketListed(address(cToken));
        return 0;
    }

    function _setCollateralFactor(CToken cToken, uint256 newCollateralFactorMantissa) external onlyAdmin returns (uint256) {
        Market storage market = markets[address(cToken)];
        require(market.isListed, "market not listed");
        require(newCollateralFactorMantissa <= collateralFactorMaxMantissa, "collateral factor too high");
        uint256 old = market.collateralFactorMantissa;
        market.collateralFactorMantissa = newCollateralFactorMantissa;
        emit NewCollateralFactor(address(cToken), old, newCollateralFactorMantissa);
        return 0;
    }

    // ---------------------------------------------------------------- pause guardian (Comptroller.sol)

    /// @notice Only the admin names the pause guardian; anyone else gets UNAUTHORIZED back with a Failure event
    ///         (Compound's error-code path), not a revert.
    function _setPauseGuardian(address newPauseGuardian) public returns (uint256) {
        if (msg.sender != admin) {
            emit Failure(UNAUTHORIZED, SET_PAUSE_GUARDIAN_OWNER_CHECK, 0);
            return UNAUTHORIZED;
        }
        address oldPauseGuardian = pauseGuardian;
        pauseGuardian = newPauseGuardian;
        emit NewPauseGuardian(oldPauseGuardian, newPauseGuardian);
        return 0;
    }

    function _setMintPaused(CToken cToken, bool state) public returns (bool) {
        require(markets[address(cToken)].isListed, "cannot pause a market that is not listed");
        _checkPauser(state);
        mintGuardianPaused[address(cToken)] = state;
        emit ActionPaused(address(cToken), "Mint", state);
        return state;
    }

    function _setBorrowPaused(CToken cToken, bool state) public returns (bool) {
        require(markets[address(cToken)].isListed, "cannot pause a market that is not listed");
        _checkPauser(state);
        borrowGuardianPaused[address(cToken)] = state;
        emit ActionPaused(address(cToken), "Borrow", state);
        return state;
    }

    function _setTransferPaused(bool state) public returns (bool) {
        _checkPauser(state);
        transferGuardianPaused = state;
        emit ActionPaused("Transfer", state);
        return state;
    }

    function _setSeizePaused(bool state) public returns (bool) {
        _checkPauser(state);
        seizeGuardianPaused = state;
        emit ActionPaused("Seize", state);
        return state;
    }

    /// @dev The pause guardian or the admin may pause; only the admin may unpause (Compound's two requires).
    function _checkPauser(bool state) internal view {
        require(msg.sender == pauseGuardian || msg.sender == admin, "only pause guardian and admin can pause");
        require(msg.sender == admin || state, "only admin can unpause");
    }

    function getAllMarkets() external view returns (CToken[] memory) {
        return allMarkets;
    }

    function getAssetsIn(address account) external view returns (CToken[] memory) {
        return accountAssets[account];
    }

    function checkMembership(address account, CToken cToken) external view returns (bool) {
        return markets[address(cToken)].accountMembership[account];
    }

    function enterMarkets(address[] memory cTokens) public returns (uint256[] memory) {
        uint256[] memory results = new uint256[](cTokens.length);
        for (uint256 i = 0; i < cTokens.length; i++) {
            results[i] = addToMarketInternal(CToken(cTokens[i]), msg.sender);
        }
        return results;
    }

    function addToMarketInternal(CToken cToken, address borrower) internal returns (uint256) {
        Market storage marketToJoin = markets[address(cToken)];
        if (!marketToJoin.isListed) return 9; // MARKET_NOT_LISTED
        if (marketToJoin.accountMembership[borrower]) return 0;
        marketToJoin.accountMembership[borrower] = true;
        accountAssets[borrower].push(cToken);
        emit MarketEntered(address(cToken), borrower);
        return 0;
    }

    // ---------------------------------------------------------------- policy hooks

    /// @notice Pausing reverts, to sound the alarm, as Compound's hooks do; redeem and repay have no pause.
    function mintAllowed(address cToken, address, uint256) external view returns (uint256) {
        require(!mintGuardianPaused[cToken], "mint is paused");
        return markets[cToken].isListed ? 0 : 9;
    }

    function redeemAllowed(address cToken, address redeemer, uint256 redeemTokens) external view returns (uint256) {
        return redeemAllowedInternal(cToken, redeemer, redeemTokens);
    }

    function redeemAllowedInternal(address cToken, address redeemer, uint256 redeemTokens)
        internal
        view
        returns (uint256)
    {
        if (!markets[cToken].isListed) return 9;
        if (!markets[cToken].accountMembership[redeemer]) return 0;
        (uint256 err,, uint256 shortfall) =
            getHypotheticalAccountLiquidityInternal(redeemer, CToken(cToken), redeemTokens, 0);
        if (err != 0) return err;
        return shortfall > 0 ? 4 : 0; // INSUFFICIENT_LIQUIDITY
    }

    function borrowAllowed(address cToken, address borrower, uint256 borrowAmount) external returns (uint256) {
        require(!borrowGuardianPaused[cToken], "borrow is paused");
        if (!markets[cToken].isListed) return 9;
        if (!markets[cToken].accountMembership[borrower]) {
            require(msg.sender == cToken, "sender must be cToken");
            uint256 err = addToMarketInternal(CToken(msg.sender), borrower);
            if (err != 0) return err;
        }
        if (oracle.getUnderlyingPrice(cToken) == 0) return 13; // PRICE_ERROR
        (uint256 err2,, uint256 shortfall) =
            getHypotheticalAccountLiquidityInternal(borrower, CToken(cToken), 0, borrowAmount);
        if (err2 != 0) return err2;
        return shortfall > 0 ? 4 : 0;
    }

    function repayBorrowAllowed(address cToken, address, address, uint256) external view returns (uint256) {
        return markets[cToken].isListed ? 0 : 9;
    }

    /// @notice Compound's rule: only an account in shortfall can be liquidated, and by at most
    ///         closeFactor of its borrow balance.
    function liquidateBorrowAllowed(
        address cTokenBorrowed,
        address cTokenCollateral,
        address,
        address borrower,
        uint256 repayAmount
    ) external view returns (uint256) {
        if (!markets[cTokenBorrowed].isListed || !markets[cTokenCollateral].isListed) return 9;
        (uint256 err,, uint256 shortfall) = getAccountLiquidityInternal(borrower);
        if (err != 0) return err;
        if (shortfall == 0) return 3; // INSUFFICIENT_SHORTFALL
        uint256 borrowBalance = CToken(cTokenBorrowed).borrowBalanceStored(borrower);
        uint256 maxClose = closeFactorMantissa * borrowBalance / 1e18;
        if (repayAmount > maxClose) return 17; // TOO_MUCH_REPAY
        return 0;
    }

    function seizeAllowed(address cTokenCollateral, address cTokenBorrowed, address, address, uint256)
        external
        view
        returns (uint256)
    {
        require(!seizeGuardianPaused, "seize is paused");
        if (!markets[cTokenCollateral].isListed || !markets[cTokenBorrowed].isListed) return 9;
        if (CToken(cTokenCollateral).comptroller() != CToken(cTokenBorrowed).comptroller()) return 2; // COMPTROLLER_MISMATCH
        return 0;
    }

    /// @notice Comptroller.transferAllowed: a transfer is a redeem of the sender's cTokens, unless transfers are paused.
    function transferAllowed(address cToken, address src, address, uint256 transferTokens)
        external
        view
        returns (uint256)
    {
        require(!transferGuardianPaused, "transfer is paused");
        return redeemAllowedInternal(cToken, src, transferTokens);
    }

    /// @notice cTokens seized for repaying `actualRepayAmount` of the borrowed underlying
    ///         (Comptroller.liquidateCalculateSeizeTokens: incentive * priceBorrowed / (priceCollateral * rate)).
    function liquidateCalculateSeizeTokens(address cTokenBorrowed, address cTokenCollateral, uint256 actualRepayAmount)
        external
        view
        returns (uint256, uint256)
    {
        uint256 priceBorrowedMantissa = oracle.getUnderlyingPrice(cTokenBorrowed);
        uint256 priceCollateralMantissa = oracle.getUnderlyingPrice(cTokenCollateral);
        if (priceBorrowedMantissa == 0 || priceCollateralMantissa == 0) return (13, 0);
        uint256 exchangeRateMantissa = CToken(cTokenCollateral).exchangeRateStored();
        uint256 numerator = liquidationIncentiveMantissa * priceBorrowedMantissa / 1e18;
        uint256 denominator = priceCollateralMantissa * exchangeRateMantissa / 1e18;
        uint256 ratio = numerator * 1e18 / denominator;
        return (0, ratio * actualRepayAmount / 1e18);
    }

    // ---------------------------------------------------------------- liquidity

    function getAccountLiquidity(address account) public view returns (uint256, uint256, uint256) {
        return getHypotheticalAccountLiquidityInternal(account, CToken(address(0)), 0, 0);
    }

    function getAccountLiquidityInternal(address account) internal view returns (uint256, uint256, uint256) {
        return getHypotheticalAccountLiquidityInternal(account, CToken(address(0)), 0, 0);
    }

    function getHypotheticalAccountLiquidity(
        address account,
        address cTokenModify,
        uint256 redeemTokens,
        uint256 borrowAmount
    ) external view returns (uint256, uint256, uint256) {
        return getHypotheticalAccountLiquidityInternal(account, CToken(cTokenModify), redeemTokens, borrowAmount);
    }

    /// @dev Comptroller.getHypotheticalAccountLiquidityInternal: each product truncates to 18 decimals
    ///      in this order (collateralFactor * exchangeRate, then * price, then * balance).
    /// @dev Compound's AccountLiquidityLocalVars, kept in memory as Compound does (stack depth).
    struct AccountLiquidityLocalVars {
        uint256 sumCollateral;
        uint256 sumBorrowPlusEffects;
        uint256 cTokenBalance;
        uint256 borrowBalance;
        uint256 exchangeRateMantissa;
        uint256 oraclePriceMantissa;
        uint256 tokensToDenom;
    }

    function getHypotheticalAccountLiquidityInternal(
        address account,
        CToken cTokenModify,
        uint256 redeemTokens,
        uint256 borrowAmount
    ) internal view returns (uint256, uint256, uint256) {
        AccountLiquidityLocalVars memory vars;
        uint256 oErr;
        CToken[] memory assets = accountAssets[account];
        for (uint256 i = 0; i < assets.length; i++) {
            CToken asset = assets[i];
            (oErr, vars.cTokenBalance, vars.borrowBalance, vars.exchangeRateMantissa) =
                asset.getAccountSnapshot(account);
            if (oErr != 0) return (15, 0, 0); // SNAPSHOT_ERROR
            vars.oraclePriceMantissa = oracle.getUnderlyingPrice(address(asset));
            if (vars.oraclePriceMantissa == 0) return (13, 0, 0); // PRICE_ERROR
            // collateralFactor * exchangeRate, then * price: each Exp product truncates to 18 decimals.
            vars.tokensToDenom = (markets[address(asset)].collateralFactorMantissa * vars.exchangeRateMantissa / 1e18)
                * vars.oraclePriceMantissa / 1e18;
            vars.sumCollateral = vars.tokensToDenom * vars.cTokenBalance / 1e18 + vars.sumCollateral;
            vars.sumBorrowPlusEffects = vars.oraclePriceMantissa * vars.borrowBalance / 1e18 + vars.sumBorrowPlusEffects;
            if (asset == cTokenModify) {
                vars.sumBorrowPlusEffects = vars.tokensToDenom * redeemTokens / 1e18 + vars.sumBorrowPlusEffects;
                vars.sumBorrowPlusEffects = vars.oraclePriceMantissa * borrowAmount / 1e18 + vars.sumBorrowPlusEffects;
            }
        }
        if (vars.sumCollateral > vars.sumBorrowPlusEffects) {
            return (0, vars.sumCollateral - vars.sumBorrowPlusEffects, 0);
        }
        return (0, 0, vars.sumBorrowPlusEffects - vars.sumCollateral);
    }
}

/// @notice CTokenStorage: a market's state, apart from its code so that a CErc20Delegator (which keeps the state
///         and delegates the code) has the layout of the CErc20Delegate it runs, as Compound's CTokenInterfaces do.
abstract contract CTokenStorage {
    struct BorrowSnapshot {
        uint256 principal;
        uint256 interestIndex;
    }

    string public name;
    string public symbol;
    uint8 public decimals;
    address public admin;
    address payable public pendingAdmin;
    Comptroller public comptroller;
    JumpRateModelV2 public interestRateModel;
    uint256 internal initialExchangeRateMantissa;
    uint256 public reserveFactorMantissa;
    uint256 public accrualBlockNumber;
    uint256 public borrowIndex;
    uint256 public totalBorrows;
    uint256 public totalReserves;
    uint256 public totalSupply;
    mapping(address => uint256) internal accountTokens;
    mapping(address => mapping(address => uint256)) internal transferAllowances;
    mapping(address => BorrowSnapshot) internal accountBorrows;
}

/// @notice CErc20Storage: the underlying, after the market's state.
abstract contract CErc20Storage is CTokenStorage {
    address public underlying;
}

/// @notice CDelegationStorage: the delegator's implementation, after the CErc20's state.
abstract contract CDelegationStorage {
    address public implementation;
}

/// @notice CToken: Compound's accrual and exchange-rate math, supply, borrow, repay and liquidation, over
///         an underlying that CErc20 (an ERC-20) and CEther (native ETH) move in and out.
abstract contract CToken is CTokenStorage {

    bool public constant isCToken = true;
    /// @notice Share of seized collateral added to reserves (CTokenInterfaces: 2.8 %). Internal here: the
    ///         interface we replicate (compound-js's cErc20 ABI) predates its public getter.
    uint256 internal constant protocolSeizeShareMantissa = 2.8e16;
    uint256 internal constant borrowRateMaxMantissa = 0.0005e16;
    uint256 internal constant reserveFactorMaxMantissa = 1e18;


    event AccrueInterest(uint256 cashPrior, uint256 interestAccumulated, uint256 borrowIndex, uint256 totalBorrows);
    event Mint(address minter, uint256 mintAmount, uint256 mintTokens);
    event Redeem(address redeemer, uint256 redeemAmount, uint256 redeemTokens);
    event Borrow(address borrower, uint256 borrowAmount, uint256 accountBorrows, uint256 totalBorrows);
    event RepayBorrow(address payer, address borrower, uint256 repayAmount, uint256 accountBorrows, uint256 totalBorrows);
    event Transfer(address indexed from, address indexed to, uint256 amount);
    event Approval(address indexed owner, address indexed spender, uint256 amount);

    event LiquidateBorrow(
        address liquidator, address borrower, uint256 repayAmount, address cTokenCollateral, uint256 seizeTokens
    );
    event ReservesAdded(address benefactor, uint256 addAmount, uint256 newTotalReserves);
    event NewPendingAdmin(address oldPendingAdmin, address newPendingAdmin);
    event NewAdmin(address oldAdmin, address newAdmin);
    event NewMarketInterestRateModel(address oldInterestRateModel, address newInterestRateModel);
    event NewReserveFactor(uint256 oldReserveFactorMantissa, uint256 newReserveFactorMantissa);

    error Rejected(string action, uint256 code);
    // Compound's ErrorReporter (TokenErrorReporter) errors for liquidation.
    error LiquidateComptrollerRejection(uint256 errorCode);
    error LiquidateFreshnessCheck();
    error LiquidateCollateralFreshnessCheck();
    error LiquidateLiquidatorIsBorrower();
    error LiquidateCloseAmountIsZero();
    error LiquidateCloseAmountIsUintMax();
    error LiquidateSeizeComptrollerRejection(uint256 errorCode);
    error LiquidateSeizeLiquidatorIsBorrower();

    /// @notice CToken.initialize: the market's first state, once, by its admin (through a delegator: the
    ///         delegator's admin, its deployer at that point). The reserve factor is set afterwards.
    function initializeMarket(
        Comptroller comptroller_,
        JumpRateModelV2 interestRateModel_,
        uint256 initialExchangeRateMantissa_,
        string memory name_,
        string memory symbol_,
        uint8 decimals_
    ) internal {
        require(msg.sender == admin, "only admin may initialize the market");
        require(accrualBlockNumber == 0 && borrowIndex == 0, "market may only be initialized once");
        comptroller = comptroller_;
        interestRateModel = interestRateModel_;
        initialExchangeRateMantissa = initialExchangeRateMantissa_;
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        accrualBlockNumber = block.number;
        borrowIndex = 1e18;
    }

    // ---------------------------------------------------------------- admin (CTokenInterfaces)

    function _setPendingAdmin(address payable newPendingAdmin) external returns (uint256) {
        require(msg.sender == admin, "only the admin");
        emit NewPendingAdmin(pendingAdmin, newPendingAdmin);
        pendingAdmin = newPendingAdmin;
        return 0;
    }

    function _acceptAdmin() external returns (uint256) {
        require(msg.sender == pendingAdmin && msg.sender != address(0), "not the pending admin");
        emit NewAdmin(admin, pendingAdmin);
        emit NewPendingAdmin(pendingAdmin, address(0));
        admin = pendingAdmin;
        pendingAdmin = payable(address(0));
        return 0;
    }

    /// @notice Accrues interest at the old factor first, as CToken._setReserveFactor does (then _setReserveFactorFresh).
    function _setReserveFactor(uint256 newReserveFactorMantissa) external returns (uint256) {
        accrueInterest();
        require(msg.sender == admin, "only the admin");
        require(newReserveFactorMantissa <= reserveFactorMaxMantissa, "reserve factor too high");
        emit NewReserveFactor(reserveFactorMantissa, newReserveFactorMantissa);
        reserveFactorMantissa = newReserveFactorMantissa;
        return 0;
    }

    /// @notice Accrues interest at the old model first, as CToken._setInterestRateModel does.
    function _setInterestRateModel(JumpRateModelV2 newInterestRateModel) external returns (uint256) {
        require(msg.sender == admin, "only the admin");
        accrueInterest();
        emit NewMarketInterestRateModel(address(interestRateModel), address(newInterestRateModel));
        interestRateModel = newInterestRateModel;
        return 0;
    }

    // ---------------------------------------------------------------- ERC-20

    function balanceOf(address owner) external view returns (uint256) {
        return accountTokens[owner];
    }

    function allowance(address owner, address spender) external view returns (uint256) {
        return transferAllowances[owner][spender];
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        transferAllowances[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address dst, uint256 amount) external returns (bool) {
        return transferTokens(msg.sender, msg.sender, dst, amount);
    }

    function transferFrom(address src, address dst, uint256 amount) external returns (bool) {
        return transferTokens(msg.sender, src, dst, amount);
    }

    function transferTokens(address spender, address src, address dst, uint256 tokens) internal returns (bool) {
        uint256 allowed = comptroller.transferAllowed(address(this), src, dst, tokens);
        if (allowed != 0) revert Rejected("transfer", allowed);
        if (spender != src) {
            uint256 startingAllowance = transferAllowances[src][spender];
            if (startingAllowance != type(uint256).max) transferAllowances[src][spender] = startingAllowance - tokens;
        }
        accountTokens[src] -= tokens;
        accountTokens[dst] += tokens;
        emit Transfer(src, dst, tokens);
        return true;
    }

    // ---------------------------------------------------------------- views

    function getCash() public view returns (uint256) {
        return getCashPrior();
    }

    function balanceOfUnderlying(address owner) external returns (uint256) {
        return exchangeRateCurrent() * accountTokens[owner] / 1e18;
    }

    function getAccountSnapshot(address account) external view returns (uint256, uint256, uint256, uint256) {
        return (0, accountTokens[account], borrowBalanceStored(account), exchangeRateStored());
    }

    function borrowRatePerBlock() external view returns (uint256) {
        return interestRateModel.getBorrowRate(getCash(), totalBorrows, totalReserves);
    }

    function supplyRatePerBlock() external view returns (uint256) {
        return interestRateModel.getSupplyRate(getCash(), totalBorrows, totalReserves, reserveFactorMantissa);
    }

    function totalBorrowsCurrent() external returns (uint256) {
        accrueInterest();
        return totalBorrows;
    }

    function borrowBalanceCurrent(address account) external returns (uint256) {
        accrueInterest();
        return borrowBalanceStored(account);
    }

    /// @dev CToken.borrowBalanceStoredInternal: principal * borrowIndex / interestIndex.
    function borrowBalanceStored(address account) public view returns (uint256) {
        BorrowSnapshot storage snapshot = accountBorrows[account];
        if (snapshot.principal == 0) return 0;
        return snapshot.principal * borrowIndex / snapshot.interestIndex;
    }

    function exchangeRateCurrent() public returns (uint256) {
        accrueInterest();
        return exchangeRateStored();
    }

    /// @dev CToken.exchangeRateStoredInternal: (cash + borrows - reserves) * 1e18 / totalSupply.
    function exchangeRateStored() public view returns (uint256) {
        uint256 _totalSupply = totalSupply;
        if (_totalSupply == 0) return initialExchangeRateMantissa;
        uint256 cashPlusBorrowsMinusReserves = getCash() + totalBorrows - totalReserves;
        return cashPlusBorrowsMinusReserves * 1e18 / _totalSupply;
    }

    // ---------------------------------------------------------------- accrual

    /// @dev CToken.accrueInterest: simple interest over the blocks since the last accrual.
    function accrueInterest() public returns (uint256) {
        uint256 currentBlockNumber = block.number;
        uint256 accrualBlockNumberPrior = accrualBlockNumber;
        if (accrualBlockNumberPrior == currentBlockNumber) return 0;

        uint256 cashPrior = getCash();
        uint256 borrowsPrior = totalBorrows;
        uint256 reservesPrior = totalReserves;
        uint256 borrowIndexPrior = borrowIndex;

        uint256 borrowRateMantissa = interestRateModel.getBorrowRate(cashPrior, borrowsPrior, reservesPrior);
        require(borrowRateMantissa <= borrowRateMaxMantissa, "borrow rate is absurdly high");

        uint256 blockDelta = currentBlockNumber - accrualBlockNumberPrior;
        uint256 simpleInterestFactor = borrowRateMantissa * blockDelta;
        uint256 interestAccumulated = simpleInterestFactor * borrowsPrior / 1e18;
        uint256 totalBorrowsNew = interestAccumulated + borrowsPrior;
        uint256 totalReservesNew = reserveFactorMantissa * interestAccumulated / 1e18 + reservesPrior;
        uint256 borrowIndexNew = simpleInterestFactor * borrowIndexPrior / 1e18 + borrowIndexPrior;

        accrualBlockNumber = currentBlockNumber;
        borrowIndex = borrowIndexNew;
        totalBorrows = totalBorrowsNew;
        totalReserves = totalReservesNew;
        emit AccrueInterest(cashPrior, interestAccumulated, borrowIndexNew, totalBorrowsNew);
        return 0;
    }

    // ---------------------------------------------------------------- user actions

    function mintInternal(uint256 mintAmount) internal returns (uint256) {
        accrueInterest();
        uint256 allowed = comptroller.mintAllowed(address(this), msg.sender, mintAmount);
        if (allowed != 0) revert Rejected("mint", allowed);
        uint256 exchangeRate = exchangeRateStored();
        doTransferIn(msg.sender, mintAmount);
        uint256 mintTokens = mintAmount * 1e18 / exchangeRate;
        totalSupply += mintTokens;
        accountTokens[msg.sender] += mintTokens;
        emit Mint(msg.sender, mintAmount, mintTokens);
        emit Transfer(address(this), msg.sender, mintTokens);
        return 0;
    }

    function redeem(uint256 redeemTokens) external returns (uint256) {
        accrueInterest();
        return redeemFresh(payable(msg.sender), redeemTokens, exchangeRateStored() * redeemTokens / 1e18);
    }

    function redeemUnderlying(uint256 redeemAmount) external returns (uint256) {
        accrueInterest();
        return redeemFresh(payable(msg.sender), redeemAmount * 1e18 / exchangeRateStored(), redeemAmount);
    }

    function redeemFresh(address redeemer, uint256 redeemTokens, uint256 redeemAmount) internal returns (uint256) {
        uint256 allowed = comptroller.redeemAllowed(address(this), redeemer, redeemTokens);
        if (allowed != 0) revert Rejected("redeem", allowed);
        require(getCash() >= redeemAmount, "insufficient cash");
        totalSupply -= redeemTokens;
        accountTokens[redeemer] -= redeemTokens;
        doTransferOut(redeemer, redeemAmount);
        emit Transfer(redeemer, address(this), redeemTokens);
        emit Redeem(redeemer, redeemAmount, redeemTokens);
        return 0;
    }

    function borrow(uint256 borrowAmount) external returns (uint256) {
        accrueInterest();
        uint256 allowed = comptroller.borrowAllowed(address(this), msg.sender, borrowAmount);
        if (allowed != 0) revert Rejected("borrow", allowed);
        require(getCash() >= borrowAmount, "insufficient cash");
        uint256 accountBorrowsNew = borrowBalanceStored(msg.sender) + borrowAmount;
        uint256 totalBorrowsNew = totalBorrows + borrowAmount;
        accountBorrows[msg.sender].principal = accountBorrowsNew;
        accountBorrows[msg.sender].interestIndex = borrowIndex;
        totalBorrows = totalBorrowsNew;
        doTransferOut(msg.sender, borrowAmount);
        emit Borrow(msg.sender, borrowAmount, accountBorrowsNew, totalBorrowsNew);
        return 0;
    }

    function repayBorrowInternal(address borrower, uint256 repayAmount) internal returns (uint256) {
        accrueInterest();
        repayBorrowFresh(msg.sender, borrower, repayAmount);
        return 0;
    }

    /// @dev Returns the amount actually repaid (uint max repays the whole borrow), as CToken.repayBorrowFresh.
    function repayBorrowFresh(address payer, address borrower, uint256 repayAmount) internal returns (uint256) {
        uint256 allowed = comptroller.repayBorrowAllowed(address(this), payer, borrower, repayAmount);
        if (allowed != 0) revert Rejected("repay", allowed);
        uint256 accountBorrowsPrev = borrowBalanceStored(borrower);
        uint256 repayAmountFinal = repayAmount == type(uint256).max ? accountBorrowsPrev : repayAmount;
        doTransferIn(payer, repayAmountFinal);
        uint256 accountBorrowsNew = accountBorrowsPrev - repayAmountFinal;
        uint256 totalBorrowsNew = totalBorrows - repayAmountFinal;
        accountBorrows[borrower].principal = accountBorrowsNew;
        accountBorrows[borrower].interestIndex = borrowIndex;
        totalBorrows = totalBorrowsNew;
        emit RepayBorrow(payer, borrower, repayAmountFinal, accountBorrowsNew, totalBorrowsNew);
        return repayAmountFinal;
    }

    // ---------------------------------------------------------------- liquidation (CToken.sol)

    /// @notice The liquidator repays `repayAmount` of the borrower's debt in this market and seizes
    ///         `cTokenCollateral` from it: Comptroller.liquidateCalculateSeizeTokens of the amount repaid.
    function liquidateBorrowInternal(address borrower, uint256 repayAmount, CToken cTokenCollateral)
        internal
        returns (uint256)
    {
        accrueInterest();
        cTokenCollateral.accrueInterest();
        liquidateBorrowFresh(msg.sender, borrower, repayAmount, cTokenCollateral);
        return 0;
    }

    function liquidateBorrowFresh(address liquidator, address borrower, uint256 repayAmount, CToken cTokenCollateral)
        internal
    {
        uint256 allowed = comptroller.liquidateBorrowAllowed(
            address(this), address(cTokenCollateral), liquidator, borrower, repayAmount
        );
        if (allowed != 0) revert LiquidateComptrollerRejection(allowed);
        if (accrualBlockNumber != block.number) revert LiquidateFreshnessCheck();
        if (cTokenCollateral.accrualBlockNumber() != block.number) revert LiquidateCollateralFreshnessCheck();
        if (borrower == liquidator) revert LiquidateLiquidatorIsBorrower();
        if (repayAmount == 0) revert LiquidateCloseAmountIsZero();
        if (repayAmount == type(uint256).max) revert LiquidateCloseAmountIsUintMax();

        uint256 actualRepayAmount = repayBorrowFresh(liquidator, borrower, repayAmount);
        (uint256 amountSeizeError, uint256 seizeTokens) = comptroller.liquidateCalculateSeizeTokens(
            address(this), address(cTokenCollateral), actualRepayAmount
        );
        require(amountSeizeError == 0, "LIQUIDATE_COMPTROLLER_CALCULATE_AMOUNT_SEIZE_FAILED");
        require(cTokenCollateral.balanceOf(borrower) >= seizeTokens, "LIQUIDATE_SEIZE_TOO_MUCH");
        if (address(cTokenCollateral) == address(this)) {
            seizeInternal(address(this), liquidator, borrower, seizeTokens);
        } else {
            require(cTokenCollateral.seize(liquidator, borrower, seizeTokens) == 0, "token seizure failed");
        }
        emit LiquidateBorrow(liquidator, borrower, actualRepayAmount, address(cTokenCollateral), seizeTokens);
    }

    /// @notice Called by the borrowed market's cToken during a liquidation.
    function seize(address liquidator, address borrower, uint256 seizeTokens) external returns (uint256) {
        seizeInternal(msg.sender, liquidator, borrower, seizeTokens);
        return 0;
    }

    /// @dev CToken.seizeInternal: protocolSeizeShare of the seized cTokens is burnt into reserves
    ///      (at the stored exchange rate), the rest goes to the liquidator.
    function seizeInternal(address seizerToken, address liquidator, address borrower, uint256 seizeTokens) internal {
        uint256 allowed = comptroller.seizeAllowed(address(this), seizerToken, liquidator, borrower, seizeTokens);
        if (allowed != 0) revert LiquidateSeizeComptrollerRejection(allowed);
        if (borrower == liquidator) revert LiquidateSeizeLiquidatorIsBorrower();
        uint256 protocolSeizeTokens = seizeTokens * protocolSeizeShareMantissa / 1e18;
        uint256 liquidatorSeizeTokens = seizeTokens - protocolSeizeTokens;
        uint256 protocolSeizeAmount = exchangeRateStored() * protocolSeizeTokens / 1e18;
        uint256 totalReservesNew = totalReserves + protocolSeizeAmount;
        totalReserves = totalReservesNew;
        totalSupply = totalSupply - protocolSeizeTokens;
        accountTokens[borrower] = accountTokens[borrower] - seizeTokens;
        accountTokens[liquidator] = accountTokens[liquidator] + liquidatorSeizeTokens;
        emit Transfer(borrower, liquidator, liquidatorSeizeTokens);
        emit Transfer(borrower, address(this), protocolSeizeTokens);
        emit ReservesAdded(address(this), protocolSeizeAmount, totalReservesNew);
    }

    /// @dev Cash before the current call's own transfer in (CEther: the ETH sent with it is not yet cash).
    function getCashPrior() internal view virtual returns (uint256);

    function doTransferIn(address from, uint256 amount) internal virtual;

    function doTransferOut(address to, uint256 amount) internal virtual;
}

/// @notice CErc20: a market of an ERC-20 underlying. As on mainnet it runs behind a CErc20Delegator, as its
///         CErc20Delegate, and is set up by `initialize` through the delegator.
contract CErc20 is CErc20Storage, CToken {
    function initialize(
        address underlying_,
        Comptroller comptroller_,
        JumpRateModelV2 interestRateModel_,
        uint256 initialExchangeRateMantissa_,
        string memory name_,
        string memory symbol_,
        uint8 decimals_
    ) public {
        initializeMarket(comptroller_, interestRateModel_, initialExchangeRateMantissa_, name_, symbol_, decimals_);
        underlying = underlying_;
        IERC20(underlying_).totalSupply(); // CErc20.initialize: a sanity check that it is a token
    }

    function mint(uint256 mintAmount) external returns (uint256) {
        return mintInternal(mintAmount);
    }

    function repayBorrow(uint256 repayAmount) external returns (uint256) {
        return repayBorrowInternal(msg.sender, repayAmount);
    }

    function repayBorrowBehalf(address borrower, uint256 repayAmount) external returns (uint256) {
        return repayBorrowInternal(borrower, repayAmount);
    }

    function liquidateBorrow(address borrower, uint256 repayAmount, CToken cTokenCollateral) external returns (uint256) {
        return liquidateBorrowInternal(borrower, repayAmount, cTokenCollateral);
    }

    function getCashPrior() internal view override returns (uint256) {
        return IERC20(underlying).balanceOf(address(this));
    }

    function doTransferIn(address from, uint256 amount) internal override {
        require(IERC20(underlying).transferFrom(from, address(this), amount), "transfer in failed");
    }

    function doTransferOut(address to, uint256 amount) internal override {
        require(IERC20(underlying).transfer(to, amount), "transfer out failed");
    }
}

/// @notice CEther: mainnet's cETH, a market of native ETH. No underlying(); mint, repayBorrow,
///         repayBorrowBehalf and liquidateBorrow take the ETH sent with them (and revert otherwise, as
///         CEther's requireNoError does); plain ETH sent to it mints.
contract CEther is CToken {
    constructor(
        Comptroller comptroller_,
        JumpRateModelV2 interestRateModel_,
        uint256 initialExchangeRateMantissa_,
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        uint256 reserveFactorMantissa_
    ) {
        admin = msg.sender;
        initializeMarket(comptroller_, interestRateModel_, initialExchangeRateMantissa_, name_, symbol_, decimals_);
        require(reserveFactorMantissa_ <= reserveFactorMaxMantissa, "reserve factor too high");
        reserveFactorMantissa = reserveFactorMantissa_;
    }

    function mint() external payable {
        mintInternal(msg.value);
    }

    function repayBorrow() external payable {
        repayBorrowInternal(msg.sender, msg.value);
    }

    function repayBorrowBehalf(address borrower) external payable {
        repayBorrowInternal(borrower, msg.value);
    }

    function liquidateBorrow(address borrower, CToken cTokenCollateral) external payable {
        liquidateBorrowInternal(borrower, msg.value, cTokenCollateral);
    }

    receive() external payable {
        mintInternal(msg.value);
    }

    function getCashPrior() internal view override returns (uint256) {
        return address(this).balance - msg.value;
    }

    function doTransferIn(address from, uint256 amount) internal override {
        require(msg.sender == from, "sender mismatch");
        require(msg.value == amount, "value mismatch");
    }

    function doTransferOut(address to, uint256 amount) internal override {
        (bool ok,) = payable(to).call{value: amount}("");
        require(ok, "ETH transfer failed");
    }
}

/// @notice CErc20Delegate: the implementation a CErc20Delegator delegates to (CErc20 code, the delegator's state).
contract CErc20Delegate is CErc20, CDelegationStorage {
    /// @notice Called by the delegator (delegated) when it takes this implementation; the admin only.
    function _becomeImplementation(bytes memory data) public virtual {
        data; // unused, as in CErc20Delegate
        require(msg.sender == admin, "only the admin may call _becomeImplementation");
    }

    /// @notice Called by the delegator (delegated) when it leaves this implementation; the admin only.
    function _resignImplementation() public virtual {
        require(msg.sender == admin, "only the admin may call _resignImplementation");
    }
}

/// @notice CErc20Delegator (compound-protocol's CErc20Delegator.sol): mainnet's cDAI, cUSDC, cUSDT ... are these.
///         It keeps the market's state and delegates every call to its `implementation`, which only its `admin`
///         changes (`_setImplementation`, emitting NewImplementation). Mainnet's delegator forwards each function
///         by name; here the fallback forwards them all, with the same effect.
contract CErc20Delegator is CErc20Storage, CDelegationStorage {
    event NewImplementation(address oldImplementation, address newImplementation);

    constructor(
        address underlying_,
        Comptroller comptroller_,
        JumpRateModelV2 interestRateModel_,
        uint256 initialExchangeRateMantissa_,
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        address payable admin_,
        address implementation_,
        bytes memory becomeImplementationData
    ) {
        admin = payable(msg.sender); // the creator initializes, then hands over
        _delegateTo(
            implementation_,
            abi.encodeCall(
                CErc20.initialize,
                (underlying_, comptroller_, interestRateModel_, initialExchangeRateMantissa_, name_, symbol_, decimals_)
            )
        );
        _setImplementation(implementation_, false, becomeImplementationData);
        admin = admin_;
    }

    function _setImplementation(address implementation_, bool allowResign, bytes memory becomeImplementationData)
        public
    {
        require(msg.sender == admin, "CErc20Delegator::_setImplementation: Caller must be admin");
        if (allowResign) {
            _delegateTo(implementation, abi.encodeCall(CErc20Delegate._resignImplementation, ()));
        }
        address oldImplementation = implementation;
        implementation = implementation_;
        _delegateTo(implementation, abi.encodeCall(CErc20Delegate._becomeImplementation, (becomeImplementationData)));
        emit NewImplementation(oldImplementation, implementation);
    }

    function _delegateTo(address callee, bytes memory data) internal returns (bytes memory) {
        (bool success, bytes memory returnData) = callee.delegatecall(data);
        if (!success) {
            assembly {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
        return returnData;
    }

    /// @dev Delegates every other call to the implementation, returning or reverting with what it returned.
    fallback() external payable {
        require(msg.value == 0, "CErc20Delegator:fallback: cannot send value to fallback");
        address target = implementation;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let success := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch success
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
