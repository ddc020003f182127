"""Maker vault owners as a simulation agent: open (lock WETH, draw DAI) and close (repay, free).

Example::

    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(MakerVaults(),)))

Opening joins WETH through the ETH-A GemJoin, ``frob``s a debt of 40-85 % of what the ilk's ``spot``
allows, and exits the DAI through the DaiJoin. Closing joins the DAI back, wipes the whole debt and frees
the collateral; a vault whose owner cannot cover the accrued debt stays open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from web3.contract import Contract

from defiscope.devnet.agents.lending import portion
from defiscope.devnet.agents.wallet import Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.maker import RAY, ilk_id
from defiscope.devnet.tx import MAX_UINT256

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

ILK: Final = "ETH-A"
VAULT_OWNERS: Final = 4


@dataclass(slots=True)
class MakerVaults:
    owners: int = VAULT_OWNERS
    activity: float = 0.4
    collateral_eth: tuple[int, int] = (10, 150)
    wallets: list[Wallet] = field(default_factory=list)
    actions: int = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        if rng.random() >= self.activity:
            return
        if not self.wallets:
            self.wallets = [Wallet.of(sim, f"maker vault {i}") for i in range(self.owners)]
        wallet = rng.choice(self.wallets)
        vat = _contract(sim, "Vat", "MakerVat")
        ink, art = vat.functions.urns(ilk_id(ILK), wallet.address).call()
        done = self._close(sim, wallet, ink, art) if art else self._open(sim, rng, wallet)
        self.actions += done

    def _open(self, sim: Simulation, rng: random.Random, wallet: Wallet) -> bool:
        vat = _contract(sim, "Vat", "MakerVat")
        join = _contract(sim, "GemJoin", f"MakerGemJoin:{ILK}")
        ink = rng.randint(*self.collateral_eth) * 10**18
        wallet.fund(wallet.wrapped_symbol, ink)
        wallet.approve(wallet.wrapped_symbol, join.address)
        if not wallet.send(join.functions.join(wallet.address, ink)):
            return False
        _, rate, spot, _, _ = vat.functions.ilks(ilk_id(ILK)).call()
        # Safe means ink * spot >= art * rate; draw a share of the most the vault allows.
        art = portion(rng, ink * spot // rate, 40, 85)
        if not wallet.send(vat.functions.frob(ilk_id(ILK), *[wallet.address] * 3, ink, art)):
            return False
        dai_join = _contract(sim, "DaiJoin", "MakerDaiJoin")
        wallet.send(vat.functions.hope(dai_join.address))
        return wallet.send(dai_join.functions.exit(wallet.address, art * rate // RAY))

    def _close(self, sim: Simulation, wallet: Wallet, ink: int, art: int) -> bool:
        vat = _contract(sim, "Vat", "MakerVat")
        dai_join = _contract(sim, "DaiJoin", "MakerDaiJoin")
        dai = _contract(sim, "MakerDaiToken", "MakerDai")
        rate = vat.functions.ilks(ilk_id(ILK)).call()[1]
        held = int(dai.functions.balanceOf(wallet.address).call())
        owed = -(-art * rate // RAY)  # the debt rounded up to whole wad
        if held < owed:
            return False
        if (dai.address, dai_join.address) not in wallet.approved:
            wallet.send(dai.functions.approve(dai_join.address, MAX_UINT256))
            wallet.approved.add((dai.address, dai_join.address))
        if not wallet.send(dai_join.functions.join(wallet.address, owed)):
            return False
        if not wallet.send(vat.functions.frob(ilk_id(ILK), *[wallet.address] * 3, -ink, -art)):
            return False
        join = _contract(sim, "GemJoin", f"MakerGemJoin:{ILK}")
        return wallet.send(join.functions.exit(wallet.address, ink))


def _contract(sim: Simulation, artifact: str, registry_name: str) -> Contract:
    return sim.sender.contract(contract_artifact(artifact), sim.chain.contracts[registry_name])
