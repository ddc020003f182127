"""What the Maker adapter, its vault scan and risk report read, per deployment (`Adapter.surface()`).

uses = maker_surface(mainnet(1))
[u.name for u in uses][:3]     # ['IlkRegistry', 'Vat', 'Spotter']
"""

from __future__ import annotations

from typing import Final

from defiscope.deployments import Deployment
from defiscope.protocols.maker.ilks import DETAIL_CALLS, LIST, LITE_PSM_PREFIX
from defiscope.protocols.maker.relies import DENY, JOIN_PROBES, RELY
from defiscope.protocols.surface import ContractUse

REGISTRY: Final = "MakerIlkRegistry"
VAT: Final = "MakerVat"
SPOTTER: Final = "MakerSpotter"
CDP_MANAGER: Final = "MakerCdpManager"
DOG: Final = "MakerDog"
JUG: Final = "MakerJug"
MAKER_DAI: Final = "MakerDai"
#: The kind of the ilks' joins found at run time (the IlkRegistry's ``join(ilk)``): each holds its ilk's gem.
JOIN_KIND: Final = "GemJoin (from the IlkRegistry)"
#: MCD went live at block 8,928,152 on Ethereum (the Vat's and the CdpManager's deployment).
DEPLOY_BLOCK: Final = {1: 8_928_152}

SYMBOL: Final = "symbol(bytes32)(string)"
VAT_ILKS: Final = "ilks(bytes32)(uint256,uint256,uint256,uint256,uint256)"
VAT_URNS: Final = "urns(bytes32,address)(uint256,uint256)"
FROB: Final = "frob(bytes32,address,address,address,int256,int256)"
SPOT_ILKS: Final = "ilks(bytes32)(address,uint256)"
PAR: Final = "par()(uint256)"
POCKET: Final = "pocket()(address)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"
CDP_URNS: Final = "urns(uint256)(address)"
CDP_ILKS: Final = "ilks(uint256)(bytes32)"
CDP_OWNS: Final = "owns(uint256)(address)"
NEW_CDP: Final = "NewCdp(address,address,uint256)"
JUG_BASE: Final = "base()(uint256)"
JUG_ILKS: Final = "ilks(bytes32)(uint256,uint256)"
#: The risk score's bad debt (`protocols.bad_debt`): the debt engine the Jug names, its sin and dai in the Vat.
VOW: Final = "vow()(address)"
VAT_SIN: Final = "sin(address)(uint256)"
VAT_DAI: Final = "dai(address)(uint256)"


def maker_surface(deployment: Deployment) -> tuple[ContractUse, ...]:
    contracts = deployment.contracts
    uses = [
        ContractUse("IlkRegistry", "maker/IlkRegistry", (LIST, *DETAIL_CALLS, SYMBOL), address=contracts[REGISTRY]),
        ContractUse(
            "Vat",
            "maker/VatAbstract",
            (VAT_ILKS, VAT_URNS, VAT_SIN, VAT_DAI),
            address=contracts[VAT],
            notes=(RELY, DENY, FROB),
        ),
        ContractUse("Spotter", "maker/SpotAbstract", (SPOT_ILKS, PAR), address=contracts[SPOTTER]),
        ContractUse("Jug", "maker/Jug", (JUG_BASE, JUG_ILKS, VOW), address=contracts[JUG]),
        ContractUse("ilk gem (from the IlkRegistry)", "common/ERC20", (BALANCE_OF,)),
        ContractUse("Vat ward probed as a join", "maker/GemJoinAbstract", JOIN_PROBES),
        # Holds the ilk's gem (read as the gem's balanceOf(join)); its control is its wards (Rely/Deny events).
        ContractUse(JOIN_KIND, "maker/GemJoinAbstract", ()),
    ]
    if CDP_MANAGER in contracts:
        uses.append(
            ContractUse(
                "DssCdpManager",
                "maker/DssCdpManager",
                (CDP_URNS, CDP_ILKS, CDP_OWNS),
                (NEW_CDP,),
                address=contracts[CDP_MANAGER],
            )
        )
    uses += [
        ContractUse(f"LitePSM {name[len(LITE_PSM_PREFIX) :]}", "maker/DssLitePsm", (POCKET,), address=address)
        for name, address in contracts.items()
        if name.startswith(LITE_PSM_PREFIX)
    ]
    return tuple(uses)
