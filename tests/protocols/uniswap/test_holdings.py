"""The tracked holdings' bookkeeping, without a chain: totals follow every change exactly."""

from __future__ import annotations

import random

from defiscope.chain.block import BlockRef
from defiscope.protocols.base import Position, Uncounted
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.tracked import Holdings, Key, Reading, created_between

BLOCK = BlockRef(1, 100, "0x" + "ab" * 32, 1_700_000_000)
POOLS = [f"0x{i:040x}" for i in range(1, 40)]
TOKENS = [f"0x{0xA0 + i:040x}" for i in range(5)]


def test_totals_and_counts_follow_random_changes_exactly() -> None:
    rng = random.Random(4)
    held = Holdings(BLOCK)
    truth: dict[Key, Reading] = {}
    for _ in range(2_000):
        key = (rng.choice(POOLS), rng.choice(TOKENS))
        reading: Reading = "balanceOf reverted" if rng.random() < 0.05 else rng.randrange(10**30)
        held.set(key, reading)
        truth[key] = reading
    amounts = {k: v for k, v in truth.items() if isinstance(v, int)}
    for token in TOKENS:
        assert held.totals.get(token, 0) == sum(v for (_, t), v in amounts.items() if t == token)
        assert held.counts.get(token, 0) == sum(1 for _, t in amounts if t == token)
    positions = held.positions()
    assert sorted((p.token, p.amount, p.label) for p in positions if isinstance(p, Position)) == sorted(
        (t, held.totals[t], f"{held.counts[t]} pools") for t in TOKENS if held.counts.get(t)
    )
    assert {(p.holder, p.token, p.reason) for p in positions if isinstance(p, Uncounted)} == {
        (h, t, r) for (h, t), r in truth.items() if isinstance(r, str)
    }
    assert held.listing() == sorted((h, t, v) for (h, t), v in truth.items())
    per_pool = held.per_holder()  # what DefiLlama's long-tail rule weighs: each pool's sides
    assert sorted((p.holder, p.token, p.amount) for p in per_pool if isinstance(p, Position)) == sorted(
        (h, t, v) for (h, t), v in amounts.items()
    )
    assert {p.label for p in per_pool if isinstance(p, Position)} == {f"pool {h}" for h, _ in amounts}
    assert held.differences(truth) == []


def test_differences_name_each_changed_holding() -> None:
    held = Holdings.of(BLOCK, {(POOLS[0], TOKENS[0]): 5, (POOLS[1], TOKENS[0]): "reverted"})
    chain: dict[Key, Reading] = {(POOLS[0], TOKENS[0]): 6, (POOLS[1], TOKENS[0]): "reverted: other words"}
    chain[(POOLS[2], TOKENS[1])] = 0
    assert held.differences(chain) == [((POOLS[0], TOKENS[0]), 5, 6), ((POOLS[2], TOKENS[1]), None, 0)]


def test_created_between_matches_the_cursor_scan() -> None:
    cursor: LogCursor[str] = LogCursor("0x" + "11" * 20, ("0x" + "22" * 32,), lambda log: str(log))
    cursor.entries = [(block, index, f"{block}:{index}") for block in (3, 3, 5, 9, 9, 9, 12) for index in (0, 1)]
    for after in range(0, 14):
        for upto in range(after, 14):
            assert created_between(cursor, after, upto) == cursor.between(after, upto)
