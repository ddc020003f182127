"""Maker's governance as a simulation agent: spells written, voted for in the chief, lifted, scheduled and cast.

Example::

    maker = MakerGovernanceAgents()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(maker,)))
    sim.run(30)
    maker.spells[0].kind, maker.spells[0].address       # "stability fee", "0x…"

Every `spell_every` ticks (and on the first) a spell is deployed whose action is GovActions and whose `sig` is
the next change of `CHANGES`: an ilk's stability fee (`dripAndFile` on the Jug), an ilk's debt ceiling (`file`
on the Vat), a new ward of the Jug (`rely`). Each tick, every live spell moves on from what the chain says:
the backers vote for it (`vote(address[])`, locking their MKR first) until it out-approves the hat, anyone lifts
it, the hat schedules itself, and anyone casts it once the pause's delay has passed. Every `doom_every`-th
spell is backed only by the small voters: it never out-approves the hat and expires unscheduled. Now and then
a voter frees part of its MKR (and so the approval of its slate moves).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from eth_typing import ChecksumAddress
from web3.contract import Contract

from defiscope.devnet.agents.wallet import GAS_MONEY, Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.maker import ILKS, duty_for, ilk_id
from defiscope.devnet.maker_governance import voter_address
from defiscope.devnet.seeding import seed_address
from defiscope.protocols.maker_governance_events import slate_of

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

RAD: Final = 10**45
#: Who backs a spell: the four largest voters (57 % of the supply) carry it; a doomed one has the three
#: smallest (17 %), never more than the hat.
BACKERS: Final = (0, 1, 2, 3)
DOOMED_BACKERS: Final = (4, 5, 6)
FREE_CHANCE: Final = 0.2  # per tick: one voter frees a tenth of its locked MKR


def _bytes32(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


def _stability_fee(sim: Simulation, rng: random.Random, actions: Contract) -> tuple[str, bytes]:
    ilk = rng.choice([i for i in ILKS if Decimal(i.fee) > 0])
    fee = Decimal(ilk.fee) + Decimal(rng.choice((-5, -2, 2, 5))) / 1000
    args = (sim.chain.contracts["MakerJug"], ilk_id(ilk.name), _bytes32("duty"), duty_for(str(fee)))
    return f"{ilk.name} stability fee {fee:%}", _encoded(actions, "dripAndFile", *args)


def _debt_ceiling(sim: Simulation, rng: random.Random, actions: Contract) -> tuple[str, bytes]:
    ilk = rng.choice(ILKS)
    line = ilk.line + rng.choice((-1, 1)) * ilk.line // 10
    args = (sim.chain.contracts["MakerVat"], ilk_id(ilk.name), _bytes32("line"), line * RAD)
    return f"{ilk.name} debt ceiling {line:,} DAI", _encoded(actions, "file", *args)


def _ward(sim: Simulation, rng: random.Random, actions: Contract) -> tuple[str, bytes]:
    facilitator = seed_address("maker-governance", f"facilitator {rng.randrange(1000)}")
    return f"Jug ward {facilitator}", _encoded(actions, "rely", sim.chain.contracts["MakerJug"], facilitator)


def _encoded(contract: Contract, name: str, *args: object) -> bytes:
    # GovActions overloads `file`: pick by argument count.
    function = next(f for f in contract.all_functions() if f.fn_name == name and len(f.abi["inputs"]) == len(args))
    return bytes.fromhex(contract.encode_abi(function.signature, args=list(args))[2:])


Change = Callable[["Simulation", random.Random, Contract], tuple[str, bytes]]
CHANGES: Final[tuple[tuple[str, Change], ...]] = (
    ("stability fee", _stability_fee),
    ("debt ceiling", _debt_ceiling),
    ("ward", _ward),
)


#: Seconds a spell lives at `serve`'s pace (ticks seconds apart): doomed spells expire within minutes.
SPELL_LIFETIME: Final = 600
#: A spell's life on a warped clock (`devnet.fast_forward`, hours or days per tick): mainnet's usual 30 days.
WARPED_SPELL_LIFETIME: Final = 30 * 24 * 3600


@dataclass(slots=True)
class LiveSpell:
    address: ChecksumAddress
    kind: str
    title: str
    doomed: bool
    finished: bool = False  # cast, or expired unscheduled


@dataclass(slots=True)
class MakerGovernanceAgents:
    spell_every: int = 12  # ticks between spells
    doom_every: int = 4  # every doom_every-th spell is backed by the small voters only; 0: none
    lifetime: int = SPELL_LIFETIME  # seconds from a spell's deployment to its expiration
    spells: list[LiveSpell] = field(default_factory=list)
    locked: dict[int, int] = field(default_factory=lambda: {0: 1})  # voter -> tick of its latest lock
    ticks: int = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        self.ticks += 1
        if (self.ticks - 1) % self.spell_every == 0:
            self._write(sim, rng)
        for spell in self.spells:
            if not spell.finished:
                self._advance(sim, spell)
        if self.locked and rng.random() < FREE_CHANCE:
            self._free(sim, rng)

    def _contract(self, sim: Simulation, artifact: str, name: str) -> Contract:
        return sim.sender.contract(contract_artifact(artifact), sim.chain.contracts[name])

    def _voter(self, sim: Simulation, index: int) -> Wallet:
        wallet = Wallet(sim, voter_address(index))
        sim.sender.ensure_balance(wallet.address, GAS_MONEY)
        return wallet

    def _write(self, sim: Simulation, rng: random.Random) -> None:
        made = len(self.spells)
        kind, change = CHANGES[made % len(CHANGES)]
        actions = self._contract(sim, "GovActions", "MakerGovActions")
        title, sig = change(sim, rng, actions)
        now = sim.sender.pending_timestamp()
        description = f"Maker spell #{made + 1}: {title}"
        spell = sim.sender.deploy(
            contract_artifact("DssSpell"),
            sim.chain.contracts["MakerPause"],
            actions.address,
            sig,
            now + self.lifetime,
            description,
        )
        doomed = self.doom_every > 0 and (made + 1) % self.doom_every == 0
        self.spells.append(LiveSpell(spell.address, kind, description, doomed))

    def _advance(self, sim: Simulation, live: LiveSpell) -> None:
        spell = sim.sender.contract(contract_artifact("DssSpell"), live.address)
        chief = self._contract(sim, "DSChief", "MakerChief")
        now = sim.sender.pending_timestamp()
        eta, done = spell.functions.eta().call(), spell.functions.done().call()
        anyone = self._voter(sim, 0)
        if done:
            live.finished = True
        elif eta and now >= eta:
            live.finished = anyone.send(spell.functions.cast())
        elif eta:
            return  # waiting out the pause's delay
        elif now > spell.functions.expiration().call():
            live.finished = True  # expired unscheduled
        elif chief.functions.hat().call() == live.address:
            anyone.send(spell.functions.schedule())
        else:
            self._vote(sim, chief, live)
            approval = chief.functions.approvals
            if approval(live.address).call() > approval(chief.functions.hat().call()).call():
                anyone.send(chief.functions.lift(live.address))

    def _vote(self, sim: Simulation, chief: Contract, live: LiveSpell) -> None:
        mkr = self._contract(sim, "DSToken", "MakerGovernanceToken")
        vote = chief.get_function_by_signature("vote(address[])")
        slate = bytes.fromhex(slate_of([live.address])[2:])
        for index in DOOMED_BACKERS if live.doomed else BACKERS:
            voter = self._voter(sim, index)
            if chief.functions.votes(voter.address).call() == slate:
                continue
            balance = mkr.functions.balanceOf(voter.address).call()
            if balance and voter.send(chief.functions.lock(balance)):
                self.locked[index] = self.ticks
            voter.send(vote([live.address]))

    def _free(self, sim: Simulation, rng: random.Random) -> None:
        """One voter whose last lock was in an earlier tick (a lock's block cannot free it) frees a tenth."""
        ready = sorted(i for i, tick in self.locked.items() if tick < self.ticks)
        if not ready:
            return
        index = rng.choice(ready)
        chief = self._contract(sim, "DSChief", "MakerChief")
        voter = self._voter(sim, index)
        deposit = chief.functions.deposits(voter.address).call()
        if deposit:
            voter.send(chief.functions.free(deposit // 10))
