"""Which tokens are wrappers or receipts of others, as derivative-pricing rules for a deployment.

The rules are data (`RateRule`, `OneToOneRule`); this module knows where each protocol's receipts are in a
deployment: wstETH -> stETH (`stEthPerToken`), rETH and cbETH -> WETH (their ETH exchange rates), Compound
cTokens -> underlying (`exchangeRateStored`), Aave aTokens -> underlying (1:1), and Maker's devnet DAI.

    rules = known_rules(deployment)
"""

from __future__ import annotations

from typing import Final

from defiscope.deployments import Deployment
from defiscope.prices.derivatives import DerivativeRule, OneToOneRule, RateRule
from defiscope.protocols.aave.adapter import registered_a_tokens

CTOKEN_PREFIX: Final = "CompoundV2cToken:"
CTOKEN_DECIMALS: Final = 8
EXCHANGE_RATE: Final = "exchangeRateStored()(uint256)"
CTOKEN_INTERFACE: Final = "compound/CErc20"
#: symbol -> the token's own view returning ETH per whole token, scaled 1e18 (as the real tokens answer:
#: RocketTokenRETH, StakedTokenV1, Swell's swETH, Binance's wBETH; sfrxETH's is frxETH per share, frxETH ~ ETH),
#: and the token's real interface (``tests/fixtures/abi``)
LST_RATE_CALLS: Final = {
    "rETH": ("getExchangeRate()(uint256)", "rocketpool/RocketTokenRETH"),
    "cbETH": ("exchangeRate()(uint256)", "coinbase/StakedTokenV1"),
    "swETH": ("swETHToETHRate()(uint256)", "swell/SwETH"),
    "wBETH": ("exchangeRate()(uint256)", "binance/WBETH"),
    "sfrxETH": ("pricePerShare()(uint256)", "frax/SfrxETH"),
}
#: Tokens redeemable 1:1 for ETH with no rate to read (OETH: rebasing, the Origin vault redeems 1:1).
ETH_PEGGED: Final = ("OETH",)


def known_rules(deployment: Deployment) -> tuple[DerivativeRule, ...]:
    """Every wrapper and receipt rule that applies to the deployment's tokens and contracts."""
    rules: list[DerivativeRule] = []
    tokens = deployment.tokens
    if "wstETH" in tokens and "stETH" in tokens:
        steth_per_token = "stEthPerToken()(uint256)"
        wsteth, steth = tokens["wstETH"].address, tokens["stETH"].address
        rules.append(RateRule(wsteth, steth, steth_per_token, scale=10**18, interface="lido/WstETH"))
    rules += compound_rules(deployment)
    rules += maker_rules(deployment)
    rules += lst_rules(deployment)
    rules += eth_pegged_rules(deployment)
    rules += aave_rules(deployment)
    return tuple(rules)


def aave_rules(deployment: Deployment) -> tuple[OneToOneRule, ...]:
    """aTokens redeem 1:1 for their underlying (checked on chain with ``UNDERLYING_ASSET_ADDRESS()``)."""
    return tuple(
        OneToOneRule(a_token, deployment.tokens[symbol].address, label=f"a{symbol}->{symbol}")
        for a_token, symbol in registered_a_tokens(deployment).items()
        if symbol in deployment.tokens
    )


def compound_rules(deployment: Deployment) -> list[RateRule]:
    """One rule per registry cToken whose underlying symbol the deployment knows: whole underlying per whole
    cToken is ``exchangeRateStored() / 10**(18 - 8 + underlying decimals)``."""
    rules = []
    for name, ctoken in deployment.contracts.items():
        symbol = name[len(CTOKEN_PREFIX) :] if name.startswith(CTOKEN_PREFIX) else None
        if symbol is None or symbol not in deployment.tokens:
            continue
        underlying = deployment.tokens[symbol]
        scale = 10 ** (18 - CTOKEN_DECIMALS + underlying.decimals)
        label = f"c{symbol}->{symbol}"
        rules.append(RateRule(ctoken, underlying.address, EXCHANGE_RATE, scale, label, CTOKEN_INTERFACE))
    return rules


def maker_rules(deployment: Deployment) -> list[OneToOneRule]:
    """Maker's DAI priced as the registry's DAI where the two are different tokens (the devnet)."""
    dai = deployment.contracts.get("MakerDai")
    if dai is None or "DAI" not in deployment.tokens or deployment.tokens["DAI"].address == dai:
        return []
    return [OneToOneRule(dai, deployment.tokens["DAI"].address, check_call=None, label="MakerDAI->DAI")]


def lst_rules(deployment: Deployment) -> list[RateRule]:
    """rETH and cbETH are claims on ETH at their own exchange rate: priced through WETH."""
    tokens = deployment.tokens
    if "WETH" not in tokens:
        return []
    weth = tokens["WETH"].address
    return [
        RateRule(tokens[symbol].address, weth, call, scale=10**18, label=f"{symbol}->WETH", interface=interface)
        for symbol, (call, interface) in LST_RATE_CALLS.items()
        if symbol in tokens
    ]


def eth_pegged_rules(deployment: Deployment) -> list[OneToOneRule]:
    """Rebasing ETH tokens priced as WETH (no rate to check on chain)."""
    tokens = deployment.tokens
    if "WETH" not in tokens:
        return []
    weth = tokens["WETH"].address
    return [
        OneToOneRule(tokens[s].address, weth, check_call=None, label=f"{s}->WETH") for s in ETH_PEGGED if s in tokens
    ]
