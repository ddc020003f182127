"""Maker's surface, counting rules and docstring examples, without a chain."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest

from defiscope.deployments.mainnet import mainnet
from defiscope.protocols.maker.adapter import MakerAdapter
from defiscope.protocols.maker.ilks import RegistryIlk
from defiscope.protocols.surface import declared_topics, note_topic


@pytest.mark.parametrize(
    "module",
    [
        "defiscope.protocols.maker.ilks",
        "defiscope.protocols.maker.rates",
        "defiscope.protocols.maker.math",
        "defiscope.protocols.surface",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(module))
    assert (failed, attempted > 0) == (0, True)


def test_mainnet_surface_reads_the_registry_and_never_an_osm() -> None:
    uses = {u.name: u for u in MakerAdapter(mainnet(1)).surface()}
    assert {"IlkRegistry", "Vat", "Spotter", "Jug", "DssCdpManager", "LitePSM LITE-PSM-USDC-A"} <= set(uses)
    assert not any(sig.startswith(("peek", "peep", "read")) for u in uses.values() for sig in u.signatures())
    # The Vat's LogNotes are declared by selector: rely's topic0 is DefiLlama's relyTopic.
    assert note_topic("rely(address)").hex() == "65fae35e" + "0" * 56
    assert note_topic("rely(address)") in declared_topics(uses.values())


def test_ilks_are_counted_by_class_and_the_rest_say_why() -> None:
    adapter = MakerAdapter(mainnet(1))
    zero = "0x" + "0" * 40
    ilks = [
        RegistryIlk("ETH-A", "0x" + "1" * 40, "0x" + "2" * 40, 18, 1),
        RegistryIlk("RWA009-A", "0x" + "3" * 40, "0x" + "4" * 40, 18, 3),
        RegistryIlk("LITE-PSM-USDC-A", zero, "0x" + "5" * 40, 6, 6),
        RegistryIlk("LITE-PSM-USDT-A", zero, "0x" + "6" * 40, 6, 6),  # no LitePSM in the address registry
        RegistryIlk("DIRECT-SPARK-DAI", "0x" + "7" * 40, "0x" + "8" * 40, 18, 4),
    ]
    counted, skipped = adapter._counted(ilks)
    assert [i.name for i in counted] == ["ETH-A", "LITE-PSM-USDC-A"]
    assert skipped == {
        "RWA009-A": ilks[1].rule.reason,
        "LITE-PSM-USDT-A": "joinless ilk with no LitePSM in the address registry",
        "DIRECT-SPARK-DAI": "IlkRegistry class 4: no counting rule for this kind",
    }
    assert all(reason for reason in skipped.values())


def test_methodology_shows_the_vat_lognotes_and_the_registry() -> None:
    from typer.testing import CliRunner

    from defiscope.cli import app

    result = CliRunner().invoke(app, ["methodology", "makerdao", "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["defillama_difference"]
    assert entry["counts"]
    [chain] = entry["chains"]
    contracts = {c["name"]: c for c in chain["contracts"]}
    assert contracts["Vat"]["notes"] == [
        "rely(address)",
        "deny(address)",
        "frob(bytes32,address,address,address,int256,int256)",
    ]
    assert contracts["IlkRegistry"]["address"] == mainnet(1).contract("MakerIlkRegistry")
    assert "class(bytes32)" in contracts["IlkRegistry"]["calls"]
