"""What Curve code reads of the chain, per deployment: the AddressProvider, each pool source, the pools.

The adapter reads the sources (`curve.sources`) and, for yields, each pool's ``get_virtual_price()`` and admin fee;
routing (``routing.load``, ``routing.tracker``) reads StableSwap pools' parameters and follows their events
(`curve.events`), whose signatures depend on the coin count and the pool's generation (the 3pool's
``RemoveLiquidityOne`` lacks the supply; only old pools emit ``NewFee``).

    >>> uses = curve_surface({"CurveTricryptoNgFactory": "0x0c0e5f2fF0ff18a3be9b835635039256dC4B4963"},
    ...                      (source("CurveTricryptoNgFactory"),), has_named=False)
    >>> [u.interface for u in uses][:2]
    ['curve/TricryptoNGFactory', 'curve/TricryptoNGPool']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from defiscope.protocols.curve.events import LAYOUTS
from defiscope.protocols.curve.sources import (
    ADDRESS_PROVIDER,
    ADMIN_FEE,
    GET_ADDRESS,
    PoolMath,
    PoolSource,
    source,
)
from defiscope.protocols.surface import ContractUse

__all__ = ["NAMED", "NAMED_POOLS_KIND", "NAMED_POOL_CALLS", "curve_surface", "pools_kind", "source"]

#: What the adapter reads of a pool no registry lists: ``coins(i)`` until one fails, then ``balances(i)``.
NAMED_POOL_CALLS: Final = ("coins(uint256)(address)", "balances(uint256)(uint256)")
VIRTUAL_PRICE: Final = "get_virtual_price()(uint256)"
#: routing.load and routing.tracker: a StableSwap pool's coins, parameters, balances, A ramp and LP supply.
ROUTING_CALLS: Final = (
    *NAMED_POOL_CALLS,
    "A_precise()(uint256)",
    "fee()(uint256)",
    "admin_fee()(uint256)",
    "initial_A()(uint256)",
    "future_A()(uint256)",
    "initial_A_time()(uint256)",
    "future_A_time()(uint256)",
    "totalSupply()(uint256)",
    VIRTUAL_PRICE,
)
#: Events every factory plain pool emits (all but the 3pool's supply-less RemoveLiquidityOne and NewFee).
OLD_POOL_ONLY: Final = frozenset({"RemoveLiquidityOne(address,uint256,uint256)", "NewFee(uint256,uint256)"})


NAMED: Final = "named"  # the source of a pool found only by its deployment name
#: The kind of the pools found by their deployment name alone (no registry or factory lists them).
NAMED_POOLS_KIND: Final = "pools by name"


def pools_kind(source: str) -> str:
    """The kind of the pools a registry or factory lists ("pools of CurveRegistry"); `NAMED` pools by name."""
    return NAMED_POOLS_KIND if source == NAMED else f"pools of {source}"


def _events(n: int) -> tuple[str, ...]:
    return tuple(e for layout in LAYOUTS if (e := layout.signature.format(n=n)) not in OLD_POOL_ONLY)


def _routing_uses() -> tuple[ContractUse, ...]:
    plain = tuple(
        ContractUse(
            f"StableSwap pools of {n} coins (routing)", f"curve/FactoryPlain{n}Basic", ROUTING_CALLS, _events(n)
        )
        for n in (2, 3, 4)
    )
    return (
        *plain,
        ContractUse("3pool-generation pools (routing)", "curve/StableSwap3Pool", events=tuple(sorted(OLD_POOL_ONLY))),
        # A pool with a dynamic off-peg fee answers this probe; routing leaves such pools out.
        ContractUse("off-peg fee pools (routing probe)", "curve/StableSwapAave", ("offpeg_fee_multiplier()(uint256)",)),
        ContractUse("pool coins (routing)", "common/ERC20", ("decimals()(uint8)",)),
    )


def curve_surface(
    contracts: Mapping[str, str], sources: Sequence[PoolSource], *, has_named: bool
) -> tuple[ContractUse, ...]:
    uses: list[ContractUse] = []
    if ADDRESS_PROVIDER in contracts:
        uses.append(
            ContractUse("AddressProvider", "curve/AddressProvider", (GET_ADDRESS,), address=contracts[ADDRESS_PROVIDER])
        )
    for s in sources:
        uses.append(ContractUse(s.name, s.interface, s.calls, address=contracts.get(s.name)))
        uses.append(ContractUse(pools_kind(s.name), s.pool_interface, (VIRTUAL_PRICE, s.admin_fee)))
    if has_named:
        named = (*NAMED_POOL_CALLS, VIRTUAL_PRICE, ADMIN_FEE)
        uses.append(ContractUse(NAMED_POOLS_KIND, "curve/FactoryPlain2Basic", named))
    if any(s.math is PoolMath.STABLESWAP for s in sources) or has_named:
        uses += _routing_uses()
    return tuple(uses)
