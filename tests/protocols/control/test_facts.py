"""The curated facts files validate; an entry without a source, a bad date or a silent loss is rejected."""

from __future__ import annotations

import pytest

from defiscope.analytics.risk.facts import FactsError, known_slugs, load_facts, parse_facts
from defiscope.protocols.registry import known_protocols

AUDIT = """
checked = "2026-12-07"
[[audits]]
auditor = "ABDK"
date = "2021-03"
scope = "core"
link = "https://example.org/audit.pdf"
"""


def test_every_protocol_has_a_facts_file_that_validates() -> None:
    protocols = set(known_protocols()) - {"treasury"}  # not a protocol: the treasuries' holdings
    assert set(known_slugs()) == protocols
    for slug in known_slugs():
        facts = load_facts(slug)
        assert facts.slug == slug
        for fact in (*facts.audits, *facts.incidents, *facts.insurance, *([facts.bounty] if facts.bounty else [])):
            assert fact.source.startswith("https://")


def test_known_facts_read_back() -> None:
    aave = load_facts("aave-v3")
    assert aave.bounty is not None
    assert aave.bounty.max_payout_usd == 1_000_000
    assert {"OpenZeppelin", "Trail of Bits", "ABDK", "PeckShield", "Sigma Prime", "Certora"} <= {
        a.auditor for a in aave.audits
    }
    (comp,) = load_facts("compound-v2").incidents
    assert comp.date == "2021-09-29"
    assert comp.loss_usd is None
    assert comp.loss_why


def test_an_entry_without_a_source_is_rejected() -> None:
    with pytest.raises(FactsError, match=r"audits\.0\.source: Field required"):
        parse_facts("x", AUDIT)
    assert parse_facts("x", AUDIT + 'source = "https://example.org/a"\n').audits[0].date == "2021-03"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (AUDIT.replace("2021-03", "March 2021") + 'source = "https://e.org/a"\n', r"audits\.0\.date"),
        (AUDIT + 'source = "http://e.org/a"\n', r"audits\.0\.source: .*https"),
        (AUDIT + 'source = "https://e.org/a"\nrating = "A"\n', r"audits\.0\.rating: Extra inputs"),
        (
            'checked = "2026-12-07"\n[[incidents]]\ndate = "2023-07-30"\ncause = "c"\n'
            'link = "https://e.org/i"\nsource = "https://e.org/i"\n',
            "loss_why",
        ),
        (
            'checked = "2026-12-07"\n[bounty]\nplatform = "Immunefi"\nmax_payout_usd = 0\nsource = "https://e.org"\n',
            "bounty",
        ),
        ("checked = ", "not TOML"),
    ],
)
def test_bad_entries_are_rejected_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(FactsError, match=why):
        parse_facts("x", text)


def test_unknown_slug_names_the_known_ones() -> None:
    with pytest.raises(FactsError, match="slug: no facts file for 'nope'; known: aave-v3"):
        load_facts("nope")
