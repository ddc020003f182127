"""MakerDAO / Sky adapter: TVL = collateral of every registered ilk; borrowed = the same ilks' DAI debt.

Ilks come from the IlkRegistry (``list()``, then ``join``/``gem``/``dec``/``class``); each is counted by its
class (`ilks.RULES`): a GemJoin's gem balance, or a LitePSM's gem in its ``pocket``; RWA ilks are left
out, with the reason kept in ``skipped``. Borrowed is each counted ilk's debt, ``Art * rate`` from the Vat
(rad), in DAI wad rounded down. The Vat's wards (its ``rely`` LogNotes) check the registry: a ward that
answers like a join but is not registered is kept in ``unregistered`` and logged.

    adapter = MakerAdapter(deployment)
    positions = await adapter.positions(reader)   # gem per ilk holder (tvl), DAI debt per ilk (borrowed)
    adapter.skipped, adapter.unregistered         # ilk -> why not counted; join -> ilk the registry lacks
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import structlog

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, Uncounted
from defiscope.protocols.events import EventStream
from defiscope.protocols.governors import governance_surface, streams_of
from defiscope.protocols.maker.ilks import LITE_PSM_PREFIX, VAULT_CLASSES, RegistryIlk, read_registry
from defiscope.protocols.maker.info import INFO
from defiscope.protocols.maker.math import RAY
from defiscope.protocols.maker.rates import fee_apr, fee_apy
from defiscope.protocols.maker.relies import unregistered_joins, vat_wards, wards_at
from defiscope.protocols.maker.surface import (
    BALANCE_OF,
    DEPLOY_BLOCK,
    JOIN_KIND,
    JUG,
    JUG_BASE,
    JUG_ILKS,
    POCKET,
    REGISTRY,
    VAT,
    VAT_ILKS,
    maker_surface,
)
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldKind

log = structlog.get_logger(__name__)

JOIN_PREFIX: Final = "MakerGemJoin:"
#: How often the Vat's wards are checked against the registry: about a day of Ethereum blocks.
WARDS_CHECK_BLOCKS: Final = 7_200
DAI: Final = "MakerDai"

__all__ = ["DAI", "INFO", "JOIN_PREFIX", "MakerAdapter", "gem_joins"]


def gem_joins(deployment: Deployment) -> dict[str, str]:
    """Ilk name -> GemJoin address, as the address registry names them (the adapter reads the IlkRegistry)."""
    return {n[len(JOIN_PREFIX) :]: a for n, a in deployment.contracts.items() if n.startswith(JOIN_PREFIX)}


def lite_psms(deployment: Deployment) -> dict[str, str]:
    """Ilk name -> LitePSM address (chainlog ``MCD_LITE_PSM_*``): joinless ilks whose gem sits in a pocket."""
    return {n[len(LITE_PSM_PREFIX) :]: a for n, a in deployment.contracts.items() if n.startswith(LITE_PSM_PREFIX)}


class MakerAdapter(Adapter):
    info = INFO

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.registry = deployment.contract(REGISTRY)
        self.vat = deployment.contract(VAT)
        self.dai = deployment.contract(DAI)
        self.lite_psms = lite_psms(deployment)
        self.pockets: dict[str, str] = {}  # LitePSM -> pocket (immutable)
        start = DEPLOY_BLOCK.get(deployment.chain_id, 0) if deployment.network == "mainnet" else 0
        self.wards = vat_wards(self.vat, start)
        self.skipped: dict[str, str] = {}  # ilk -> why it is not counted (of the latest read)
        self.unregistered: dict[str, str] = {}  # join -> ilk: Vat wards answering as joins, not in the registry
        self.probed: dict[str, str | None] = {}  # Vat ward -> the ilk it answers as a join, or None
        self.ilks: list[RegistryIlk] = []  # as the registry listed them at the latest read
        self.wards_checked_at: int | None = None  # block of the latest check of the Vat's wards
        self.listed_to: int | None = None  # the newest block whose registry list was read

    def surface(self) -> tuple[ContractUse, ...]:
        return (*maker_surface(self.deployment), *governance_surface(self.deployment, self.info.slug))

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """The ilks' GemJoins as the registry listed them at the latest read, once a read reached ``block`` (a join
        registered later has code at ``block`` only if it was deployed by then); joinless ilks have none."""
        if self.listed_to is None or self.listed_to < block:
            return None
        return {JOIN_KIND: tuple(dict.fromkeys(i.join for i in self.ilks if int(i.join, 16)))}

    def event_streams(self) -> Sequence[EventStream]:
        """The chief's and pause's notes (Maker's governance), when the registry has them."""
        return streams_of(self.deployment, self.info.slug)

    async def yields(self, reader: Reader) -> list[Yield]:
        """Each vault ilk's stability fee, as the rate its borrowers pay on DAI.

        The ilks are those of the latest positions read (discovery is the positions' job), so the rates go out
        in the same batch; before any, the registry is read here."""
        known = self.ilks or await read_registry(reader, self.registry)
        ilks = [i for i in known if i.ilk_class in VAULT_CLASSES]
        jug = self.deployment.contract(JUG)
        results = await reader.call_many([Call.of(jug, JUG_BASE), *(Call.of(jug, JUG_ILKS, i.id) for i in ilks)])
        base, *rows = [r.unwrap() for r in results]
        found = []
        for ilk, (duty, _rho) in zip(ilks, rows, strict=True):
            per_second = base[0] + duty
            found.append(
                Yield(
                    self.info.slug,
                    ilk.join,
                    self.dai,
                    "DAI",
                    YieldKind.BORROW,
                    fee_apr(per_second),
                    fee_apy(per_second),
                    f"{ilk.name}: Jug base + duty per second; APY = rpow over a year",
                )
            )
        return found

    async def positions(self, reader: Reader) -> list[Position | Uncounted]:
        # The ilks known from the last read are re-checked and read in one batch with the registry's list;
        # only new or changed ilks (and the first read) cost more rounds.
        known = self.ilks
        ilks, state, _, unregistered = await asyncio.gather(
            read_registry(reader, self.registry, known),
            self._read_state(reader, self._counted(known)[0]),
            self._read_pockets(reader),
            self._check_wards(reader, known),
        )
        counted, self.skipped = self._counted(ilks)
        same = set(known)
        state.update(await self._read_state(reader, [i for i in counted if i not in same]))
        self.ilks, self.unregistered = ilks, unregistered
        self.listed_to = max(self.listed_to or 0, reader.block.number)
        if set(ilks) != same and known:  # the registry changed: check the wards against it at once
            self.wards_checked_at = None
        if self.skipped or self.unregistered:
            log.info("maker.not_counted", skipped=self.skipped, unregistered=self.unregistered)
        # A gem whose balanceOf cannot be read (a token without code, a reverting call) leaves that ilk's collateral
        # not counted, with why; its debt (the Vat's) and every other ilk stand.
        positions: list[Position | Uncounted] = []
        for ilk in counted:
            held, holder, label = state[ilk.name][1], self._holder(ilk), f"{ilk.name} {ilk.rule.holder}"
            if held.success:
                positions.append(Position(ilk.gem, held.one(), BalanceKind.TVL, holder, label))
            else:
                reason = f"{held.call.describe()} failed: {held.error}"
                positions.append(Uncounted(holder, ilk.gem, reason, label))
        # Debt is Art * rate in rad (1e45); as DAI wad (1e18) it is rounded down, as vat.debt would be read.
        positions += [
            Position(self.dai, state[ilk.name][0] // RAY, BalanceKind.BORROWED, self.vat, f"{ilk.name} debt")
            for ilk in counted
        ]
        return positions

    async def _read_state(self, reader: Reader, counted: list[RegistryIlk]) -> dict[str, tuple[int, CallResult]]:
        """Per counted ilk, in one round: its debt in rad (Vat Art x rate; the Vat failing fails Maker) and the
        result of reading the gem its holder has (which may have failed: one ilk's token, not Maker's)."""
        calls = []
        for ilk in counted:
            calls += [Call.of(self.vat, VAT_ILKS, ilk.id), Call.of(ilk.gem, BALANCE_OF, self._holder(ilk))]
        results = await reader.call_many(calls)
        state = {}
        for i, ilk in enumerate(counted):
            art, rate, *_ = results[2 * i].unwrap()
            state[ilk.name] = (art * rate, results[2 * i + 1])
        return state

    def _counted(self, ilks: list[RegistryIlk]) -> tuple[list[RegistryIlk], dict[str, str]]:
        counted, skipped = [], {}
        for ilk in ilks:
            rule = ilk.rule
            if rule.holder == "litepsm-pocket" and ilk.name not in self.lite_psms:
                skipped[ilk.name] = "joinless ilk with no LitePSM in the address registry"
            elif rule.holder is None:
                skipped[ilk.name] = rule.reason
            else:
                counted.append(ilk)
        return counted, skipped

    def _holder(self, ilk: RegistryIlk) -> str:
        return self.pockets[self.lite_psms[ilk.name]] if ilk.rule.holder == "litepsm-pocket" else ilk.join

    async def _read_pockets(self, reader: Reader) -> None:
        unknown = [psm for psm in self.lite_psms.values() if psm not in self.pockets]
        pockets = await reader.values([Call.of(psm, POCKET) for psm in unknown])
        self.pockets.update(zip(unknown, pockets, strict=True))

    async def _check_wards(self, reader: Reader, ilks: list[RegistryIlk]) -> dict[str, str]:
        """The Vat's wards that answer as joins but are not registered; a check, so it runs on the first read,
        then every `WARDS_CHECK_BLOCKS` blocks (or when the registry changed), keeping its last answer between."""
        block = reader.block.number
        if (
            self.wards_checked_at is not None
            and self.wards_checked_at <= block < self.wards_checked_at + WARDS_CHECK_BLOCKS
        ):
            return self.unregistered
        await self.wards.scan(reader)
        wards = wards_at(self.wards, block)
        self.wards_checked_at = block
        # Registered joins and the address registry's own contracts need no probe; the Vat's other wards
        # (Jug, Spotter, Dog, End, Clippers...) answer no gem() and drop out.
        known = {ilk.join for ilk in ilks or await read_registry(reader, self.registry)}
        known |= set(self.deployment.contracts.values())
        return dict(await unregistered_joins(reader, list(wards), known, self.probed))
