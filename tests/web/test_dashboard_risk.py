"""The protocol page's risk panel in a real browser against `defiscope serve` on its devnet (the risk hook scores
every protocol at start).

Uniswap V3's panel shows the API's composite, formula version and block, its six pillars (score, weight; a pillar
without a score shows its reason and no bar), the overrides of /score, one graph per controlled contract whose nodes
are the profile's admin chain (type, address, threshold, delay), the facts, and the change log of /history row for
row. Then the factory is handed from its timelock to an EOA (the real factory's setOwner) on serve's chain: the
change appears in the change log and the factory's graph ends at the EOA; the EOA hands it to a contract that answers
no admin probe: its node is flagged unknown and the composite is shown capped at 40 by the override. The Compound
Timelock nominates an EOA as the Comptroller's admin (`_setPendingAdmin`), and Lido's Voting grants an EOA stETH's
APP_MANAGER_ROLE under a condition (`grantPermissionP`): the nominee is a dashed node beside the admin in force, the
holder is marked conditional with its parameter count, each also said in a sentence, all as the API's JSON says. A
protocol not scored on a chain shows the API's 404 message as "Not scored yet", not an error.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from eth_utils import to_checksum_address

from defiscope.analytics.risk.score import FORMULA_VERSION
from defiscope.devnet.aragon import aragon_dao, vote_grant_after
from defiscope.devnet.artifacts import contract_artifact, load_npm_artifact
from defiscope.devnet.runfile import RunInfo
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from tests.devnet.helpers import wait_until
from tests.web.conftest import Served, require_chromium, shoot

require_chromium()

from playwright.sync_api import Page  # noqa: E402  (after the chromium check)

FACTORY_ARTIFACT = "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"
NEW_OWNER = to_checksum_address("0x" + "5e" * 20)
NOMINEE = to_checksum_address("0x" + "a7" * 20)  # named the Comptroller's admin, never accepts
CONDITIONAL = to_checksum_address("0x" + "c0" * 20)  # granted APP_MANAGER_ROLE on Lido's kernel under a condition
SLUG = "uniswap-v3"

# What the page shows, read in one go: the section of chain `ethereum`, its pillars, graphs, facts and changes.
READ_PANEL = """(chain) => {
  const s = document.querySelector(`#risk-body .risk-chain[data-chain="${chain}"]`);
  if (!s || !s.dataset.block) return null;
  const rows = (sel) => [...s.querySelectorAll(sel)];
  const node = (g) => ({role: g.dataset.role, type: g.dataset.type, address: g.dataset.address,
    threshold: g.dataset.threshold, delay: g.dataset.delay, via: g.dataset.via,
    text: [...g.querySelectorAll('text')].map((t) => t.textContent).join(' ')});
  return {
    block: Number(s.dataset.block), formula: s.dataset.formula,
    composite: s.querySelector('.risk-composite').dataset.composite,
    meta: s.querySelector('.risk-meta').innerText,
    overrides: rows('.risk-override').map((o) => [o.dataset.rule, Number(o.dataset.cap), o.innerText]),
    pillars: rows('table.risk-pillars tbody tr').map((tr) => ({name: tr.dataset.pillar, score: tr.dataset.score,
      weight: Number(tr.dataset.weight), bars: tr.querySelectorAll('.risk-bar').length, text: tr.innerText,
      fill: tr.querySelector('.risk-fill')?.style.width ?? null})),
    discovered: rows('ul.risk-discovered li').map((li) => [li.dataset.kind, li.dataset.rule, li.innerText]),
    graphs: rows('.risk-contract').map((c) => ({address: c.dataset.address, proxy: c.dataset.proxy,
      count: c.dataset.count ?? null, exception: c.dataset.exception ?? null,
      caption: c.querySelector('p').innerText,
      nodes: [...c.querySelectorAll('svg g.node:not(.nominee)')].map(node),
      nominees: [...c.querySelectorAll('svg g.node.nominee')].map(node),
      edges: c.querySelectorAll('svg path.edge:not(.pending)').length,
      pending_edges: c.querySelectorAll('svg path.edge.pending').length,
      notes: [...c.querySelectorAll('ul.risk-control-notes li')].map((li) => [li.dataset.kind, li.innerText])})),
    facts: rows('ul.risk-facts li[data-kind]').map((li) => [li.dataset.kind,
      [...li.querySelectorAll('a')].map((a) => a.href)]),
    changes: rows('table.risk-changes tbody tr[data-block]').map((tr) => ({block: Number(tr.dataset.block),
      subject: tr.dataset.subject, rule: tr.dataset.rule, before: tr.dataset.before, after: tr.dataset.after,
      text: tr.innerText})),
  };
}"""


def _api(served: Served, path: str, **params: Any) -> httpx.Response:
    time.sleep(0.2)  # gently: the API rate-limits, and the page polls every 3 s anyway
    return httpx.get(f"{served.url}{path}", params=params, timeout=10)


def _scored(served: Served, slug: str) -> dict[str, Any] | None:
    answer = _api(served, f"/v1/risk/{slug}")
    return answer.json() if answer.status_code == 200 else None


def _rescored(served: Served, after_block: int, slug: str = SLUG) -> bool:
    now = _scored(served, slug)
    return now is not None and now["block"] > after_block


def _opt(value: object) -> str:
    return "" if value is None else str(value)


def _panel_equals_api(
    served: Served, page: Page, slug: str = SLUG
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Wait until the panel shows the API's newest profile, score and history; return (profile, score, panel)."""
    seen: dict[str, Any] = {}

    def same() -> bool:
        profile = _api(served, f"/v1/risk/{slug}").json()
        score = _api(served, f"/v1/risk/{slug}/score").json()
        history = _api(served, f"/v1/risk/{slug}/history", limit=50).json()["changes"]
        panel = page.evaluate(READ_PANEL, "ethereum")
        seen.update(profile=profile, score=score, history=history, panel=panel)
        return panel is not None and panel["block"] == profile["block"] == score["block"]

    wait_until(same, 60, "the risk panel to show the API's newest profile")
    profile, score, history, panel = seen["profile"], seen["score"], seen["history"], seen["panel"]
    assert panel["formula"] == profile["formula_version"] == FORMULA_VERSION
    assert panel["composite"] == _opt(profile["composite"])
    assert f"formula {FORMULA_VERSION} · scored at block {profile['block']}" in panel["meta"]
    assert score["composite_rule"] in panel["meta"]
    assert [o[:2] for o in panel["overrides"]] == [[o["rule"], o["cap"]] for o in score["overrides"]]
    assert all(o["why"] in shown[2] for o, shown in zip(score["overrides"], panel["overrides"], strict=True))

    assert [p["name"] for p in panel["pillars"]] == [p["name"] for p in profile["pillars"]]
    for shown, pillar, rules in zip(panel["pillars"], profile["pillars"], score["pillars"], strict=True):
        assert (shown["score"], shown["weight"]) == (_opt(pillar["score"]), pillar["weight"])
        assert pillar["evidence"] in shown["text"]
        assert rules["rule"] in shown["text"]
        if pillar["score"] is None:  # its reason, never a 0 bar
            assert (shown["bars"], shown["fill"]) == (0, None)
            assert "not scored" in shown["text"]
        else:
            assert (shown["bars"], shown["fill"]) == (1, f"{pillar['score']}%")

    assert [g["address"] for g in panel["graphs"]] == [c["address"] for c in profile["control"]]
    for graph, contract in zip(panel["graphs"], profile["control"], strict=True):
        assert graph["proxy"] == contract["proxy"]
        if contract["implementation"]:
            assert contract["implementation"] in graph["caption"]
        head, *admins = graph["nodes"]
        assert (head["role"], head["address"]) == ("contract", contract["address"])
        chain = contract["admin_chain"]
        if chain:
            shown_links = [(n["type"], n["address"], n["threshold"], n["delay"]) for n in admins]
            expected = [(h["type"], h["address"], _opt(h["threshold"]), _opt(h["delay_seconds"])) for h in chain]
            assert shown_links == expected
        else:  # the end of the graph says why there is no admin: not found (flagged) or none at all
            assert [n["role"] for n in admins] == ["end"]
            assert admins[0]["type"] == ("unknown" if contract["proxy"] != "none" else "none")
        assert graph["edges"] == len(graph["nodes"]) - 1
        _nominees_and_conditional_as_the_api_says(graph, contract)
        found = contract.get("discovered")  # a group of contracts found at run time: its count and kind shown
        assert (graph["count"], graph["exception"]) == (
            (None, None) if found is None else (str(found["count"]), str(found["exception"]).lower())
        )
        if found is not None:
            assert f"{found['count']} of {found['of']} {found['kind']}" in graph["caption"]
        for node in admins:
            if node["type"] == "unknown":
                assert "⚠" in node["text"]
            if node["type"] == "multisig":
                assert f"{node['threshold']}-of-" in node["text"]
    kinds = [k for k in profile["discovered"] if k["rule"] != "dependency"]
    assert [shown[:2] for shown in panel["discovered"]] == [[k["kind"], k["rule"]] for k in kinds]
    assert all(k["why"] in shown[2] for k, shown in zip(kinds, panel["discovered"], strict=True))

    facts = profile["facts"]
    kinds = ["audit"] * len(facts["audits"]) + ["incident"] * len(facts["incidents"])
    kinds += ["insurance"] * len(facts["insurance"]) + ["bounty"] * (facts["bounty"] is not None)
    assert [kind for kind, _ in panel["facts"]] == kinds
    sources = [f["source"] for key in ("audits", "incidents", "insurance") for f in facts[key]]
    sources += [facts["bounty"]["source"]] if facts["bounty"] else []
    assert [links[-1] for _, links in panel["facts"]] == sources  # each fact ends with its source link

    expected_changes = [
        {"block": c["block"], "rule": c["rule"], "before": _opt(c["before"]), "after": _opt(c["after"])}
        for c in reversed(history)  # newest first
    ]
    assert [{k: c[k] for k in ("block", "rule", "before", "after")} for c in panel["changes"]] == expected_changes
    assert all(c["input"] in shown["text"] for c, shown in zip(reversed(history), panel["changes"], strict=True))
    return profile, score, panel


def _nominations(contract: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """The contract's nominee (it names it), then each link's (the link names it), as the API lists them."""
    named = [(contract["pending_owner"], contract["address"])]
    named += [(link["pending_owner"], link["address"]) for link in contract["admin_chain"]]
    return [(nominee, namer) for nominee, namer in named if nominee]


def _nominees_and_conditional_as_the_api_says(graph: dict[str, Any], contract: dict[str, Any]) -> None:
    """Each nominee is a dashed node with its type, address and call, and a sentence under the graph; each holder
    granted with parameters is marked on its ACL's node, on its own node when drawn, and in a sentence."""
    nominated = _nominations(contract)
    shown = [(n["type"], n["address"], n["via"]) for n in graph["nominees"]]
    assert shown == [(p["type"], p["address"], p["via"]) for p, _ in nominated]
    assert graph["pending_edges"] == len(nominated)
    assert all("not yet accepted" in n["text"] and n["role"] == "nominee" for n in graph["nominees"])
    notes = []
    for p, namer in nominated:
        limits = "" if p["threshold"] is None else f" threshold {p['threshold']}"
        limits += "" if p["delay_seconds"] is None else f" delay {p['delay_seconds']} s"
        said = f"pending owner, not yet accepted: {p['type']} {p['address']}{limits} ({p['via']} of {namer})"
        notes.append(["nominee", said])
    nodes = {n["address"]: n["text"] for n in graph["nodes"][1:]}
    for link in contract["admin_chain"]:
        grants = link["conditional"]
        if grants:
            assert f"{len(grants)} conditional grant" in nodes[link["address"]]
        for holder in grants:
            params = f"{holder['params']} parameter" + ("" if holder["params"] == 1 else "s")
            notes.append(
                [
                    "conditional",
                    f"conditional holder {holder['address']} at {link['address']}: granted with "
                    f"{params}, counted as a holder (a condition can be met)",
                ]
            )
            if holder["address"] in nodes:
                assert f"conditional ({params.replace('parameter', 'param')})" in nodes[holder["address"]]
    assert graph["notes"] == notes


def test_risk_panel_shows_the_api_and_a_change_on_chain(served: Served, page: Page, tmp_path: Path) -> None:
    wait_until(lambda: _scored(served, SLUG) is not None, 60, "serve's risk hook to score uniswap-v3")
    page.goto(f"{served.url}/#/protocol/{SLUG}")
    page.wait_for_selector("#risk-body .risk-chain[data-chain='ethereum'][data-block]")
    before, _, panel = _panel_equals_api(served, page)
    assert any(g["count"] is not None for g in panel["graphs"])  # the pools found at run time: a checked sample
    assert any(rule == "by-factory" for _, rule, _ in panel["discovered"])
    shoot(page, tmp_path, "dashboard-risk")

    run = RunInfo.from_json(json.loads((served.home / "devnet" / "run.json").read_text()))
    chain = next(c for c in run.chains if c.chain_id == 1)
    factory_address = chain.contracts["UniswapV3Factory"]
    sender = Sender.connect(chain.rpc_url)
    factory = sender.contract(load_npm_artifact(FACTORY_ARTIFACT), factory_address)
    timelock = to_checksum_address(chain.contracts["UniswapTimelock"])
    factory_before = next(g for g in panel["graphs"] if g["address"] == factory_address)
    assert [n["type"] for n in factory_before["nodes"][1:]][:1] == ["timelock"]
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(factory.functions.setOwner(NEW_OWNER), sender=timelock)

    wait_until(lambda: _rescored(served, before["block"]), 60, "serve to rescore uniswap-v3 after OwnerChanged")
    after, _, panel = _panel_equals_api(served, page)
    factory_after = next(g for g in panel["graphs"] if g["address"] == factory_address)
    assert [(n["type"], n["address"]) for n in factory_after["nodes"][1:]] == [("eoa", NEW_OWNER)]
    control = next(c for c in panel["changes"] if c["block"] == after["block"] and c["rule"] == "control.eoa-no-delay")
    assert f"eoa {NEW_OWNER}" in control["text"]
    assert int(control["after"]) < int(control["before"])
    assert control["subject"] == "control"
    shoot(page, tmp_path, "dashboard-risk-changed")

    # The EOA hands the factory to a contract that answers no admin probe: unknown, flagged, and capped at 40.
    unclassified = chain.contracts["Multicall3"]
    with sender.impersonating(NEW_OWNER, gas_money=10**18):
        sender.send(factory.functions.setOwner(unclassified), sender=NEW_OWNER)
    wait_until(lambda: _rescored(served, after["block"]), 60, "serve to rescore uniswap-v3 after the second handover")
    unknown, score, panel = _panel_equals_api(served, page)
    factory_unknown = next(g for g in panel["graphs"] if g["address"] == factory_address)
    assert [(n["type"], n["address"]) for n in factory_unknown["nodes"][1:]] == [("unknown", unclassified)]
    assert "⚠ unknown" in factory_unknown["nodes"][1]["text"]
    assert unknown["composite"] == 40
    assert score["composite_rule"] == "override.unknown-admin"
    (binding,) = [o for o in panel["overrides"] if o[0] == "override.unknown-admin"]
    assert binding[2].startswith("Capped at 40 by override.unknown-admin")
    shoot(page, tmp_path, "dashboard-risk-unknown")
    _nominee_and_conditional_holder_are_drawn(served, page, chain, tmp_path)
    _not_scored_shows_the_api_message(served, page)


def _nominee_and_conditional_holder_are_drawn(served: Served, page: Page, chain: DevnetChain, tmp_path: Path) -> None:
    """The Compound Timelock nominates an EOA as the Comptroller's admin (the Unitroller's `_setPendingAdmin`), and
    Lido's Voting grants an EOA APP_MANAGER_ROLE on stETH's kernel under a condition (`grantPermissionP`): each
    panel draws it as the API says, the nominee dashed beside the admin in force."""
    sender = Sender.connect(chain.rpc_url)
    comptroller = to_checksum_address(chain.contracts["CompoundV2Comptroller"])
    timelock = to_checksum_address(chain.contracts["CompoundTimelock"])
    unitroller = sender.contract(contract_artifact("Unitroller"), comptroller).functions
    with sender.impersonating(timelock, gas_money=10**18):  # the Comptroller's admin, as a proposal would
        nominated = sender.send(unitroller._setPendingAdmin(NOMINEE), sender=timelock)
    dao = aragon_dao(sender, chain.contracts["LidoStETH"])
    when = sender.w3.eth.get_block("latest")["timestamp"] + 30 * 86_400  # not met meanwhile: counted all the same
    granted = vote_grant_after(sender, dao, CONDITIONAL, when)
    for slug, receipt in (("compound-v2", nominated), ("lido", granted)):
        changed = partial(_rescored, served, receipt["blockNumber"] - 1, slug)
        wait_until(changed, 60, f"serve to score {slug} at or after block {receipt['blockNumber']}")

    page.goto(f"{served.url}/#/protocol/compound-v2")
    page.wait_for_selector("#risk-body .risk-chain[data-chain='ethereum'][data-block] svg g.node.nominee")
    _, _, panel = _panel_equals_api(served, page, "compound-v2")  # nominees and notes checked there too
    graph = next(g for g in panel["graphs"] if g["address"] == comptroller)
    (nominee,) = graph["nominees"]
    assert (nominee["type"], nominee["address"], nominee["via"]) == ("eoa", NOMINEE, "pendingAdmin()")
    assert nominee["text"].startswith("pending owner: eoa")
    said = f"pending owner, not yet accepted: eoa {NOMINEE} (pendingAdmin() of {comptroller})"
    assert graph["notes"] == [["nominee", said]]
    assert [n["address"] for n in graph["nodes"][1:]][:1] == [timelock]  # the admin in force is drawn still
    shoot(page, tmp_path, "dashboard-risk-nominee")

    page.goto(f"{served.url}/#/protocol/lido")
    page.wait_for_selector("#risk-body .risk-chain[data-chain='ethereum'][data-block] ul.risk-control-notes li")
    _, _, panel = _panel_equals_api(served, page, "lido")
    graph = next(g for g in panel["graphs"] if g["address"] == to_checksum_address(chain.contracts["LidoStETH"]))
    acl, holder = graph["nodes"][2], graph["nodes"][-1]
    assert (acl["address"], holder["type"], holder["address"]) == (dao.app.acl.address, "eoa", CONDITIONAL)
    assert "1 conditional grant" in acl["text"]
    assert "conditional (1 param)" in holder["text"]
    assert graph["notes"] == [
        [
            "conditional",
            f"conditional holder {CONDITIONAL} at {dao.app.acl.address}: granted "
            "with 1 parameter, counted as a holder (a condition can be met)",
        ]
    ]
    shoot(page, tmp_path, "dashboard-risk-conditional")


def _not_scored_shows_the_api_message(served: Served, page: Page) -> None:
    """A protocol with no score on one of its chains shows the API's 404 message there, and no error."""
    protocols = _api(served, "/v1/protocols", limit=100).json()["items"]
    unscored = [
        (p["slug"], chain, answer.json()["error"]["problem"])
        for p in protocols
        for chain in p["chains"]
        if (answer := _api(served, f"/v1/risk/{p['slug']}", chain=chain)).status_code == 404
    ]
    assert unscored  # a protocol without a facts file is never scored
    slug, chain, problem = unscored[0]
    page.goto(f"{served.url}/#/protocol/{slug}")
    shown = page.locator(f"#risk-body .risk-chain[data-chain='{chain}'] .risk-not-scored")
    shown.wait_for()
    assert shown.inner_text() == f"Not scored yet: {problem}"
    assert problem not in page.locator("#lag").inner_text()  # shown in the panel, not as a failed update
