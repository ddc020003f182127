"""Maker's governance on the devnet: MKR (a ds-token), the chief (approval voting), the pause and its proxy,
which holds the wards of the Vat, the Jug and the joins, as MCD_PAUSE_PROXY does on mainnet.

Example::

    contracts.update(deploy_maker_governance(sender, spec, contracts, tokens))
    contracts["MakerChief"], contracts["MakerPause"], contracts["MakerPauseProxy"], contracts["MakerGovActions"]

So a cast spell changes real state the adapter reads (an ilk's stability fee in the Jug, its debt ceiling in the
Vat) or a ward. MKR is the chain's one MKR (deployed with the other tokens at its real supply, traded and
priced; `devnet.supplies`): `VOTER_SHARES` of the circulating MKR go to seeded voters who approve the chief for
MKR and its IOU, and the pause proxy takes the seeded treasury's MKR (mainnet's pause proxy holds MKR); the
largest voter locks its MKR and votes for the empty candidate (address 0) to `launch()` the chief, as mainnet's
chief needed 80,000 MKR on address 0 before its first hat. Spells are written and cast by the simulation
(`devnet.agents.maker_governance`); GovActions is the action every spell plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Final

from eth_typing import ChecksumAddress
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import hand_treasury, seed_address, seed_user
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.supplies import circulating_units
from defiscope.devnet.tx import MAX_UINT256, Sender

WAD: Final = 10**18
#: Each voter's share of the circulating MKR, largest first; the rest stays with account 0 (the market's).
VOTER_SHARES: Final = tuple(Fraction(p, 100) for p in (20, 15, 12, 10, 8, 5, 4))
MAX_YAYS: Final = 5  # mainnet's chief: 5 candidates per slate
#: Seconds between a spell's schedule and its cast (mainnet's GSM delay: 16 h, later 30 h and 48 h); the
#: simulation's clock moves a block's time (12 s on chain 1) a tick.
PAUSE_DELAY: Final = 20
#: The pause proxy is a ward of these (mainnet: of every core contract): registry name -> artifact; and of every
#: GemJoin (`governed`), as MCD_PAUSE_PROXY is of mainnet's joins.
GOVERNED: Final = {
    "MakerVat": "Vat",
    "MakerJug": "Jug",
    "MakerSpotter": "Spotter",
    "MakerDog": "Dog",
    "MakerDaiJoin": "DaiJoin",
    "MakerIlkRegistry": "MakerIlkRegistry",
    "MakerLitePsm:LITE-PSM-USDC-A": "MakerLitePsm",
}
#: Those whose logs name the deployer as a ward (the constructor's `Rely(msg.sender)`: dog.sol, ilk-registry,
#: dss-lite-psm; the caller of its rely LibNote: jug.sol, spot.sol): the deployer denies itself there once the pause
#: proxy is relied, as mainnet's deploys end. (Its other wards, set in a constructor, log nothing.)
DEPLOYER_DENIED: Final = frozenset(
    {"MakerJug", "MakerSpotter", "MakerDog", "MakerIlkRegistry", "MakerLitePsm:LITE-PSM-USDC-A"}
)
GEM_JOIN_PREFIX: Final = "MakerGemJoin:"


def governed(contracts: Mapping[str, str]) -> dict[str, str]:
    """Registry name -> artifact of every contract the pause proxy is made a ward of."""
    joins = {name: "GemJoin" for name in contracts if name.startswith(GEM_JOIN_PREFIX)}
    return {**{n: a for n, a in GOVERNED.items() if n in contracts}, **joins}


def voter_address(index: int) -> ChecksumAddress:
    """The i-th seeded MKR voter (largest first)."""
    return seed_address("maker-governance", f"voter {index}")


def deploy_maker_governance(
    sender: Sender, spec: ChainSpec, contracts: Mapping[str, str], tokens: Mapping[str, Contract]
) -> dict[str, str]:
    """Registry entries of Maker's governance, on a chain with Maker and MKR (Ethereum)."""
    if "MakerVat" not in contracts or "MKR" not in tokens:
        return {}
    mkr = tokens["MKR"]
    iou = sender.deploy(contract_artifact("DSToken"), b"IOU".ljust(32, b"\0"))
    chief = sender.deploy(contract_artifact("DSChief"), mkr.address, iou.address, MAX_YAYS)
    sender.send(iou.functions.setOwner(chief.address))
    zero = "0x" + "00" * 20
    pause = sender.deploy(contract_artifact("DSPause"), PAUSE_DELAY, zero, chief.address)
    proxy = pause.functions.proxy().call()
    actions = sender.deploy(contract_artifact("GovActions"))
    for name, artifact in governed(contracts).items():
        ward = sender.contract(contract_artifact(artifact), contracts[name]).functions
        sender.send(ward.rely(proxy))
        if name in DEPLOYER_DENIED:
            sender.send(ward.deny(sender.owner))
    hand_treasury(sender, mkr, "MKR", proxy)
    circulating = circulating_units(spec.chain_id, "MKR")
    for index, share in enumerate(VOTER_SHARES):
        voter = seed_user(sender, "maker-governance", f"voter {index}")
        sender.send(mkr.functions.transfer(voter, int(circulating * share)))
        sender.send(mkr.functions.approve(chief.address, MAX_UINT256), sender=voter)
        sender.send(iou.functions.approve(chief.address, MAX_UINT256), sender=voter)
        if index == 0:
            sender.send(chief.functions.lock(int(circulating * share)), sender=voter)
            sender.send(chief.get_function_by_signature("vote(address[])")([zero]), sender=voter)
            sender.send(chief.functions.launch(), sender=voter)
        sender.rpc("anvil_stopImpersonatingAccount", [voter])
    return {
        "MakerChief": chief.address,
        "MakerPause": pause.address,
        "MakerPauseProxy": proxy,
        "MakerGovernanceToken": mkr.address,
        "MakerGovActions": actions.address,
    }
