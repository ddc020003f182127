"""What the Maker figure counts, how its contracts are found, and how it differs from DefiLlama's adapter."""

from __future__ import annotations

from typing import Final

from defiscope.protocols.base import ProtocolInfo

INFO: Final = ProtocolInfo(
    slug="makerdao",
    name="MakerDAO",
    category="CDP",
    methodology=(
        "TVL is the collateral of every ilk the IlkRegistry lists: the gem held by its GemJoin, or, for the "
        "joinless LitePSM, the USDC held by its pocket; RWA ilks are left out. Borrowed is the DAI debt of the "
        "same ilks (Vat Art x rate)."
    ),
    url="https://sky.money",
    counts=(
        "tvl: per IlkRegistry ilk of class 1 (Clipper) or 2 (Flipper), gem.balanceOf(join); for class 6 "
        "(joinless LitePSM), gem.balanceOf(litePsm.pocket()). The PSM-USDC-A join is a class-1 join and counts "
        "as one. borrowed: for the same ilks, Vat.ilks(ilk).Art x rate (rad) as DAI, rounded down to the wad. "
        "Not counted, each with its reason kept by the adapter: class 3 (RWA, MIP-21: the gem is a placeholder "
        "token, not the off-chain asset) and any class without a counting rule. An ilk whose gem balanceOf "
        "fails is listed as not counted with the reason (its debt still counts); the Vat failing fails Maker."
    ),
    discovery=(
        "Ilks from IlkRegistry.list(), then join/gem/dec/class per ilk, re-read at every block read. The Vat's "
        "wards, followed incrementally from its rely/deny LogNotes (anonymous, topic0 = the selector), check "
        "the registry: a ward answering ilk() and gem() that the registry lacks is reported as an unregistered "
        "join (not counted). Vaults for the risk report: the DssCdpManager's NewCdp events (owner = the "
        "DSProxy that opened it, urn = urns(cdp)) and the Vat's frob LogNotes (topic1 = ilk, topic2 = urn)."
    ),
    defillama_difference=(
        "DefiLlama finds joins from every Vat rely log whose target answers ilk() and sums gem.balanceOf(join), "
        "dropping RWA by the gem's symbol and unwrapping G-UNI LP gems. We take the ilks from the IlkRegistry "
        "(the chainlog's index, which also names the class) and use the rely logs only as a check, so a join "
        "governance offboarded from the registry is reported, not counted. We count the LitePSM's USDC in its "
        "pocket: the LitePSM is no Vat ward and holds no USDC itself, so a rely-log scan of ward balances does "
        "not see it. Ilk classes without a counting rule (e.g. D3M and allocator ilks) are listed as not "
        "counted rather than read as a join balance. G-UNI gems are counted as the LP token itself, not "
        "unwrapped. We add borrowed (the counted ilks' debt); DefiLlama reports no borrowed for Maker."
    ),
)
