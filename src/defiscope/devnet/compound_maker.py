"""One deploy step for Compound V2, Compound III and MakerDAO (issue 5), called by `deploy_world`.

Example::

    contracts.update(deploy_compound_maker(sender, spec, tokens, contracts))
"""

from __future__ import annotations

from collections.abc import Mapping

from web3.contract import Contract

from defiscope.devnet.compound import deploy_compound
from defiscope.devnet.maker import deploy_maker
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tx import Sender


def deploy_compound_maker(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: dict[str, str]
) -> dict[str, str]:
    """Registry entries of both protocols (Ethereum only; ``contracts`` may gain the wstETH feed)."""
    return {**deploy_compound(sender, spec, tokens, contracts), **deploy_maker(sender, spec, tokens, contracts)}
