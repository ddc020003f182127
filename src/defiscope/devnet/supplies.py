"""The graded protocols' tokens on the devnet: mainnet's total supply, and who holds what is not circulating.

Each token is minted once, at its real total supply, to account 0; the non-circulating part goes to seeded
"treasury", "vesting" and "team" holders (`holder_address`), so circulating = totalSupply() minus their
balances is a read from chain. Where the protocol's governance holds the treasury on mainnet (Uniswap's and
Compound's timelocks, Aave's ecosystem reserve behind the short executor, Maker's pause proxy), the seeded
treasury hands its balance to that contract once governance is deployed (`TokenSupply.treasury_contract`).

>>> supply_of(1, "UNI").circulating
630000000
>>> sorted(s.symbol for s in SUPPLIES)
['AAVE', 'CAKE', 'COMP', 'CRV', 'EIGEN', 'LDO', 'MKR', 'UNI']

Figures (whole tokens, rounded; approximate late-2025 market-data figures, each +/- a few percent):

| token | total supply | circulating | as of | source |
|---|---|---|---|---|
| UNI | 1,000,000,000 | ~630,000,000 | 2025-11 | CoinGecko / Binance research (circulating ~630M of the fixed 1B) |
| AAVE | 16,000,000 | ~15,270,000 | 2025-11-21 | CoinGecko via MEXC tokenomics page (15.27M of 16M) |
| COMP | 10,000,000 | ~9,350,000 | 2025-11 | CoinGecko (8.85M Dec 2024, rising with COMP distribution) |
| CRV | ~2,320,000,000 | ~1,410,000,000 | 2025-11-18 | CoinGecko via MEXC tokenomics (2.32B / 1.41B) |
| LDO | 1,000,000,000 | ~880,000,000 | 2025 | CoinGecko / Gate research (~88 % circulating) |
| MKR | 977,631 | ~877,631 | 2025 | Sky: SKY's 23,462,665,147 total = 977,631 MKR x 24,000; pause proxy ~100k |
| EIGEN | ~1,740,000,000 | ~560,000,000 | 2025-11 | Eigen Foundation (1,673,646,668 + 4 %/yr), CoinGecko |
| CAKE | ~355,000,000 | ~340,000,000 | 2025-11 | PancakeSwap docs (450M cap, net-deflationary), CoinGecko |

MKR/SKY: the devnet models MKR, the chief's token, at its pre-migration supply (mainnet converted most MKR
to SKY at 1 MKR = 24,000 SKY in 2025, through the MkrSky converter); SKY itself is in the mainnet registry only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from eth_typing import ChecksumAddress

Role = Literal["treasury", "vesting", "team"]


@dataclass(frozen=True, slots=True)
class TokenSupply:
    """A token's whole-token total supply and its non-circulating holdings by role."""

    chain_id: int
    symbol: str
    total: int
    holdings: tuple[tuple[Role, int], ...]
    as_of: str
    source: str
    #: Registry name of the contract that holds the treasury on mainnet (None: the seeded treasury keeps it).
    treasury_contract: str | None = None

    @property
    def locked(self) -> int:
        return sum(amount for _, amount in self.holdings)

    @property
    def circulating(self) -> int:
        return self.total - self.locked


SUPPLIES: Final = (
    TokenSupply(1, "UNI", 1_000_000_000, (("treasury", 370_000_000),), "2025-11", "CoinGecko", "UniswapTimelock"),
    TokenSupply(1, "AAVE", 16_000_000, (("treasury", 730_000),), "2025-11-21", "CoinGecko", "AaveShortExecutor"),
    TokenSupply(
        1, "COMP", 10_000_000, (("treasury", 250_000), ("vesting", 400_000)), "2025-11", "CoinGecko", "CompoundTimelock"
    ),
    TokenSupply(
        1, "CRV", 2_320_000_000, (("treasury", 150_000_000), ("vesting", 760_000_000)), "2025-11-18", "CoinGecko"
    ),
    TokenSupply(1, "LDO", 1_000_000_000, (("treasury", 120_000_000),), "2025", "CoinGecko"),
    TokenSupply(1, "MKR", 977_631, (("treasury", 100_000),), "2025", "Sky (SKY supply / 24,000)", "MakerPauseProxy"),
    TokenSupply(
        1,
        "EIGEN",
        1_740_000_000,
        (("treasury", 335_000_000), ("vesting", 455_000_000), ("team", 390_000_000)),
        "2025-11",
        "Eigen Foundation, CoinGecko",
    ),
    TokenSupply(56, "CAKE", 355_000_000, (("treasury", 15_000_000),), "2025-11", "PancakeSwap docs, CoinGecko"),
)


def supply_of(chain_id: int, symbol: str) -> TokenSupply | None:
    return next((s for s in SUPPLIES if s.chain_id == chain_id and s.symbol == symbol), None)


def circulating_units(chain_id: int, symbol: str, decimals: int = 18) -> int:
    """The circulating amount in the token's integer units (KeyError for a token without supply figures)."""
    supply = supply_of(chain_id, symbol)
    if supply is None:
        raise KeyError(f"no supply figures for {symbol} on chain {chain_id}")
    return supply.circulating * int(10**decimals)


def holder_address(symbol: str, role: Role) -> ChecksumAddress:
    """The seeded holder of ``symbol``'s ``role`` share (deterministic, as every seed address)."""
    # Imported here: spec.py reads the totals above and stays free of web3 at import.
    from defiscope.devnet.seeding import seed_address

    return seed_address(f"{symbol.lower()}-supply", role)


def non_circulating_holders(supply: TokenSupply, contracts: Mapping[str, str]) -> tuple[str, ...]:
    """Addresses whose balances are not circulating: the seeded holders, and the treasury contract if deployed."""
    holders: list[str] = [holder_address(supply.symbol, role) for role, _ in supply.holdings]
    if supply.treasury_contract and supply.treasury_contract in contracts:
        holders.append(contracts[supply.treasury_contract])
    return tuple(holders)
