// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// An ABI- and math-compatible stand-in for Compound III's Comet (compound-finance/comet, Comet.sol and
/// CometCore.sol): same names, scales (FACTOR_SCALE 1e18, BASE_INDEX_SCALE 1e15, 8-decimal prices),
/// per-second kinked rates, principal/present-value rounding, and liquidation (absorb, buyCollateral with
/// the storefront price factor, quoteCollateral, getReserves). As on mainnet, the market totals and indices
/// are internal storage read through CometExt's totalsBasic(), and the curve, scale and storefront getters
/// return uint256 (Comet declares them `uint public immutable`). Left out: rewards tracking, liquidator
/// points, pause flags, the assetsIn bitmap (a zero balance is skipped instead: same figures) and the
/// configurator (parameters are constructor arguments). As on mainnet, a Comet is an implementation behind a
/// TransparentUpgradeableProxy whose storage `initializeStorage` sets up.

interface CometPriceFeed {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
}

contract Comet {
    struct AssetConfig {
        address asset;
        address priceFeed;
        uint8 decimals;
        uint64 borrowCollateralFactor;
        uint64 liquidateCollateralFactor;
        uint64 liquidationFactor;
        uint128 supplyCap;
    }

    struct AssetInfo {
        uint8 offset;
        address asset;
        address priceFeed;
        uint64 scale;
        uint64 borrowCollateralFactor;
        uint64 liquidateCollateralFactor;
        uint64 liquidationFactor;
        uint128 supplyCap;
    }

    struct RateConfig {
        uint64 supplyKink;
        uint64 supplyPerYearInterestRateSlopeLow;
        uint64 supplyPerYearInterestRateSlopeHigh;
        uint64 supplyPerYearInterestRateBase;
        uint64 borrowKink;
        uint64 borrowPerYearInterestRateSlopeLow;
        uint64 borrowPerYearInterestRateSlopeHigh;
        uint64 borrowPerYearInterestRateBase;
    }

    /// CometStorage's TotalsBasic, as CometExt.totalsBasic() returns it.
    struct TotalsBasic {
        uint64 baseSupplyIndex;
        uint64 baseBorrowIndex;
        uint64 trackingSupplyIndex;
        uint64 trackingBorrowIndex;
        uint104 totalSupplyBase;
        uint104 totalBorrowBase;
        uint40 lastAccrualTime;
        uint8 pauseFlags;
    }

    struct TotalsCollateral {
        uint128 totalSupplyAsset;
        uint128 _reserved;
    }

    struct UserBasic {
        int104 principal;
        uint64 baseTrackingIndex;
        uint64 baseTrackingAccrued;
        uint16 assetsIn;
        uint8 _reserved;
    }

    struct UserCollateral {
        uint128 balance;
        uint128 _reserved;
    }

    error BorrowTooSmall();
    error NotCollateralized();
    error BadAsset();
    error BadPrice();
    error TransferInFailed();
    error TransferOutFailed();
    error SupplyCapExceeded();
    error InsufficientReserves();
    error NotLiquidatable();
    error NotForSale();
    error AlreadyInitialized();
    error TooMuchSlippage();

    event Supply(address indexed from, address indexed dst, uint256 amount);
    event Withdraw(address indexed src, address indexed to, uint256 amount);
    event SupplyCollateral(address indexed from, address indexed dst, address indexed asset, uint256 amount);
    event WithdrawCollateral(address indexed src, address indexed to, address indexed asset, uint256 amount);
    event Transfer(address indexed from, address indexed to, uint256 amount);
    event AbsorbDebt(address indexed absorber, address indexed borrower, uint256 basePaidOut, uint256 usdValue);
    event AbsorbCollateral(
        address indexed absorber, address indexed borrower, address indexed asset, uint256 collateralAbsorbed,
        uint256 usdValue
    );
    event BuyCollateral(address indexed buyer, address indexed asset, uint256 baseAmount, uint256 collateralAmount);

    uint64 internal constant FACTOR_SCALE = 1e18;
    uint64 internal constant BASE_INDEX_SCALE = 1e15;
    uint64 internal constant PRICE_SCALE = 1e8;
    uint256 internal constant SECONDS_PER_YEAR = 31_536_000;

    /// @notice Comet's governor (mainnet: the Compound Timelock) and pause guardian (mainnet: the Compound pause
    ///         guardian multisig), immutables of the implementation as in Comet's Configuration; a new governor or
    ///         guardian takes a new implementation.
    address public immutable governor;
    address public immutable pauseGuardian;
    address public immutable baseToken;
    address public immutable baseTokenPriceFeed;
    uint8 public immutable decimals;
    uint256 public immutable baseScale;
    uint256 public immutable baseBorrowMin;
    uint256 public immutable storeFrontPriceFactor;
    uint256 public immutable targetReserves;
    uint256 public immutable supplyKink;
    uint256 public immutable supplyPerSecondInterestRateSlopeLow;
    uint256 public immutable supplyPerSecondInterestRateSlopeHigh;
    uint256 public immutable supplyPerSecondInterestRateBase;
    uint256 public immutable borrowKink;
    uint256 public immutable borrowPerSecondInterestRateSlopeLow;
    uint256 public immutable borrowPerSecondInterestRateSlopeHigh;
    uint256 public immutable borrowPerSecondInterestRateBase;
    /// @dev The implementation itself, whose storage holds the asset list the proxy copies.
    Comet internal immutable configuration;

    // CometStorage: internal, read through totalsBasic() (the tracking indices stay 0: no rewards here).
    uint64 internal baseSupplyIndex;
    uint64 internal baseBorrowIndex;
    uint64 internal trackingSupplyIndex;
    uint64 internal trackingBorrowIndex;
    uint104 internal totalSupplyBase;
    uint104 internal totalBorrowBase;
    uint40 internal lastAccrualTime;
    uint8 internal pauseFlags;

    AssetInfo[] internal assets;
    mapping(address => TotalsCollateral) public totalsCollateral;
    mapping(address => UserBasic) public userBasic;
    mapping(address => mapping(address => UserCollateral)) public userCollateral;

    constructor(
        address governor_,
        address pauseGuardian_,
        address baseToken_,
        address baseTokenPriceFeed_,
        uint8 decimals_,
        uint256 baseBorrowMin_,
        uint256 storeFrontPriceFactor_,
        uint256 targetReserves_,
        RateConfig memory rates,
        AssetConfig[] memory configs
    ) {
        governor = governor_;
        pauseGuardian = pauseGuardian_;
        baseToken = baseToken_;
        baseTokenPriceFeed = baseTokenPriceFeed_;
        decimals = decimals_;
        baseScale = 10 ** decimals_;
        baseBorrowMin = baseBorrowMin_;
        storeFrontPriceFactor = storeFrontPriceFactor_;
        targetReserves = targetReserves_;
        supplyKink = rates.supplyKink;
        supplyPerSecondInterestRateSlopeLow = rates.supplyPerYearInterestRateSlopeLow / SECONDS_PER_YEAR;
        supplyPerSecondInterestRateSlopeHigh = rates.supplyPerYearInterestRateSlopeHigh / SECONDS_PER_YEAR;
        supplyPerSecondInterestRateBase = rates.supplyPerYearInterestRateBase / SECONDS_PER_YEAR;
        borrowKink = rates.borrowKink;
        borrowPerSecondInterestRateSlopeLow = rates.borrowPerYearInterestRateSlopeLow / SECONDS_PER_YEAR;
        borrowPerSecondInterestRateSlopeHigh = rates.borrowPerYearInterestRateSlopeHigh / SECONDS_PER_YEAR;
        borrowPerSecondInterestRateBase = rates.borrowPerYearInterestRateBase / SECONDS_PER_YEAR;
        // The implementation keeps its asset list (mainnet: packed immutables) in its own storage; the proxy copies
        // it in initializeStorage.
        for (uint8 i = 0; i < configs.length; i++) {
            AssetConfig memory c = configs[i];
            assets.push(
                AssetInfo(i, c.asset, c.priceFeed, uint64(10 ** c.decimals), c.borrowCollateralFactor,
                    c.liquidateCollateralFactor, c.liquidationFactor, c.supplyCap)
            );
        }
        configuration = this;
    }

    /// @notice Comet.initializeStorage: called once through the proxy after its first implementation is set.
    function initializeStorage() external {
        if (lastAccrualTime != 0) revert AlreadyInitialized();
        lastAccrualTime = uint40(block.timestamp);
        baseSupplyIndex = BASE_INDEX_SCALE;
        baseBorrowIndex = BASE_INDEX_SCALE;
        if (assets.length == 0) {
            uint8 count = configuration.numAssets();
            for (uint8 i = 0; i < count; i++) {
                assets.push(configuration.getAssetInfo(i));
            }
        }
    }

    // ---------------------------------------------------------------- CometExt

    function totalsBasic() external view returns (TotalsBasic memory) {
        return TotalsBasic(
            baseSupplyIndex, baseBorrowIndex, trackingSupplyIndex, trackingBorrowIndex, totalSupplyBase,
            totalBorrowBase, lastAccrualTime, pauseFlags
        );
    }

    // ---------------------------------------------------------------- asset info

    function numAssets() external view returns (uint8) {
        return uint8(assets.length);
    }

    function getAssetInfo(uint8 i) public view returns (AssetInfo memory) {
        if (i >= assets.length) revert BadAsset();
        return assets[i];
    }

    function getAssetInfoByAddress(address asset) public view returns (AssetInfo memory) {
        for (uint8 i = 0; i < assets.length; i++) {
            if (assets[i].asset == asset) return assets[i];
        }
        revert BadAsset();
    }

    function getPrice(address priceFeed) public view returns (uint256) {
        (, int256 price,,,) = CometPriceFeed(priceFeed).latestRoundData();
        if (price <= 0) revert BadPrice();
        return uint256(price);
    }

    // ---------------------------------------------------------------- rates (CometCore/Comet)

    function getUtilization() public view returns (uint256) {
        uint256 totalSupply_ = presentValueSupply(baseSupplyIndex, totalSupplyBase);
        uint256 totalBorrow_ = presentValueBorrow(baseBorrowIndex, totalBorrowBase);
        if (totalSupply_ == 0) return 0;
        return totalBorrow_ * FACTOR_SCALE / totalSupply_;
    }

    function getSupplyRate(uint256 utilization) public view returns (uint64) {
        if (utilization <= supplyKink) {
            return uint64(supplyPerSecondInterestRateBase + mulFactor(supplyPerSecondInterestRateSlopeLow, utilization));
        }
        return uint64(
            supplyPerSecondInterestRateBase + mulFactor(supplyPerSecondInterestRateSlopeLow, supplyKink)
                + mulFactor(supplyPerSecondInterestRateSlopeHigh, utilization - supplyKink)
        );
    }

    function getBorrowRate(uint256 utilization) public view returns (uint64) {
        if (utilization <= borrowKink) {
            return uint64(borrowPerSecondInterestRateBase + mulFactor(borrowPerSecondInterestRateSlopeLow, utilization));
        }
        return uint64(
            borrowPerSecondInterestRateBase + mulFactor(borrowPerSecondInterestRateSlopeLow, borrowKink)
                + mulFactor(borrowPerSecondInterestRateSlopeHigh, utilization - borrowKink)
        );
    }

    function accruedInterestIndices(uint256 timeElapsed) internal view returns (uint64, uint64) {
        uint64 baseSupplyIndex_ = baseSupplyIndex;
        uint64 baseBorrowIndex_ = baseBorrowIndex;
        if (timeElapsed > 0) {
            uint256 utilization = getUtilization();
            uint256 supplyRate = getSupplyRate(utilization);
            uint256 borrowRate = getBorrowRate(utilization);
            baseSupplyIndex_ += uint64(mulFactor(baseSupplyIndex_, supplyRate * timeElapsed));
            baseBorrowIndex_ += uint64(mulFactor(baseBorrowIndex_, borrowRate * timeElapsed));
        }
        return (baseSupplyIndex_, baseBorrowIndex_);
    }

    function accrueAccount(address) external {
        accrueInternal();
    }

    function accrueInternal() internal {
        uint40 now_ = uint40(block.timestamp);
        uint256 timeElapsed = uint256(now_ - lastAccrualTime);
        if (timeElapsed > 0) {
            (baseSupplyIndex, baseBorrowIndex) = accruedInterestIndices(timeElapsed);
            lastAccrualTime = now_;
        }
    }

    // ---------------------------------------------------------------- totals and balances

    function totalSupply() external view returns (uint256) {
        (uint64 baseSupplyIndex_,) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        return presentValueSupply(baseSupplyIndex_, totalSupplyBase);
    }

    function totalBorrow() external view returns (uint256) {
        (, uint64 baseBorrowIndex_) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        return presentValueBorrow(baseBorrowIndex_, totalBorrowBase);
    }

    function balanceOf(address account) external view returns (uint256) {
        (uint64 baseSupplyIndex_,) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        int104 principal = userBasic[account].principal;
        return principal > 0 ? presentValueSupply(baseSupplyIndex_, uint104(principal)) : 0;
    }

    function borrowBalanceOf(address account) external view returns (uint256) {
        (, uint64 baseBorrowIndex_) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        int104 principal = userBasic[account].principal;
        return principal < 0 ? presentValueBorrow(baseBorrowIndex_, uint104(-principal)) : 0;
    }

    function collateralBalanceOf(address account, address asset) external view returns (uint128) {
        return userCollateral[account][asset].balance;
    }

    // ---------------------------------------------------------------- collateralization

    function isBorrowCollateralized(address account) public view returns (bool) {
        return liquidity(account, false) >= 0;
    }

    function isLiquidatable(address account) public view returns (bool) {
        return liquidity(account, true) < 0;
    }

    /// @dev Comet.isBorrowCollateralized / isLiquidatable: stored indices, prices in 8 decimals,
    ///      each collateral's value times its factor, truncating per asset.
    function liquidity(address account, bool liquidate) internal view returns (int256) {
        int104 principal = userBasic[account].principal;
        if (principal >= 0) return liquidate ? int256(0) : int256(1);
        int256 liq = signedMulPrice(presentValue(principal), getPrice(baseTokenPriceFeed), baseScale);
        for (uint8 i = 0; i < assets.length; i++) {
            AssetInfo memory a = assets[i];
            uint128 balance = userCollateral[account][a.asset].balance;
            if (balance == 0) continue;
            uint256 value = mulPrice(balance, getPrice(a.priceFeed), a.scale);
            uint64 factor = liquidate ? a.liquidateCollateralFactor : a.borrowCollateralFactor;
            liq += int256(mulFactor(value, factor));
        }
        return liq;
    }

    // ---------------------------------------------------------------- supply / withdraw

    function supply(address asset, uint256 amount) external {
        accrueInternal();
        if (asset == baseToken) {
            doTransferIn(asset, msg.sender, amount);
            int104 dstPrincipal = userBasic[msg.sender].principal;
            int256 dstBalance = presentValue(dstPrincipal) + int256(amount);
            int104 dstPrincipalNew = principalValue(dstBalance);
            (uint104 repayAmount, uint104 supplyAmount) = repayAndSupplyAmount(dstPrincipal, dstPrincipalNew);
            totalSupplyBase += supplyAmount;
            totalBorrowBase -= repayAmount;
            userBasic[msg.sender].principal = dstPrincipalNew;
            emit Supply(msg.sender, msg.sender, amount);
        } else {
            AssetInfo memory a = getAssetInfoByAddress(asset);
            doTransferIn(asset, msg.sender, amount);
            uint128 total = totalsCollateral[asset].totalSupplyAsset + uint128(amount);
            if (total > a.supplyCap) revert SupplyCapExceeded();
            totalsCollateral[asset].totalSupplyAsset = total;
            userCollateral[msg.sender][asset].balance += uint128(amount);
            emit SupplyCollateral(msg.sender, msg.sender, asset, amount);
        }
    }

    function withdraw(address asset, uint256 amount) external {
        accrueInternal();
        if (asset == baseToken) {
            int104 srcPrincipal = userBasic[msg.sender].principal;
            int256 srcBalance = presentValue(srcPrincipal) - int256(amount);
            int104 srcPrincipalNew = principalValue(srcBalance);
            (uint104 withdrawAmount, uint104 borrowAmount) = withdrawAndBorrowAmount(srcPrincipal, srcPrincipalNew);
            totalSupplyBase -= withdrawAmount;
            totalBorrowBase += borrowAmount;
            userBasic[msg.sender].principal = srcPrincipalNew;
            if (srcBalance < 0) {
                if (uint256(-srcBalance) < baseBorrowMin) revert BorrowTooSmall();
                if (!isBorrowCollateralized(msg.sender)) revert NotCollateralized();
            }
            doTransferOut(asset, msg.sender, amount);
            emit Withdraw(msg.sender, msg.sender, amount);
        } else {
            totalsCollateral[asset].totalSupplyAsset -= uint128(amount);
            userCollateral[msg.sender][asset].balance -= uint128(amount);
            if (!isBorrowCollateralized(msg.sender)) revert NotCollateralized();
            doTransferOut(asset, msg.sender, amount);
            emit WithdrawCollateral(msg.sender, msg.sender, asset, amount);
        }
    }

    // ---------------------------------------------------------------- liquidation (Comet.sol)

    /// @notice Absorb each liquidatable account: the protocol takes all its collateral, credits its base
    ///         balance with the collateral's value times liquidationFactor, and the reserves pay the rest.
    function absorb(address absorber, address[] calldata accounts) external {
        accrueInternal();
        for (uint256 i = 0; i < accounts.length; i++) {
            absorbInternal(absorber, accounts[i]);
        }
    }

    function absorbInternal(address absorber, address account) internal {
        if (!isLiquidatable(account)) revert NotLiquidatable();
        int104 oldPrincipal = userBasic[account].principal;
        int256 oldBalance = presentValue(oldPrincipal);
        uint256 basePrice = getPrice(baseTokenPriceFeed);
        uint256 deltaValue = 0;
        for (uint8 i = 0; i < assets.length; i++) {
            AssetInfo memory assetInfo = assets[i];
            address asset = assetInfo.asset;
            uint128 seizeAmount = userCollateral[account][asset].balance;
            if (seizeAmount == 0) continue;
            userCollateral[account][asset].balance = 0;
            totalsCollateral[asset].totalSupplyAsset -= seizeAmount;
            uint256 value = mulPrice(seizeAmount, getPrice(assetInfo.priceFeed), assetInfo.scale);
            deltaValue += mulFactor(value, assetInfo.liquidationFactor);
            emit AbsorbCollateral(absorber, account, asset, seizeAmount, value);
        }
        uint256 deltaBalance = divPrice(deltaValue, basePrice, baseScale);
        int256 newBalance = oldBalance + int256(deltaBalance);
        // The new balance is never negative: the reserves absorb any excess debt.
        if (newBalance < 0) newBalance = 0;
        int104 newPrincipal = principalValue(newBalance);
        userBasic[account].principal = newPrincipal;
        (uint104 repayAmount, uint104 supplyAmount) = repayAndSupplyAmount(oldPrincipal, newPrincipal);
        // Reserves fall by the supply added and the borrows removed: newBalance - oldBalance.
        totalSupplyBase += supplyAmount;
        totalBorrowBase -= repayAmount;
        uint256 basePaidOut = uint256(newBalance - oldBalance);
        emit AbsorbDebt(absorber, account, basePaidOut, mulPrice(basePaidOut, basePrice, baseScale));
        if (newPrincipal > 0) {
            emit Transfer(address(0), account, presentValueSupply(baseSupplyIndex, uint104(newPrincipal)));
        }
    }

    /// @notice Buy absorbed collateral with base at the storefront discount, while reserves are under target.
    function buyCollateral(address asset, uint256 minAmount, uint256 baseAmount, address recipient) external {
        int256 reserves = getReserves();
        if (reserves >= 0 && uint256(reserves) >= targetReserves) revert NotForSale();
        doTransferIn(baseToken, msg.sender, baseAmount);
        uint256 collateralAmount = quoteCollateral(asset, baseAmount);
        if (collateralAmount < minAmount) revert TooMuchSlippage();
        if (collateralAmount > getCollateralReserves(asset)) revert InsufficientReserves();
        doTransferOut(asset, recipient, collateralAmount);
        emit BuyCollateral(msg.sender, asset, baseAmount, collateralAmount);
    }

    /// @notice Collateral for `baseAmount` of base: the asset's price discounted by
    ///         storeFrontPriceFactor * (1 - liquidationFactor).
    function quoteCollateral(address asset, uint256 baseAmount) public view returns (uint256) {
        AssetInfo memory assetInfo = getAssetInfoByAddress(asset);
        uint256 assetPrice = getPrice(assetInfo.priceFeed);
        uint256 discountFactor = mulFactor(storeFrontPriceFactor, FACTOR_SCALE - assetInfo.liquidationFactor);
        uint256 assetPriceDiscounted = mulFactor(assetPrice, FACTOR_SCALE - discountFactor);
        uint256 basePrice = getPrice(baseTokenPriceFeed);
        return basePrice * baseAmount * assetInfo.scale / assetPriceDiscounted / baseScale;
    }

    /// @notice Base held beyond what suppliers are owed net of borrows (accrued to now); may be negative.
    function getReserves() public view returns (int256) {
        (uint64 baseSupplyIndex_, uint64 baseBorrowIndex_) = accruedInterestIndices(block.timestamp - lastAccrualTime);
        uint256 balance = IERC20(baseToken).balanceOf(address(this));
        uint256 totalSupply_ = presentValueSupply(baseSupplyIndex_, totalSupplyBase);
        uint256 totalBorrow_ = presentValueBorrow(baseBorrowIndex_, totalBorrowBase);
        return int256(balance) - int256(totalSupply_) + int256(totalBorrow_);
    }

    function getCollateralReserves(address asset) public view returns (uint256) {
        return IERC20(asset).balanceOf(address(this)) - totalsCollateral[asset].totalSupplyAsset;
    }

    // ---------------------------------------------------------------- CometCore math

    function presentValue(int104 principalValue_) internal view returns (int256) {
        if (principalValue_ >= 0) return int256(presentValueSupply(baseSupplyIndex, uint104(principalValue_)));
        return -int256(presentValueBorrow(baseBorrowIndex, uint104(-principalValue_)));
    }

    function presentValueSupply(uint64 baseSupplyIndex_, uint104 principalValue_) internal pure returns (uint256) {
        return uint256(principalValue_) * baseSupplyIndex_ / BASE_INDEX_SCALE;
    }

    function presentValueBorrow(uint64 baseBorrowIndex_, uint104 principalValue_) internal pure returns (uint256) {
        return uint256(principalValue_) * baseBorrowIndex_ / BASE_INDEX_SCALE;
    }

    function principalValue(int256 presentValue_) internal view returns (int104) {
        if (presentValue_ >= 0) return int104(principalValueSupply(baseSupplyIndex, uint256(presentValue_)));
        return -int104(principalValueBorrow(baseBorrowIndex, uint256(-presentValue_)));
    }

    function principalValueSupply(uint64 baseSupplyIndex_, uint256 presentValue_) internal pure returns (uint104) {
        return uint104((presentValue_ * BASE_INDEX_SCALE) / baseSupplyIndex_);
    }

    function principalValueBorrow(uint64 baseBorrowIndex_, uint256 presentValue_) internal pure returns (uint104) {
        return uint104((presentValue_ * BASE_INDEX_SCALE + baseBorrowIndex_ - 1) / baseBorrowIndex_);
    }

    function repayAndSupplyAmount(int104 oldPrincipal, int104 newPrincipal) internal pure returns (uint104, uint104) {
        if (newPrincipal < oldPrincipal) return (0, 0);
        if (newPrincipal <= 0) return (uint104(newPrincipal - oldPrincipal), 0);
        if (oldPrincipal >= 0) return (0, uint104(newPrincipal - oldPrincipal));
        return (uint104(-oldPrincipal), uint104(newPrincipal));
    }

    function withdrawAndBorrowAmount(int104 oldPrincipal, int104 newPrincipal) internal pure returns (uint104, uint104) {
        if (newPrincipal > oldPrincipal) return (0, 0);
        if (newPrincipal >= 0) return (uint104(oldPrincipal - newPrincipal), 0);
        if (oldPrincipal <= 0) return (0, uint104(oldPrincipal - newPrincipal));
        return (uint104(oldPrincipal), uint104(-newPrincipal));
    }

    function mulFactor(uint256 n, uint256 factor) internal pure returns (uint256) {
        return n * factor / FACTOR_SCALE;
    }

    function mulPrice(uint256 n, uint256 price, uint256 fromScale) internal pure returns (uint256) {
        return n * price / fromScale;
    }

    function divPrice(uint256 n, uint256 price, uint256 toScale) internal pure returns (uint256) {
        return n * toScale / price;
    }

    function signedMulPrice(int256 n, uint256 price, uint256 fromScale) internal pure returns (int256) {
        return n * int256(price) / int256(fromScale);
    }

    function doTransferIn(address asset, address from, uint256 amount) internal {
        if (!IERC20(asset).transferFrom(from, address(this), amount)) revert TransferInFailed();
    }

    function doTransferOut(address asset, address to, uint256 amount) internal {
        if (!IERC20(asset).transfer(to, amount)) revert TransferOutFailed();
    }
}
