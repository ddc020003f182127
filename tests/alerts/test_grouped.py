"""Grouped judging (`alerts.grouped`) against the per-rule reference (`evaluate.evaluate_block`, which the backtest
runs): random rule sets over random block histories give the same transitions, in the same order, with the same
evidence; and each rule's conditions say what `evaluate.judge` says on any reading."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from defiscope.alerts.evaluate import (
    BlockFigures,
    Exposure,
    Extras,
    GovernanceEvent,
    IndexerHealth,
    PricePoint,
    RatePoint,
    Reading,
    RuleView,
    SignalEvent,
    SubjectState,
    Transition,
    evaluate_block,
    judge,
    measure,
)
from defiscope.alerts.grouped import conditions, group_rules, holds
from defiscope.alerts.rules import parse_rule
from defiscope.chain.block import BlockRef

T0 = 1_700_000_000
HOURS_6 = 6 * 3600
TOKENS = {"WETH": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "USDC": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}
EXPOSURE_KEY = ("aave-v3", "WETH", Decimal(20))

# Few distinct levels, so that figures land exactly on thresholds (where >= and > differ) often.
pct = st.sampled_from(["0.5", "1", "2", "5", "10", "20"])
usd = st.sampled_from(["0", "1", "10", "100", "1000"])
apy = st.sampled_from(["1", "1.5", "2", "5"])
window = st.integers(1, 3)
direction = st.sampled_from(["up", "down", "any"])


def _some(*keys: str) -> Any:
    return lambda params: any(key in params for key in keys)


PARAMS = {
    "price_move": st.fixed_dictionaries(
        {"token": st.sampled_from(["WETH", "usdc"]), "window_blocks": window, "threshold_pct": pct},
        optional={"direction": direction},
    ),
    "tvl_change": st.fixed_dictionaries(
        {"protocol": st.sampled_from(["p", "q"]), "window_blocks": window},
        optional={"threshold_pct": pct, "threshold_usd": usd, "direction": direction},
    ).filter(_some("threshold_pct", "threshold_usd")),
    "yield": st.fixed_dictionaries(
        {"protocol": st.just("p"), "asset": st.sampled_from(["USDC", TOKENS["USDC"].lower()])},
        optional={
            "side": st.sampled_from(["supply", "borrow", "any"]),
            "above": apy,
            "below": apy,
            "move_pct": st.sampled_from(["0.5", "1", "3"]),
            "window_blocks": window,
        },
    ).filter(_some("above", "below", "move_pct")),
    "new_protocol": st.fixed_dictionaries({"min_tvl_usd": usd, "within_days": st.sampled_from(["0.5", "1", "2"])}),
    "liquidation_exposure": st.fixed_dictionaries(
        {"protocol": st.just("aave-v3"), "asset": st.just("WETH"), "drop_pct": st.just("20"), "threshold_usd": usd}
    ),
    "governance": st.fixed_dictionaries({}, optional={"flags": st.just(["upgrade"]), "events": st.just(["queued"])}),
    "grade_signal": st.fixed_dictionaries(
        {},
        optional={
            "protocol": st.sampled_from(["aave", "curve", "any"]),
            "horizon": st.sampled_from(["trader", "investor", "any"]),
            "direction": st.sampled_from(["bullish", "bearish", "neutral", "any"]),
        },
    ),
    "indexer_health": st.fixed_dictionaries(
        {}, optional={"max_lag_blocks": st.integers(0, 3), "on_failure": st.booleans()}
    ),
}


@st.composite
def rule_sets(draw: st.DrawFn) -> list[RuleView]:
    """Rules of every kind, often with equal inputs or equal params (the groups grouped evaluation shares)."""
    views = []
    for i in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(sorted(PARAMS)))
        body = {"kind": kind, "params": {"chain": "1", **draw(PARAMS[kind])}}
        views.append(RuleView(f"r{i}", parse_rule(body), draw(st.integers(0, 3))))
    return views


def _maybe(values: st.SearchStrategy[str]) -> st.SearchStrategy[Decimal | None]:
    return st.one_of(st.none(), values.map(Decimal))


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[int, BlockFigures], dict[int, Extras]]:
    """Blocks 1..N: TVL, prices and rates from a few levels (some missing), protocols turning old, exposure,
    governance, grade signals and indexer health that come and go."""
    blocks, extras = {}, {}
    first_seen = {"p": T0 - draw(st.integers(0, 2)) * 86_400, "q": T0}
    for n in range(1, draw(st.integers(2, 12)) + 1):
        tvl = {slug: draw(_maybe(st.sampled_from(["0", "100", "101", "105", "110", "200"]))) for slug in ("p", "q")}
        prices = {}
        for symbol, token in TOKENS.items():
            level = draw(_maybe(st.sampled_from(["1", "1.005", "1.01", "1.02", "1.05", "0.98"])))
            if level is not None:
                point = PricePoint(token, symbol, level, "test")
                prices |= {symbol: point, token.lower(): point}
        rates = tuple(
            RatePoint("p", market, TOKENS["USDC"], "USDC", kind, Decimal(draw(apy)))
            for market in ("m1", "m2")
            for kind in ("supply", "borrow")
            if draw(st.booleans()) or n % 3
        )
        blocks[n] = BlockFigures(
            BlockRef(1, n, f"0x{n:064x}", T0 + HOURS_6 * n),
            tvl={slug: value for slug, value in tvl.items() if value is not None},
            prices=prices,
            rates=rates,
            first_seen=first_seen,
        )
        debt = draw(_maybe(usd))
        failing = draw(st.sampled_from([(), ("p",)]))
        governance = [
            GovernanceEvent("p", str(n), event, flags)
            for event in draw(st.lists(st.sampled_from(["created", "queued"]), max_size=2, unique=True))
            for flags in [draw(st.sampled_from([(), ("upgrade",)]))]
        ]
        signals = [
            SignalEvent(protocol, horizon, state, Decimal(grade), {"entity": protocol, "state": state})
            for protocol, horizon in draw(
                st.lists(st.tuples(st.sampled_from(["aave", "curve"]), st.sampled_from(["trader", "investor"])),
                         max_size=3, unique=True)
            )
            for state, grade in [draw(st.sampled_from([("bullish", "72"), ("neutral", "55"), ("bearish", "20")]))]
        ]  # fmt: skip
        extras[n] = Extras(
            exposure={} if debt is None else {EXPOSURE_KEY: Exposure(debt, Decimal(1), 1, 1)},
            governance=governance if n % 4 else None,
            signals=signals if n % 6 else None,
            health=IndexerHealth(100 + draw(st.integers(0, 4)), 100, failing, None) if n % 5 else None,
        )
    return blocks, extras


def _ids(rule_id: str, block: BlockRef, subject: str) -> str:
    return f"{rule_id}.{block.number}.{subject}"


def _seen(moves: list[Transition]) -> list[tuple[Any, ...]]:
    return [
        (m.type, m.rule_id, m.alert_id, m.block, m.observation.subject, m.observation.value, m.observation.previous,
         m.observation.threshold, m.observation.triggered, dict(m.observation.evidence))
        for m in moves
    ]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(views=rule_sets(), history=histories(), forget_at=st.sets(st.integers(1, 12), max_size=3))
def test_grouped_judging_moves_as_the_per_rule_reference(
    views: list[RuleView], history: tuple[dict[int, BlockFigures], dict[int, Extras]], forget_at: set[int]
) -> None:
    """Block by block, the grouped pass and `evaluate_block` rule by rule give equal transitions in equal order;
    forgetting what the groups learnt (as a reload of the states does) changes nothing."""
    blocks, extras = history
    groups = group_rules(views, lambda v: v)
    in_order = [rule for _group, rules in groups for rule in rules]  # the reference in the groups' rule order
    reference_states: dict[str, dict[str, SubjectState]] = {rule.rule_id: {} for rule in views}
    grouped_states: dict[str, dict[str, SubjectState]] = {}
    for n, figures in sorted(blocks.items()):
        expected = [
            move
            for rule in in_order
            for move in evaluate_block(rule, figures, blocks.get, extras[n], reference_states[rule.rule_id], _ids)
        ]
        if n in forget_at:
            for group, _rules in groups:
                group.forget()
        got = []
        for group, rules in groups:
            measured = measure(group.params, figures, blocks.get, extras[n])
            moves = group.judge(measured, figures.block, grouped_states, _ids)
            assert all(rules[index].rule_id == move.rule_id for index, move in moves)
            got += [move for _index, move in moves]
        assert _seen(got) == _seen(expected), f"block {n}"
    for rule in views:
        assert grouped_states.get(rule.rule_id, {}) == reference_states[rule.rule_id]


readings = st.builds(
    Reading,
    value=_maybe(st.sampled_from(["0", "1", "1.5", "2", "3", "5", "10", "100"])),
    change=_maybe(st.sampled_from(["-20", "-1", "-0.5", "0", "0.5", "1", "3", "20"])),
    change_usd=_maybe(st.sampled_from(["-1000", "-100", "0", "10", "100", "1000"])),
    flag=st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(kind=st.sampled_from(sorted(PARAMS)), data=st.data(), reading=readings)
def test_conditions_say_what_judge_says(kind: str, data: st.DataObject, reading: Reading) -> None:
    params = parse_rule({"kind": kind, "params": {"chain": "1", **data.draw(PARAMS[kind])}}).params
    assume(reading.value is not None or kind not in ("yield", "indexer_health"))  # theirs always carry a value
    found = conditions(params)
    if found is None:
        assert kind == "governance"
        assert judge(params, reading)[0]
    else:
        assert holds(found, reading) == judge(params, reading)[0]
