"""The mainnet address registry: real token, feed and protocol addresses (public facts).

Heartbeats are the feeds' documented maximum update intervals; a price older than its heartbeat is stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from defiscope.deployments import Deployment, FeedInfo, TokenInfo, TreasurySpec, UnknownName
from defiscope.deployments.aave_v3_registry import AAVE_V3_CHAINS, aave_v3_contracts, aave_v3_tokens

_TOKENS: Final[Mapping[int, tuple[TokenInfo, ...]]] = {
    1: (
        TokenInfo("WETH", "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", 18, "weth"),
        TokenInfo("USDC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6, "usd-coin"),
        TokenInfo("USDT", "0xdAC17F958D2ee523a2206206994597C13D831ec7", 6, "tether"),
        TokenInfo("DAI", "0x6B175474E89094C44Da98b954EedeAC495271d0F", 18, "dai"),
        TokenInfo("WBTC", "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", 8, "wrapped-bitcoin"),
        TokenInfo("stETH", "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84", 18, "staked-ether"),
        TokenInfo("wstETH", "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0", 18, "wrapped-steth"),
        TokenInfo("rETH", "0xae78736Cd615f374D3085123A210448E74Fc6393", 18, "rocket-pool-eth"),
        TokenInfo("cbETH", "0xBe9895146f7AF43049ca1c1AE358B0541Ea49704", 18, "coinbase-wrapped-staked-eth"),
        TokenInfo("LINK", "0x514910771AF9Ca656af840dff83E8264EcF986CA", 18, "chainlink"),
        TokenInfo("UNI", "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984", 18, "uniswap"),
        TokenInfo("EIGEN", "0xec53bF9167f50cDEB3Ae105f56099aaaB9061F83", 18, "eigenlayer"),
        # The graded protocols' governance tokens (Etherscan's verified tokens; the Aave address book lists AAVE,
        # CRV, MKR and LDO as Core-market underlyings at these addresses). MKR's symbol() is a bytes32 (ds-token).
        TokenInfo("AAVE", "0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9", 18, "aave"),
        TokenInfo("COMP", "0xc00e94Cb662C3520282E6f5717214004A7f26888", 18, "compound-governance-token"),
        TokenInfo("MKR", "0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2", 18, "maker"),
        TokenInfo("CRV", "0xD533a949740bb3306d119CC777fa900bA034cd52", 18, "curve-dao-token"),
        TokenInfo("LDO", "0x5A98FcBEA516Cf06857215779Fd812CA3beF1B32", 18, "lido-dao"),
        # SKY: MKR's successor, 24,000 SKY per MKR through the chainlog's MKR_SKY converter (MakerMkrSky).
        TokenInfo("SKY", "0x56072C95FAA701256059aa122697B133aDEd9279", 18, "sky"),
    ),
    56: (
        TokenInfo("WBNB", "0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c", 18, "wbnb"),
        TokenInfo("USDT", "0x55d398326f99059fF775485246999027B3197955", 18, "tether"),
        TokenInfo("USDC", "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", 18, "usd-coin"),
        TokenInfo("BTCB", "0x7130d2A12B9BCbFAe4f2634d864A1Ee1Ce3Ead9c", 18, "binance-bitcoin"),
        TokenInfo("ETH", "0x2170Ed0880ac9A755fd29B2688956BD959F933F8", 18, "ethereum"),
        TokenInfo("CAKE", "0x0E09FaBB73Bd3Ade0a17ECC321fD13a19e81cE82", 18, "pancakeswap-token"),
    ),
    42161: (
        TokenInfo("WETH", "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", 18, "weth"),
        TokenInfo("USDC", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 6, "usd-coin"),
        TokenInfo("USDT", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", 6, "tether"),
        TokenInfo("WBTC", "0x2f2a2543B76A4166549F7aaB2e75Bef0aefC5B0f", 8, "wrapped-bitcoin"),
    ),
}

_FEEDS: Final[Mapping[int, tuple[FeedInfo, ...]]] = {
    1: (
        FeedInfo("ETH/USD", "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", 3600),
        FeedInfo("BTC/USD", "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c", 3600),
        FeedInfo("WBTC/BTC", "0xfdFD9C85aD200c506Cf9e21F1FD8dd01932FBB23", 86400),
        FeedInfo("USDC/USD", "0x8fFfFfd4AfB6115b954Bd326cbe7B4BA576818f6", 86400),
        FeedInfo("USDT/USD", "0x3E7d1eAB13ad0104d2750B8863b489D65364e32D", 86400),
        FeedInfo("DAI/USD", "0xAed0c38402a5d19df6E4c03F4E2DceD6e29c1ee9", 3600),
        FeedInfo("STETH/USD", "0xCfE54B5cD566aB89272946F602D76Ea879CAb4a8", 3600),
        FeedInfo("LINK/USD", "0x2c1d072e956AFFC0D435Cb7AC38EF18d24d9127c", 3600),
        FeedInfo("UNI/USD", "0x553303d460EE0afB37EdFf9bE42922D8FF63220e", 3600),
        FeedInfo("AAVE/USD", "0x547a514d5e3769680Ce22B2361c10Ea13619e8a9", 3600),
        FeedInfo("COMP/USD", "0xdbd020CAeF83eFd542f4De03e3cF0C28A4428bd5", 3600),
        FeedInfo("MKR/USD", "0xec1D1B3b0443256cc3860e24a46F108e699484Aa", 3600),
        FeedInfo("CRV/USD", "0xCd627aA160A6fA45Eb793D19Ef54f5062F20f33f", 86400),
        FeedInfo("LDO/ETH", "0x4e844125952D32AcdF339BE976c98E22F6F318dB", 86400),  # Chainlink has no LDO/USD
    ),
    56: (
        FeedInfo("BNB/USD", "0x0567F2323251f0Aab15c8dFb1967E4e8A7D42aeE", 60),
        FeedInfo("ETH/USD", "0x9ef1B8c0E4F7dc8bF5719Ea496883DC6401d5b2e", 60),
        FeedInfo("BTC/USD", "0x264990fbd0A4796A3E3d8E37C4d5F87a3aCa5Ebf", 60),
        FeedInfo("USDT/USD", "0xB97Ad0E74fa7d920791E90258A6E2085088b4320", 60),
        FeedInfo("USDC/USD", "0x51597f405303C4377E36123cBc172b13269EA163", 60),
        FeedInfo("CAKE/USD", "0xB6064eD41d4f67e353768aA239cA86f4F73665a1", 60),
    ),
    42161: (
        FeedInfo("ETH/USD", "0x639Fe6ab55C921f74e7fac1ee960C0B6293ba612", 86400),
        FeedInfo("BTC/USD", "0x6ce185860a4963106506C203335A2910413708e9", 86400),
        FeedInfo("USDC/USD", "0x50834F3163758fcC1Df9973b6e91f0F0F0434aD3", 86400),
        FeedInfo("USDT/USD", "0x3f3f5dF88dC9F13eac63DF89EC16ef6e7E25DdE7", 86400),
    ),
}

#: Token symbol -> the feeds whose product is its USD price.
_ROUTES: Final[Mapping[int, Mapping[str, tuple[str, ...]]]] = {
    1: {
        "WETH": ("ETH/USD",),
        "WBTC": ("WBTC/BTC", "BTC/USD"),
        "USDC": ("USDC/USD",),
        "USDT": ("USDT/USD",),
        "DAI": ("DAI/USD",),
        "stETH": ("STETH/USD",),
        "LINK": ("LINK/USD",),
        "UNI": ("UNI/USD",),
        "AAVE": ("AAVE/USD",),
        "COMP": ("COMP/USD",),
        "MKR": ("MKR/USD",),
        "CRV": ("CRV/USD",),
        "LDO": ("LDO/ETH", "ETH/USD"),
    },
    56: {
        "WBNB": ("BNB/USD",),
        "ETH": ("ETH/USD",),
        "BTCB": ("BTC/USD",),
        "USDT": ("USDT/USD",),
        "USDC": ("USDC/USD",),
        "CAKE": ("CAKE/USD",),
    },
    42161: {"WETH": ("ETH/USD",), "WBTC": ("BTC/USD",), "USDC": ("USDC/USD",), "USDT": ("USDT/USD",)},
}

# Ethereum: dex contracts. One mapping per protocol, so each protocol's registry reads (and changes) alone.
_DEX_1: Final[Mapping[str, str]] = {
    "Multicall3": "0xcA11bde05977b3631167028862bE2a173976CA11",
    "UniswapV2Factory": "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f",
    "UniswapV2Router02": "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D",
    "UniswapV3Factory": "0x1F98431c8aD98523631AE4a59f267346ea31F984",
    "NonfungiblePositionManager": "0xC36442b4a4522E871399CD717aBDD847Ab11FE88",
    "SwapRouter": "0xE592427A0AEce92De3Edee1F18E0157C05861564",
    "SwapRouter02": "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
    "QuoterV2": "0x61fFE014bA17989E743c5F6cB21bF9697530B21e",
    "TickLens": "0xbfd8137f7d1516D3ea5cA83523914859ec47F573",
}

# Ethereum: aave. Its markets (Core, Prime, EtherFi) come from the address book (`aave_v3_book`).
_AAVE_1: Final[Mapping[str, str]] = aave_v3_contracts(1)

# Ethereum: lido.
_LIDO_1: Final[Mapping[str, str]] = {
    # Lido: the stETH token is the Lido contract itself.
    "LidoStETH": "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84",
    "LidoWstETH": "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0",
    "LidoWithdrawalQueue": "0x889edC2eDab5f40e902b864aD4d7AdE8E412F9B1",
    "LidoAccountingOracle": "0x852deD011285fe67063a08005c71a85690503Cee",
    # Lido's DAO kernel (aragonOS KernelProxy): stETH's, the Voting's and the Agent's.
    "LidoKernel": "0xb8FFC3Cd6e7Cf5a098A1c92F48009765B24088Dc",
}

# Ethereum: eigenlayer.
_EIGENLAYER_1: Final[Mapping[str, str]] = {
    "EigenLayerStrategyManager": "0x858646372CC42E1A627fcE94aa7A7033e7CF075A",
    "EigenLayerDelegationManager": "0x39053D51B77DC0d36036Fc1fCc8Cb819df8Ef37A",
    "EigenLayerEigenPodManager": "0x91E677b07F7AF907ec9a428aafA9fc14a0d3A338",
    # bEIGEN: the EIGEN strategy's underlying, EIGEN's 1:1 backing token (the EIGEN token is in _TOKENS).
    "EigenLayerBackingEigen": "0x83E9115d334D248Ce39a6f36144aEaB5b3456e75",
}
#: EigenLayer's discovery scans (strategy whitelist, PodDeployed, OperatorRegistered) start at the block the
#: StrategyManager was deployed in (June 2023, with the EigenPodManager and DelegationManager).
EIGENLAYER_START_BLOCKS: Final[Mapping[int, int]] = {1: 17_445_564}

# Ethereum: compound.
_COMPOUND_1: Final[Mapping[str, str]] = {
    # Compound V2 (the Unitroller proxy) and its largest markets (cETH holds native ETH).
    "CompoundV2Comptroller": "0x3d9819210A31b4961b30EF54bE2aeD79B9c9Cd3B",
    "CompoundV2cToken:WETH": "0x4Ddc2D193948926D02f9B1fE9e1daa0718270ED5",
    "CompoundV2cToken:USDC": "0x39AA39c021dfbaE8faC545936693aC917d5E7563",
    "CompoundV2cToken:DAI": "0x5d3a536E4D6DbD6114cc1Ead35777bAB948E3643",
    "CompoundV2cToken:WBTC": "0xccF4429DB6322D5C611ee964527D42E5d685DD6a",
    "CompoundV2cToken:USDT": "0xf650C3d88D12dB855b8bf7D11Be6C55A4e07dCC9",
    # Compound III markets (the Comet proxies, from compound-finance/comet deployments/mainnet/*/roots.json).
    "CompoundV3Comet:USDC": "0xc3d688B66703497DAA19211EEdff47f25384cdc3",  # cUSDCv3
    "CompoundV3Comet:WETH": "0xA17581A9E3356d9A858b789D68B4d866e593aE94",  # cWETHv3
    "CompoundV3Comet:USDT": "0x3Afdc9BCA9213A35503b077a6072F3D0d5AB0840",  # cUSDTv3
    "CompoundV3Comet:wstETH": "0x3D0bb1ccaB520A66e607822fC55BC921738fAFE3",  # cWstETHv3
    "CompoundV3Comet:USDS": "0x5D409e56D886231aDAf00c8775665AD0f9897b56",  # cUSDSv3
    "CompoundV3Comet:WBTC": "0xe85Dc543813B8c2CFEaAc371517b925a166a9293",  # cWBTCv3
}

# Ethereum: governance. GovernorBravo delegators, their Timelocks and tokens (Compound's and Uniswap's governance
# docs; the same addresses on Etherscan's verified sources). Registry names are shared with the devnet's.
_GOVERNANCE_1: Final[Mapping[str, str]] = {
    "CompoundGovernor": "0xc0Da02939E1441F497fd74F78cE7Decb17B66529",
    "CompoundTimelock": "0x6d903f6003cca6255D85CcA4D3B5E5146dC33925",
    "CompoundGovernanceToken": "0xc00e94Cb662C3520282E6f5717214004A7f26888",  # COMP
    "UniswapGovernor": "0x408ED6354d4973f66138C91495F2f2FCbd8724C3",
    "UniswapTimelock": "0x1a9C8182C09F50C8318d769245beA52c32BE35BC",
    "UniswapGovernanceToken": "0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984",  # UNI
    # Aave Governance V2 (retired for Governance V3 in 2024; its proposals up to then): the governance from BGD
    # Labs' aave-permissions-book (GOV_V2), the executors and AAVE from @aave-dao/aave-address-book 4.68.1.
    "AaveGovernor": "0xEC568fffba86c094cf06b22134B23074DFE2252c",
    "AaveShortExecutor": "0xEE56e2B3D491590B5b31738cC34d5232F378a8D5",
    "AaveLongExecutor": "0x79426A1c24B2978D90d7A5070a46C65B07bC4299",
    "AaveGovernanceToken": "0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9",  # AAVE
    # Aave Governance V3, Aave's governance since 2024: @aave-dao/aave-address-book 4.68.1, GovernanceV3Ethereum
    # (GOVERNANCE, PAYLOADS_CONTROLLER, EXECUTOR_LVL_1, EXECUTOR_LVL_2, VOTING_PORTAL_ETH_ETH). The book gives no
    # deployment blocks: the events are scanned over the governance look-back window like the other governors.
    "AaveGovernanceCore": "0x9AEE0B04504CeF83A65AC3f0e838D0593BCb2BC7",
    "AavePayloadsController": "0xdAbad81aF85554E9ae636395611C58F7eC1aAEc5",
    "AaveExecutorLvl1": "0x5300A1a15135EA4dc7aD5a167152C01EFc9b192A",
    "AaveExecutorLvl2": "0x17Dd33Ed0e3dD2a80E37489B8A63063161BE6957",
    "AaveVotingPortalEthEth": "0x6ACe1Bf22D57a33863161bFDC851316Fb0442690",
}

# Ethereum: maker.
_MAKER_1: Final[Mapping[str, str]] = {
    # MakerDAO (MCD core, from the chainlog).
    "MakerVat": "0x35D1b3F3D7966A1DFe207aa4514C12a259A0492B",
    "MakerDai": "0x6B175474E89094C44Da98b954EedeAC495271d0F",
    "MakerDaiJoin": "0x9759A6Ac90977b93B58547b4A71c78317f391A28",
    "MakerJug": "0x19c0976f590D67707E62397C87829d896Dc0f1F1",
    "MakerSpotter": "0x65C79fcB50Ca1594B025960e539eD7A9a6D434A3",
    "MakerDog": "0x135954d155898D42C90D2a57824C690e0c7BEf1B",
    "MakerGemJoin:ETH-A": "0x2F0b23f53734252Bda2277357e97e1517d6B042A",
    "MakerGemJoin:WBTC-A": "0xBF72Da2Bd84c5170618Fbe5914B0ECA9638d5eb5",
    # Chainlog ILK_REGISTRY (v2, with classes), CDP_MANAGER and MCD_LITE_PSM_USDC_A (a joinless ilk).
    "MakerIlkRegistry": "0x5a464C28D19848f44199D003BeF5ecc87d090F87",
    "MakerCdpManager": "0x5ef30b9986345249bc32d8928B7ee64DE9435E39",
    "MakerLitePsm:LITE-PSM-USDC-A": "0xf6e72Db5454dd049d0788e411b06CfAF16853042",
    # Governance, from the chainlog: MCD_ADM (ds-chief 1.2, MKR), MCD_PAUSE, MCD_PAUSE_PROXY, MCD_GOV (MKR).
    "MakerChief": "0x0a3f6849f78076aefaDf113F5BED87720274dDC0",
    "MakerPause": "0xbE286431454714F511008713973d3B053A2d38f3",
    "MakerPauseProxy": "0xBE8E3e3618f7474F8cB1d074A26afFef007E98FB",
    "MakerGovernanceToken": "0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2",
    # The chainlog's MKR_SKY: mkrToSky / skyToMkr at 1:24,000.
    "MakerMkrSky": "0xBDcFCA946b6CDd965f99a839e4435Bcdc1bc470B",
}

# Ethereum: curve.
_CURVE_1: Final[Mapping[str, str]] = {
    "Curve3Pool": "0xbEbc44782C7dB0a1A60Cb6fe97d0b483032FF1C7",
    # get_address(0) of the AddressProvider is the main registry; the factories are listed as data.
    "CurveAddressProvider": "0x0000000022D53366457F9d5E68Ec105046FC4383",
    "CurveRegistry": "0x90E00ACe148ca3b23Ac1bC8C240C2a7Dd9c2d7f5",
    "CurveMetaRegistry": "0xF98B45FA17DE75FB1aD0e7aFD971b0ca00e379fC",
    "CurveCryptoRegistry": "0x8F942C20D02bEfc377D41445793068908E2250D0",
    "CurveStableFactory": "0xB9fC157394Af804a3578134A6585C0dc9cc990d4",
    "CurveStableNgFactory": "0x6A8cbed756804B16E05E741eDaBd5cB544AE21bf",
    "CurveCryptoFactory": "0xF18056Bbd320E96A48e3Fbf8bC061322531aac99",
    "CurveTwocryptoNgFactory": "0x98EE851a00abeE0d95D08cF4CA2BdCE32aeaAF7F",
    "CurveTricryptoNgFactory": "0x0c0e5f2fF0ff18a3be9b835635039256dC4B4963",
}

#: Each chain's `Deployment.first_block`: at or before the oldest protocol contract of its registry, rounded down so
#: that nothing it emitted is missed. Ethereum: Compound V2's Unitroller (block 7,710,671, May 2019; Maker, Uniswap,
#: Curve, Lido, Aave V3, Compound III and EigenLayer came later). BNB Chain: PancakeSwap's V2 factory (6,809,737,
#: the discovery start of `PANCAKESWAP_V2`). Tokens and feeds the protocols only read may be older: their earlier
#: events are not read (their control is not the protocol's, and is not scored). Other chains: not known (0).
FIRST_BLOCKS: Final[Mapping[int, int]] = {1: 7_700_000, 56: 6_800_000}

_CONTRACTS: Final[Mapping[int, Mapping[str, str]]] = {
    1: {**_DEX_1, **_CURVE_1, **_AAVE_1, **_LIDO_1, **_EIGENLAYER_1, **_COMPOUND_1, **_MAKER_1, **_GOVERNANCE_1},
    56: {
        "Multicall3": "0xcA11bde05977b3631167028862bE2a173976CA11",
        "PancakeV2Factory": "0xcA143Ce32Fe78f1f7019d7d551a6402fC5350c73",
        "PancakeV2Router": "0x10ED43C718714eb63d5aA57B78B54704E256024E",
        "PancakeV3Factory": "0x0BFbCF9fa4f9C56B0F40a671Ad40E0805A091865",
        "PancakeV3PoolDeployer": "0x41ff9AA7e16B8B1a8a8dc4f0eFacd93D02d071c9",
        "PancakeV3QuoterV2": "0xB048Bbc1Ee6b733FFfCFb9e9CeF7375518e25997",
        "PancakeV3SwapRouter": "0x1b81D678ffb9C0263b24A97847620C99d213eB14",
        "UniswapV2Factory": "0x8909Dc15e40173Ff4699343b6eB8132c65e18eC6",
        "UniswapV3Factory": "0xdB1d10011AD0Ff90774D0C6Bb92e5C5c8b4461F7",
    },
    42161: {
        "Multicall3": "0xcA11bde05977b3631167028862bE2a173976CA11",
        "UniswapV2Factory": "0xf1D7CC64Fb4452F05c498126312eBE29f30Fbcf9",
        "UniswapV3Factory": "0x1F98431c8aD98523631AE4a59f267346ea31F984",
        **aave_v3_contracts(42161),
    },
    **{
        chain_id: {"Multicall3": "0xcA11bde05977b3631167028862bE2a173976CA11", **aave_v3_contracts(chain_id)}
        for chain_id in AAVE_V3_CHAINS
    },
}

_CORE: Final[Mapping[int, tuple[str, ...]]] = {
    1: ("WETH", "USDC", "USDT", "DAI", "WBTC"),
    56: ("WBNB", "USDT", "USDC", "BTCB", "ETH"),
    42161: ("WETH", "USDC", "USDT", "WBTC"),
}

# Chains where defiscope reads Aave V3 only (so far): tokens come from the address book (`aave_v3_tokens`);
# Chainlink USD feeds from the address book's Chainlink<Chain> modules (heartbeats are not published there:
# 24 h is an upper bound, as for Arbitrum above).
_L2_FEEDS: Final[Mapping[int, tuple[FeedInfo, ...]]] = {
    10: (
        FeedInfo("ETH/USD", "0x13e3Ee699D1909E989722E753853AE30b17e08c5", 86400),
        FeedInfo("BTC/USD", "0xD702DD976Fb76Fffc2D3963D037dfDae5b04E593", 86400),
        FeedInfo("USDC/USD", "0x16a9FA2FDa030272Ce99B29CF780dFA30361E0f3", 86400),
        FeedInfo("USDT/USD", "0xECef79E109e997bCA29c1c0897ec9d7b03647F5E", 86400),
        FeedInfo("DAI/USD", "0x8dBa75e83DA73cc766A7e5a0ee71F656BAb470d6", 86400),
    ),
    137: (
        FeedInfo("ETH/USD", "0xF9680D99D6C9589e2a93a78A04A279e509205945", 86400),
        FeedInfo("BTC/USD", "0xc907E116054Ad103354f2D350FD2514433D57F6f", 86400),
        FeedInfo("WBTC/USD", "0xDE31F8bFBD8c84b5360CFACCa3539B938dd78ae6", 86400),
        FeedInfo("USDC/USD", "0xfE4A8cc5b5B2366C1B58Bea3858e81843581b2F7", 86400),
        FeedInfo("USDT/USD", "0x0A6513e40db6EB1b165753AD52E80663aeA50545", 86400),
        FeedInfo("DAI/USD", "0x4746DeC9e833A82EC7C2C1356372CcF2cfcD2F3D", 86400),
        FeedInfo("MATIC/USD", "0xAB594600376Ec9fD91F8e885dADF0CE036862dE0", 86400),
    ),
    8453: (
        FeedInfo("ETH/USD", "0x71041dddad3595F9CEd3DcCFBe3D1F4b0a16Bb70", 86400),
        FeedInfo("BTC/USD", "0x64c911996D3c6aC71f9b455B1E8E7266BcbD848F", 86400),
        FeedInfo("USDC/USD", "0x7e860098F58bBFC8648a4311b374B1D669a2bc6B", 86400),
    ),
    43114: (
        FeedInfo("ETH/USD", "0x976B3D034E162d8bD72D6b9C989d545b839003b0", 86400),
        FeedInfo("BTC/USD", "0x2779D32d5166BAaa2B2b658333bA7e6Ec0C65743", 86400),
        FeedInfo("USDC/USD", "0xF096872672F44d6EBA71458D74fe67F9a77a23B9", 86400),
        FeedInfo("USDT/USD", "0xEBE676ee90Fe1112671f19b6B7459bC678B67e8a", 86400),
        FeedInfo("DAI/USD", "0x51D7180edA2260cc4F6e4EebB82FEF5c3c2B8300", 86400),
        FeedInfo("AVAX/USD", "0x0A77230d17318075983913bC2145DB16C7366156", 86400),
    ),
}
_L2_ROUTES: Final[Mapping[int, Mapping[str, tuple[str, ...]]]] = {
    10: {
        "WETH": ("ETH/USD",),
        "WBTC": ("BTC/USD",),
        "USDC": ("USDC/USD",),
        "USDCn": ("USDC/USD",),
        "USDT": ("USDT/USD",),
        "DAI": ("DAI/USD",),
    },
    137: {
        "WETH": ("ETH/USD",),
        "WBTC": ("WBTC/USD",),
        "USDC": ("USDC/USD",),
        "USDCn": ("USDC/USD",),
        "USDT0": ("USDT/USD",),
        "DAI": ("DAI/USD",),
        "WPOL": ("MATIC/USD",),
    },
    8453: {"WETH": ("ETH/USD",), "cbBTC": ("BTC/USD",), "USDC": ("USDC/USD",)},
    43114: {
        "WETHe": ("ETH/USD",),
        "BTCb": ("BTC/USD",),
        "USDC": ("USDC/USD",),
        "USDt": ("USDT/USD",),
        "DAIe": ("DAI/USD",),
        "WAVAX": ("AVAX/USD",),
    },
}
_L2_CORE: Final[Mapping[int, tuple[str, ...]]] = {
    10: ("WETH", "USDCn", "USDT", "WBTC"),
    137: ("WETH", "USDCn", "USDT0", "WBTC", "WPOL"),
    8453: ("WETH", "USDC", "cbBTC"),
    43114: ("WAVAX", "USDC", "USDt", "WETHe", "BTCb"),
}

#: L2 sequencer-uptime feeds (the address book's Chainlink<Chain>.L2_Sequencer_Uptime_Status_Feed).
_SEQUENCER: Final[Mapping[int, str]] = {
    10: "0x371EAD81c9102C9BF4874A9075FFFf170F2Ee389",
    8453: "0xBCF85224fc0756B9Fa45aA7892530B47e10b6433",
    42161: "0xFdB631F5EE196F0ed6FAa767959853A9F217697D",
}

_TREASURIES: Final[Mapping[int, tuple[TreasurySpec, ...]]] = {
    # Uniswap governance's timelock holds the DAO's UNI.
    1: (
        TreasurySpec(
            "uniswap-treasury", "Uniswap DAO Treasury", ("0x1a9C8182C09F50C8318d769245beA52c32BE35BC",), ("UNI",)
        ),
    ),
}


#: Holders of non-circulating governance tokens, where the split is public and held by a few contracts: the
#: treasuries (Uniswap's and Compound's timelocks, Aave's ecosystem reserve, Maker's pause proxy, Lido's Aragon
#: agent). CRV (vote-escrow locks, vesting escrows), EIGEN (vesting) and CAKE have no such list here: their
#: circulating supply is unknown to us rather than guessed.
_LOCKED_SUPPLY: Final[Mapping[int, Mapping[str, tuple[str, ...]]]] = {
    1: {
        "UNI": (_GOVERNANCE_1["UniswapTimelock"],),
        "COMP": (_GOVERNANCE_1["CompoundTimelock"],),
        "AAVE": ("0x25F2226B597E8F9514B3F68F00f494cF4f286491",),  # the Aave Ecosystem Reserve
        "MKR": (_MAKER_1["MakerPauseProxy"],),
        "LDO": ("0x3e40D73EB977Dc6a537aF587D48316feE66E9C8c",),  # Lido's Aragon agent (the DAO treasury)
    },
}


#: Chains with a mainnet registry.
MAINNET_CHAINS: Final = tuple(sorted({*_TOKENS, *AAVE_V3_CHAINS}))


def mainnet(chain_id: int) -> Deployment:
    """The registry of one mainnet chain; an unknown chain raises `UnknownName` listing the known ones."""
    if chain_id not in MAINNET_CHAINS:
        known = ", ".join(map(str, MAINNET_CHAINS))
        raise UnknownName(f"no mainnet registry for chain {chain_id}; known: {known}")
    listed = _TOKENS.get(chain_id, ())
    return Deployment(
        chain_id=chain_id,
        network="mainnet",
        tokens={t.symbol: t for t in (*listed, *aave_v3_tokens(chain_id, listed))},
        feeds={f.pair: f for f in _FEEDS.get(chain_id, _L2_FEEDS.get(chain_id, ()))},
        price_routes=_ROUTES.get(chain_id, _L2_ROUTES.get(chain_id, {})),
        contracts=_CONTRACTS[chain_id],
        core_symbols=_CORE.get(chain_id, _L2_CORE.get(chain_id, ())),
        sequencer_feed=_SEQUENCER.get(chain_id),
        treasuries=_TREASURIES.get(chain_id, ()),
        locked_supply=_LOCKED_SUPPLY.get(chain_id, {}),
        first_block=FIRST_BLOCKS.get(chain_id, 0),
    )
