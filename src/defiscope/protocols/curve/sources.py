"""Where Curve pools are listed, as data: the main registry and each factory, with the calls each one answers.

Every source lists its pools with ``pool_count()`` / ``pool_list(i)`` and describes one with ``get_coins`` and
``get_balances``, but the output widths differ by contract (``address[8]`` in the main registry,
``address[4]`` in the old stable factory, ``address[8]`` in the crypto registry (older crypto pools such as
tricrypto2), a dynamic ``address[]`` in stable-ng, ``address[2]`` / ``address[3]``
in the crypto factories), and only the two registries and the old crypto factory keep the LP token apart from
the pool. ``math`` says whose invariant the pools follow; ``unrouted`` why routing leaves a source's pools out: it
quotes only StableSwap pools with a fixed fee, whose math we port exactly (``curve.math``), so not crypto
pools and not stable-ng pools (their fee grows off peg).

    >>> source("CurveStableNgFactory").coins
    'get_coins(address)(address[])'
    >>> [s.name for s in SOURCES if s.math is PoolMath.CRYPTOSWAP]
    ['CurveCryptoRegistry', 'CurveCryptoFactory', 'CurveTwocryptoNgFactory', 'CurveTricryptoNgFactory']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

ADMIN_FEE: Final = "admin_fee()(uint256)"
NG_CRYPTO_ADMIN_FEE: Final = "ADMIN_FEE()(uint256)"


class PoolMath(StrEnum):
    STABLESWAP = "stableswap"  # modelled exactly by curve.math: routable
    CRYPTOSWAP = "cryptoswap"  # twocrypto/tricrypto invariant, not modelled: TVL only


@dataclass(frozen=True, slots=True)
class PoolSource:
    """A registry or factory: its deployment name, real interface, the calls describing a pool, its pools' ABI."""

    name: str
    interface: str
    coins: str
    balances: str
    lp_token: str | None  # the call giving a pool's LP token; None: each pool is its own LP token
    math: PoolMath
    pool_interface: str
    unrouted: str | None = None  # why routing leaves this source's pools out; None: our math models them
    #: The pools' admin fee (of 1e10: the protocol's share of swap fees): a setting of classic pools, a public
    #: constant of the NG crypto pools (5e9, half).
    admin_fee: str = ADMIN_FEE

    @property
    def calls(self) -> tuple[str, ...]:
        lp = (self.lp_token,) if self.lp_token else ()
        return (POOL_COUNT, POOL_LIST, self.coins, self.balances, *lp)


CRYPTOSWAP_UNROUTED: Final = "cryptoswap pool: its invariant is not modelled (only StableSwap math is ported exactly)"
POOL_COUNT: Final = "pool_count()(uint256)"
POOL_LIST: Final = "pool_list(uint256)(address)"
#: The AddressProvider's id 0 is the main registry (the only id every AddressProvider version agrees on).
ADDRESS_PROVIDER: Final = "CurveAddressProvider"
GET_ADDRESS: Final = "get_address(uint256)(address)"
MAIN_REGISTRY_ID: Final = 0

#: In reading order: a pool listed twice (the main registry lists some factory pools) is taken from the first.
SOURCES: Final = (
    PoolSource(
        "CurveRegistry",
        "curve/MainRegistry",
        "get_coins(address)(address[8])",
        "get_balances(address)(uint256[8])",
        "get_lp_token(address)(address)",
        PoolMath.STABLESWAP,
        "curve/StableSwap3Pool",
    ),
    PoolSource(
        "CurveCryptoRegistry",
        "curve/CryptoRegistry",
        "get_coins(address)(address[8])",
        "get_balances(address)(uint256[8])",
        "get_lp_token(address)(address)",
        PoolMath.CRYPTOSWAP,
        "curve/Tricrypto2Pool",
        CRYPTOSWAP_UNROUTED,
    ),
    PoolSource(
        "CurveStableFactory",
        "curve/StableFactory",
        "get_coins(address)(address[4])",
        "get_balances(address)(uint256[4])",
        None,
        PoolMath.STABLESWAP,
        "curve/FactoryPlain2Basic",
    ),
    PoolSource(
        "CurveStableNgFactory",
        "curve/StableSwapNGFactory",
        "get_coins(address)(address[])",
        "get_balances(address)(uint256[])",
        None,
        PoolMath.STABLESWAP,
        "curve/StableSwapNGPlain",
        "stable-ng pool: its dynamic off-peg fee (offpeg_fee_multiplier) is not modelled",
    ),
    PoolSource(
        "CurveCryptoFactory",
        "curve/CryptoFactory",
        "get_coins(address)(address[2])",
        "get_balances(address)(uint256[2])",
        "get_token(address)(address)",
        PoolMath.CRYPTOSWAP,
        "curve/CryptoPool",
        CRYPTOSWAP_UNROUTED,
    ),
    PoolSource(
        "CurveTwocryptoNgFactory",
        "curve/TwocryptoNGFactory",
        "get_coins(address)(address[2])",
        "get_balances(address)(uint256[2])",
        None,
        PoolMath.CRYPTOSWAP,
        "curve/TwocryptoNGPool",
        CRYPTOSWAP_UNROUTED,
        NG_CRYPTO_ADMIN_FEE,
    ),
    PoolSource(
        "CurveTricryptoNgFactory",
        "curve/TricryptoNGFactory",
        "get_coins(address)(address[3])",
        "get_balances(address)(uint256[3])",
        None,
        PoolMath.CRYPTOSWAP,
        "curve/TricryptoNGPool",
        CRYPTOSWAP_UNROUTED,
        NG_CRYPTO_ADMIN_FEE,
    ),
)


def source(name: str) -> PoolSource:
    return next(s for s in SOURCES if s.name == name)
