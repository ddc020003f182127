"""Which positions a protocol's figure leaves out by rule: blacklisted tokens and, optionally, DefiLlama's
long-tail rule for DEX pools. Pure: positions in, (kept, left out with why) out.

defiscope counts every position it can read and lists the tokens it cannot price. Two rules narrow that:

- **blacklist** (always on, empty by default): tokens configured never to be counted, with why. DefiLlama has
  no global EVM blacklist; its adapters pass `blacklistedTokens` per protocol (the protocol's own token, which
  it counts as staking; its own LP tokens). Configure ours per chain::

      [tvl.blacklist.1]
      "0x6B175474E89094C44Da98b954EedeAC495271d0F" = "why it is never counted"

- **long_tail = "defillama"** (off by default): DefiLlama's rule for Uniswap-style pools
  (`transformDexBalances` behind `getUniTVL`, DefiLlama-Adapters `projects/helper/portedTokens.js`): a pool
  with exactly one core asset (`coreAssets.json`: WETH, stablecoins, WBTC, ...) is worth twice its core side
  and its other side is not valued on its own; pools with two core assets or none count both sides as they
  are. Its older helper (`unknownTokens.js`) also ignored pools holding under `minLPRatio` = 1 % of the
  largest pool's amount of the same core asset when deriving a price; we apply that floor to the pool: under
  it, the long-tail side is left out and the core side counts once.

    >>> policy = LongTailPolicy(defillama=True)
    >>> weth, memecoin = "0x" + "c" * 40, "0x" + "1" * 40
    >>> pool = [Position(weth, 10, holder="0xpool"), Position(memecoin, 5_000, holder="0xpool")]
    >>> kept, left = policy.apply(1, "Dexes", pool, core={weth})
    >>> [(p.token == weth, p.amount) for p in kept], [l.position.amount for l in left]
    ([(True, 10), (True, 10)], [5000])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Final

from eth_utils import is_hex_address

from defiscope.errors import InputError
from defiscope.protocols.base import BalanceKind, Position
from defiscope.tvl.model import NotCountedCause

DEX_CATEGORY: Final = "Dexes"
#: Symbols looked up in each deployment's token registry: DefiLlama's `coreAssets.json` on Ethereum and BSC.
DEFAULT_CORE_SYMBOLS: Final = ("WETH", "WBTC", "USDC", "USDT", "DAI", "WBNB", "BUSD", "BTCB", "ETH")
#: `minLPRatio` of DefiLlama's `getUniTVL` in `unknownTokens.js`: 1 % of the largest pool's core amount.
DEFILLAMA_MIN_LP_RATIO: Final = Fraction(1, 100)
LONG_TAIL_MODES: Final = ("all", "defillama")

DOUBLED: Final = "long-tail side: DefiLlama values a pool with one core asset as twice its core side"
UNDER_FLOOR: Final = "long-tail side of a pool whose core side is under {pct}% of the largest pool's (DefiLlama floor)"
BLACKLISTED: Final = "blacklisted: {why}"
UNREAD_RULE: Final = (
    "A position that cannot be read (one pool, reserve or market whose call reverts or whose token has no code) "
    "is listed as not counted with its reason and the rest of the protocol stands; never counted as 0."
)


class PolicyInputError(InputError):
    """A malformed `[tvl]` table."""


@dataclass(frozen=True, slots=True)
class Left:
    """A held position a rule leaves out of the figure, and why."""

    position: Position
    cause: NotCountedCause
    reason: str


@dataclass(frozen=True, slots=True)
class LongTailPolicy:
    blacklist: Mapping[int, Mapping[str, str]] = field(default_factory=dict)  # chain -> lowercase address -> why
    defillama: bool = False
    core_symbols: tuple[str, ...] = DEFAULT_CORE_SYMBOLS
    min_lp_ratio: Fraction = DEFILLAMA_MIN_LP_RATIO

    def apply(
        self, chain_id: int, category: str, positions: Sequence[Position], *, core: Collection[str]
    ) -> tuple[list[Position], list[Left]]:
        """The positions counted, and those left out. `core`: the chain's core asset addresses."""
        kept, left = self.without_blacklisted(chain_id, positions)
        if self.defillama and category == DEX_CATEGORY:
            kept, long_tail = core_side(kept, {c.lower() for c in core}, self.min_lp_ratio)
            left += long_tail
        return kept, left

    def without_blacklisted(self, chain_id: int, positions: Sequence[Position]) -> tuple[list[Position], list[Left]]:
        listed = self.blacklist.get(chain_id, {})
        kept, left = [], []
        for p in positions:
            why = listed.get(p.token.lower())
            if why is None:
                kept.append(p)
            else:
                left.append(Left(p, NotCountedCause.BLACKLISTED, BLACKLISTED.format(why=why)))
        return kept, left

    def describe(self, category: str = DEX_CATEGORY) -> list[str]:
        """What a protocol of `category` leaves out of its figure, with the numbers, for `defiscope methodology`."""
        count = sum(len(v) for v in self.blacklist.values())
        lines = [
            UNREAD_RULE,
            "Blacklisted tokens are never counted and are listed as not counted with their reason ("
            + (f"{count} configured in [tvl.blacklist]" if count else "none configured")
            + "; DefiLlama keeps no global EVM list, its adapters pass blacklistedTokens one by one).",
        ]
        if category != DEX_CATEGORY:
            return lines
        pct = _pct(self.min_lp_ratio)
        rule = (
            f"a pool with exactly one core asset ({', '.join(self.core_symbols)}) counts twice its core side and "
            f"its other side is listed as not counted; a pool whose core side holds under {pct}% of the largest "
            "such pool's amount of that asset counts its core side once"
        )
        if self.defillama:
            lines.append(f'DefiLlama long-tail rule ON (long_tail = "defillama"): {rule}.')
        else:
            lines.append(
                "DefiLlama long-tail rule off (default): every side of every pool is counted and tokens without a "
                f'price are listed as unpriced. With long_tail = "defillama" or --defillama-rules: {rule}.'
            )
        return lines


def core_side(
    positions: Sequence[Position], core: Collection[str], min_ratio: Fraction
) -> tuple[list[Position], list[Left]]:
    """DefiLlama's rule over one DEX's positions; `core` lowercase. Pools are holders with exactly two TVL
    positions in distinct tokens; anything else is kept as it is."""
    by_holder: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(positions):
        if p.holder is not None and p.kind is BalanceKind.TVL:
            by_holder[p.holder].append(i)
    # (core index, other index) of each pool with exactly one core asset.
    pools: list[tuple[int, int]] = []
    for indices in by_holder.values():
        if len(indices) != 2 or positions[indices[0]].token == positions[indices[1]].token:
            continue
        a, b = indices
        a_core, b_core = positions[a].token.lower() in core, positions[b].token.lower() in core
        if a_core != b_core:
            pools.append((a, b) if a_core else (b, a))
    largest: dict[str, int] = defaultdict(int)
    for c, _ in pools:
        largest[positions[c].token.lower()] = max(largest[positions[c].token.lower()], positions[c].amount)
    # The other side's index -> the core side counted again in its place (None: under the floor, dropped).
    replaced: dict[int, Position | None] = {}
    left: list[Left] = []
    for c, other in pools:
        side = positions[c]
        if side.amount < min_ratio * largest[side.token.lower()]:
            left.append(Left(positions[other], NotCountedCause.LONG_TAIL, UNDER_FLOOR.format(pct=_pct(min_ratio))))
            replaced[other] = None
            continue
        left.append(Left(positions[other], NotCountedCause.LONG_TAIL, DOUBLED))
        replaced[other] = replace(side, label=f"{side.label or side.holder} (core side again, for its long-tail side)")
    kept = []
    for i, p in enumerate(positions):
        if i not in replaced:
            kept.append(p)
        elif (again := replaced[i]) is not None:
            kept.append(again)
    return kept, left


def parse_policy(table: Mapping[str, Any], where: str) -> LongTailPolicy:
    """The `[tvl]` table of the config file: ``long_tail = "all" | "defillama"``, ``core_assets = [symbols]``,
    ``min_lp_ratio = 0.01`` and ``[tvl.blacklist.<chain id>] "<address>" = "why"``."""
    unknown = set(table) - {"long_tail", "core_assets", "min_lp_ratio", "blacklist"}
    if unknown:
        raise PolicyInputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    mode = table.get("long_tail", "all")
    if mode not in LONG_TAIL_MODES:
        raise PolicyInputError(f"{where}: long_tail must be one of {', '.join(LONG_TAIL_MODES)}, not {mode!r}")
    symbols = table.get("core_assets", list(DEFAULT_CORE_SYMBOLS))
    if not isinstance(symbols, list) or not all(isinstance(s, str) and s for s in symbols):
        raise PolicyInputError(f"{where}: core_assets must be a list of token symbols")
    ratio_value = table.get("min_lp_ratio", DEFILLAMA_MIN_LP_RATIO)
    try:
        ratio = Fraction(str(ratio_value)) if not isinstance(ratio_value, Fraction) else ratio_value
    except ValueError:
        raise PolicyInputError(f"{where}: min_lp_ratio must be a number between 0 and 1") from None
    if isinstance(ratio_value, bool) or not 0 <= ratio <= 1:
        raise PolicyInputError(f"{where}: min_lp_ratio must be a number between 0 and 1, not {ratio_value!r}")
    return LongTailPolicy(_blacklist(table.get("blacklist", {}), where), mode == "defillama", tuple(symbols), ratio)


def _blacklist(doc: object, where: str) -> dict[int, dict[str, str]]:
    if not isinstance(doc, dict):
        raise PolicyInputError(f"{where}: blacklist must be a table of chain ids")
    out: dict[int, dict[str, str]] = {}
    for chain, entries in doc.items():
        if not str(chain).isdigit() or not isinstance(entries, dict):
            raise PolicyInputError(f"{where}: [tvl.blacklist.{chain}] must be a table under a numeric chain id")
        for address, why in entries.items():
            if not (address.startswith("0x") and is_hex_address(address)) or not isinstance(why, str) or not why:
                raise PolicyInputError(
                    f'{where}: [tvl.blacklist.{chain}] entries are "0x<40 hex digits>" = "why", not {address!r}'
                )
            out.setdefault(int(chain), {})[address.lower()] = why
    return out


def _pct(ratio: Fraction) -> str:
    value = ratio * 100
    return str(value.numerator) if value.denominator == 1 else str(float(value))
