"""`defiscope risk liquidations --protocol maker` lists the vaults it cannot value instead of valuing them at 0."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet.maker import ILKS, VAULTS, ilk_id
from defiscope.devnet.world import DevnetChain
from tests.protocols.compound.kit import Lab
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

ETH_ILKS = [i.name for i in ILKS if i.token == "WETH"]


def test_vaults_without_a_price_are_listed(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
) -> None:
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "maker", "--asset", "WBTC", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["not_valued"] == []
    lab = Lab.connect(eth_chain)
    lab.set_feed("ETH/USD", 0)
    for ilk in ETH_ILKS:  # the Spotter pokes spot 0 into the Vat: the Vat has no price for them
        lab.sender.send(lab.at("Spotter", "MakerSpotter").functions.poke(ilk_id(ilk)))
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "maker", "--asset", "WBTC", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    listed = sorted(line.split()[0] for line in data["not_valued"])
    assert listed == sorted(v.ilk for v in VAULTS if v.ilk in ETH_ILKS)
    assert data["positions"] == len(VAULTS) + 1 - len(listed)  # the others, and the PSM's urn, still valued
    text = cli.invoke(app, ["risk", "liquidations", "--protocol", "maker", "--asset", "WBTC"])
    assert f"not valued ({len(listed)}, left out of the figures above):" in text.output
