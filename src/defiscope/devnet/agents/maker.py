"""Maker vault owners as a simulation agent: open (lock WETH, draw DAI) and close (repay, free), as mainnet's
owners do: through their own DSProxy running DssProxyActions against the DssCdpManager.

Example::

    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(MakerVaults(),)))

Each owner gets a DSProxy on first use. Opening runs ``openLockGemAndDraw`` (a new cdp the proxy owns, on
the first open; ``lockGemAndDraw`` on the same cdp after that) with a debt of 40-85 % of what the ilk's
``spot`` allows. Closing runs ``wipeAllAndFreeGem``: the owner's DAI repays the whole debt and the
collateral comes back; an owner who cannot cover the accrued debt keeps the vault open.
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
class OwnerVault:
    """One owner's DSProxy and the cdp it owns (0 until the first open)."""

    wallet: Wallet
    proxy: Contract
    cdp: int = 0


@dataclass(slots=True)
class MakerVaults:
    owners: int = VAULT_OWNERS
    activity: float = 0.4
    collateral_eth: tuple[int, int] = (10, 150)
    vaults: list[OwnerVault] = field(default_factory=list)
    actions: int = 0

    @property
    def wallets(self) -> list[Wallet]:
        return [v.wallet for v in self.vaults]

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        if rng.random() >= self.activity:
            return
        if not self.vaults:
            self.vaults = [_owner_vault(sim, Wallet.of(sim, f"maker vault {i}")) for i in range(self.owners)]
        vault = rng.choice(self.vaults)
        ink, art = urn_state(sim, vault.cdp) if vault.cdp else (0, 0)
        done = self._close(sim, vault, ink, art) if art else self._open(sim, rng, vault)
        self.actions += done

    def _open(self, sim: Simulation, rng: random.Random, vault: OwnerVault) -> bool:
        wallet, c = vault.wallet, sim.chain.contracts
        vat, actions = _contract(sim, "Vat", "MakerVat"), _contract(sim, "MakerProxyActions", "MakerProxyActions")
        ink = rng.randint(*self.collateral_eth) * 10**18
        wallet.fund(wallet.wrapped_symbol, ink)
        wallet.approve(wallet.wrapped_symbol, vault.proxy.address)
        _, rate, spot, _, _ = vat.functions.ilks(ilk_id(ILK)).call()
        # Safe means ink * spot >= art * rate; draw a share of the most the vault allows.
        wad = portion(rng, ink * spot // rate, 40, 85) * rate // RAY
        join, jug, dai_join, manager = c[f"MakerGemJoin:{ILK}"], c["MakerJug"], c["MakerDaiJoin"], c["MakerCdpManager"]
        if vault.cdp:
            action = actions.functions.lockGemAndDraw(manager, jug, join, dai_join, vault.cdp, ink, wad, True)
        else:
            action = actions.functions.openLockGemAndDraw(manager, jug, join, dai_join, ilk_id(ILK), ink, wad, True)
        if not wallet.send(vault.proxy.functions.execute(actions.address, action._encode_transaction_data())):
            return False
        if not vault.cdp:
            vault.cdp = int(_contract(sim, "MakerCdpManager", "MakerCdpManager").functions.cdpi().call())
        return True

    def _close(self, sim: Simulation, vault: OwnerVault, ink: int, art: int) -> bool:
        wallet, c = vault.wallet, sim.chain.contracts
        vat, actions = _contract(sim, "Vat", "MakerVat"), _contract(sim, "MakerProxyActions", "MakerProxyActions")
        dai = _contract(sim, "MakerDaiToken", "MakerDai")
        urn = _contract(sim, "MakerCdpManager", "MakerCdpManager").functions.urns(vault.cdp).call()
        rate = vat.functions.ilks(ilk_id(ILK)).call()[1]
        owed = -(-(art * rate - vat.functions.dai(urn).call()) // RAY)  # wipeAll's DAI, rounded up to the wad
        if int(dai.functions.balanceOf(wallet.address).call()) < owed:
            return False
        if (dai.address, vault.proxy.address) not in wallet.approved:
            wallet.send(dai.functions.approve(vault.proxy.address, MAX_UINT256))
            wallet.approved.add((dai.address, vault.proxy.address))
        action = actions.functions.wipeAllAndFreeGem(
            c["MakerCdpManager"], c[f"MakerGemJoin:{ILK}"], c["MakerDaiJoin"], vault.cdp, ink
        )
        return wallet.send(vault.proxy.functions.execute(actions.address, action._encode_transaction_data()))


def _owner_vault(sim: Simulation, wallet: Wallet) -> OwnerVault:
    proxy = sim.sender.deploy(contract_artifact("MakerDSProxy"))
    sim.sender.submit(proxy.functions.setOwner(wallet.address))
    return OwnerVault(wallet, proxy)


def urn_state(sim: Simulation, cdp: int) -> tuple[int, int]:
    """(ink, art) of a cdp's urn in the Vat."""
    manager = _contract(sim, "MakerCdpManager", "MakerCdpManager").functions
    urn, ilk = manager.urns(cdp).call(), manager.ilks(cdp).call()
    ink, art = _contract(sim, "Vat", "MakerVat").functions.urns(ilk, urn).call()
    return int(ink), int(art)


def _contract(sim: Simulation, artifact: str, registry_name: str) -> Contract:
    return sim.sender.contract(contract_artifact(artifact), sim.chain.contracts[registry_name])
