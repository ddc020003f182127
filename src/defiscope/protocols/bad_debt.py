"""Bad debt where the real ABI exposes it, read at the block: debt that no collateral backs, per market and token.

    debts = await bad_debts(reader, uses)     # uses: a protocol's `ContractUse`s (its declared surface)
    debts[0].market, debts[0].amount, debts[0].why    # "Comet USDC", 0, None (a negative getReserves() is > 0)

- Compound III: `getReserves()` (int256, base-token units) below zero is bad debt, `-reserves`; the base token is
  `baseToken()`.
- Aave V3 (v3.3 on): `getReserveDeficit(asset)` (uint256, asset units) for each of `getReservesList()`; older
  pools (and the devnet's 1.19.3) have no such function: the call fails and the deficit is not read, with why.
- Maker: the debt engine's (the Vow, `jug.vow()`) unbacked debt `vat.sin(vow)` beyond its surplus `vat.dai(vow)`,
  in rad (10**45 per DAI), as DAI's wei rounded up (a risk figure is not rounded in the protocol's favour).

Other protocols expose none here: no entry, and the risk score says bad debt was not read (never 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from eth_utils import to_checksum_address

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import CallReader
from defiscope.deployments import Deployment
from defiscope.protocols.maker.surface import MAKER_DAI, VAT_DAI, VAT_SIN, VOW
from defiscope.protocols.surface import ContractUse

#: Comet: the protocol's reserves of its base token; negative when borrowers' shortfall exceeds them.
GET_RESERVES: Final = "getReserves()(int256)"
COMET_BASE_TOKEN: Final = "baseToken()(address)"
#: Aave V3.3+: the debt a reserve wrote off (liquidations that left no collateral), not yet covered.
GET_RESERVE_DEFICIT: Final = "getReserveDeficit(address)(uint256)"
AAVE_RESERVES_LIST: Final = "getReservesList()(address[])"


@dataclass(frozen=True, slots=True)
class BadDebt:
    """One market's bad debt in one token, in its raw units (None with ``why`` when it could not be read)."""

    market: str
    token: str | None
    amount: int | None
    why: str | None = None


#: A rad is a wad (18 decimals, DAI's) times a ray (10**27).
RAY: Final = 10**27

COMET: Final = "compound/Comet"
AAVE_POOL: Final = "aave/IPool"
VAT: Final = "maker/VatAbstract"
JUG: Final = "maker/Jug"


def _fixed(uses: Sequence[ContractUse], interface: str) -> list[tuple[str, str]]:
    return [(use.name, use.address) for use in uses if use.address is not None and use.interface == interface]


def _maker(uses: Sequence[ContractUse]) -> tuple[str, str] | None:
    """The Vat and the Jug (whose `vow()` names the debt engine), when the protocol has both."""
    vats, jugs = _fixed(uses, VAT), _fixed(uses, JUG)
    return (vats[0][1], jugs[0][1]) if vats and jugs else None


def exposes_bad_debt(uses: Sequence[ContractUse]) -> bool:
    return bool(_fixed(uses, COMET) or _fixed(uses, AAVE_POOL) or _maker(uses))


async def bad_debts(reader: CallReader, deployment: Deployment, uses: Sequence[ContractUse]) -> tuple[BadDebt, ...]:
    """The bad debt of each fixed contract of ``uses`` that exposes it, in two batches (one call's answer: one
    read); Maker's is in the registry's DAI."""
    dai = deployment.contracts.get(MAKER_DAI)
    comets, pools, maker = _fixed(uses, COMET), _fixed(uses, AAVE_POOL), _maker(uses)
    first = await reader.call_many(
        [Call.of(address, s) for _, address in comets for s in (GET_RESERVES, COMET_BASE_TOKEN)]
        + [Call.of(address, AAVE_RESERVES_LIST) for _, address in pools]
        + ([Call.of(maker[1], VOW)] if maker else [])
    )
    found = [_comet(name, *first[2 * i : 2 * i + 2]) for i, (name, _) in enumerate(comets)]
    lists = first[2 * len(comets) : 2 * len(comets) + len(pools)]
    assets = {address: _assets(answer) for (_, address), answer in zip(pools, lists, strict=True)}
    asked = [(name, address, asset) for name, address in pools for asset in assets[address] or ()]
    vow = first[-1] if maker else None
    filed = maker is not None and vow is not None and vow.success and int(vow.value[0], 16)
    engine = [Call.of(maker[0], f, vow.value[0]) for f in (VAT_SIN, VAT_DAI)] if maker and vow and filed else []
    second = await reader.call_many(
        [Call.of(address, GET_RESERVE_DEFICIT, asset) for _, address, asset in asked] + engine
    )
    deficits = second[: len(asked)]
    if vow is not None:
        found.append(_vow_debt(vow, second[len(asked) :], dai))
    found += [
        BadDebt(name, None, None, f"getReservesList() failed: {answer.error}")
        for (name, address), answer in zip(pools, lists, strict=True)
        if assets[address] is None
    ]
    found += [_deficit(name, asset, answer) for (name, _, asset), answer in zip(asked, deficits, strict=True)]
    return tuple(found)


def _comet(name: str, reserves: CallResult, base: CallResult) -> BadDebt:
    for answer in (reserves, base):
        if not answer.success:
            return BadDebt(name, None, None, f"{answer.call.function.signature} failed: {answer.error}")
    return BadDebt(name, to_checksum_address(base.value[0]), max(0, -int(reserves.value[0])))


def _assets(answer: CallResult) -> list[str] | None:
    return [to_checksum_address(a) for a in answer.value[0]] if answer.success else None


def _deficit(name: str, asset: str, answer: CallResult) -> BadDebt:
    if answer.success:
        return BadDebt(name, asset, int(answer.value[0]))
    return BadDebt(name, asset, None, f"getReserveDeficit failed (pools before v3.3 have none): {answer.error}")


def _vow_debt(vow: CallResult, answers: Sequence[CallResult], dai: str | None) -> BadDebt:
    """Maker's unbacked debt: the Vow's sin beyond its dai (rad), as DAI wei rounded up."""
    if not vow.success:
        return BadDebt("Vow", dai, None, f"jug.vow() failed: {vow.error}")
    if not int(vow.value[0], 16):
        return BadDebt("Vow", dai, None, "jug.vow() is the zero address: no debt engine filed")
    sin, surplus = answers
    for answer in (sin, surplus):
        if not answer.success:
            return BadDebt("Vow", dai, None, f"vat.{answer.call.function.signature} failed: {answer.error}")
    unbacked = max(0, int(sin.value[0]) - int(surplus.value[0]))
    why = None if dai is not None else "no DAI in the registry to value it"
    return BadDebt(f"Vow {to_checksum_address(vow.value[0])}", dai, -(-unbacked // RAY), why)
