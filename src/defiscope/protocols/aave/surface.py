"""What the Aave V3 code reads (adapter, yields, account positions and risk), per market, as data.

>>> from defiscope.deployments.mainnet import mainnet
>>> uses = aave_surface(mainnet(1))
>>> sorted({u.name for u in uses if u.address})[:3]
['AaveOracle (Core)', 'AaveOracle (EtherFi)', 'AaveOracle (Prime)']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from defiscope.deployments import Deployment
from defiscope.protocols.aave.market import (
    BALANCE_OF,
    EMODE_COLLATERAL_BITMAP,
    GET_ASSET_PRICE,
    GET_RESERVE_DATA,
    GET_RESERVES_LIST,
    GET_SOURCE_OF_ASSET,
    GET_VIRTUAL_BALANCE,
    LATEST_ROUND_DATA,
    SCALED_TOTAL_SUPPLY,
    STABLE_SUPPLY_AND_RATE,
    SYMBOL,
    TOTAL_SUPPLY,
    markets_of,
    registered_a_tokens,
)
from defiscope.protocols.aave.positions import (
    ACCOUNT_DATA,
    BORROW_EVENT,
    EMODE_COLLATERAL_CONFIG,
    EMODE_DATA,
    SCALED_BALANCE,
    SUPPLY_EVENT,
    USER_CONFIGURATION,
    USER_EMODE,
)
from defiscope.protocols.bad_debt import GET_RESERVE_DEFICIT
from defiscope.protocols.surface import ContractUse

#: Each reserve's own tokens, found at run time (getReserveData): one kind per market (`reserve_kind`), as each
#: market's are administered by its own PoolConfigurator from its own implementations.
A_TOKEN_KIND: Final = "aToken"
VARIABLE_DEBT_KIND: Final = "variable debt token"
STABLE_DEBT_KIND: Final = "stable debt token"
RESERVE_TOKENS: Final = (
    ContractUse(A_TOKEN_KIND, "aave/IAToken", calls=(TOTAL_SUPPLY, SCALED_BALANCE)),
    ContractUse(
        VARIABLE_DEBT_KIND, "aave/VariableDebtToken", calls=(SCALED_TOTAL_SUPPLY, TOTAL_SUPPLY, SCALED_BALANCE)
    ),
    # Pools before v3.2 only (v3.0: total and average rate; v3.1: totalSupply); v3.2 removed stable debt.
    ContractUse(STABLE_DEBT_KIND, "aave/StableDebtToken", calls=(STABLE_SUPPLY_AND_RATE, TOTAL_SUPPLY, BALANCE_OF)),
)
UNDERLYING_KIND: Final = "reserve underlying"
PRICE_SOURCE_KIND: Final = "oracle price source"
#: What every market reads but Aave does not run (found at run time from getReservesList / getSourceOfAsset).
RESERVE_DEPENDENCIES: Final = (
    ContractUse(UNDERLYING_KIND, "common/ERC20", calls=(SYMBOL, BALANCE_OF)),
    ContractUse(PRICE_SOURCE_KIND, "aave/AggregatorInterface", calls=(LATEST_ROUND_DATA,)),
)


def reserve_kind(kind: str, market: str) -> str:
    """The name of a market's kind of reserve token: "aToken (Prime)"."""
    return f"{kind} ({market})"


POOL_CALLS: Final = (
    GET_RESERVES_LIST,
    GET_RESERVE_DATA,
    GET_VIRTUAL_BALANCE,  # v3.1+; its revert on a v3.0 Pool selects the balanceOf fallback
    USER_CONFIGURATION,
    USER_EMODE,
    EMODE_DATA,  # v3.0/3.1 e-modes
    EMODE_COLLATERAL_CONFIG,  # v3.2+ e-modes (with the bitmap, whose revert marks an older Pool)
    EMODE_COLLATERAL_BITMAP,
    ACCOUNT_DATA,
    GET_RESERVE_DEFICIT,  # v3.3+: the risk score's bad debt (`protocols.bad_debt`); older Pools revert
)


def registered_reserves(deployment: Deployment) -> dict[str, str]:
    """aToken address -> its underlying's address, for the registry's aTokens whose underlying it knows."""
    tokens = deployment.tokens
    return {a: tokens[symbol].address for a, symbol in registered_a_tokens(deployment).items() if symbol in tokens}


def aave_surface(deployment: Deployment) -> tuple[ContractUse, ...]:
    """Each market's Pool and oracle; the registry's aTokens and their underlyings at their addresses (other
    readers of the same contracts declare other calls there); every reserve's tokens by kind, per market (the
    registry's aTokens among them, `found_contracts`), and the underlyings and feeds as dependencies."""
    uses: list[ContractUse] = []
    for market in markets_of(deployment):
        uses.append(
            ContractUse(
                f"Pool ({market.name})",
                "aave/IPool",
                calls=POOL_CALLS,
                events=(SUPPLY_EVENT, BORROW_EVENT),
                address=market.pool,
            )
        )
        uses.append(
            ContractUse(
                f"AaveOracle ({market.name})",
                "aave/IAaveOracle",
                calls=(GET_ASSET_PRICE, GET_SOURCE_OF_ASSET),
                address=market.oracle,
            )
        )
    reserves = registered_reserves(deployment)
    a_token_use, underlying_use = RESERVE_TOKENS[0], RESERVE_DEPENDENCIES[0]
    uses += [replace(a_token_use, name=f"aToken of {u}", address=a) for a, u in reserves.items()]
    underlyings = dict.fromkeys(reserves.values())
    uses += [replace(underlying_use, name=f"reserve underlying {u}", address=u) for u in underlyings]
    kinds = [
        replace(use, name=reserve_kind(use.name, market.name))
        for market in markets_of(deployment)
        for use in RESERVE_TOKENS
    ]
    return (*uses, *kinds, *RESERVE_DEPENDENCIES)
