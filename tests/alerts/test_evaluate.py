"""Each rule kind judged over figures built by hand: where it fires, resolves, or says a figure is missing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from defiscope.alerts.evaluate import (
    BlockFigures,
    Exposure,
    Extras,
    GovernanceEvent,
    IndexerHealth,
    PricePoint,
    RatePoint,
    RuleView,
    SubjectState,
    evaluate_block,
    measure,
)
from defiscope.alerts.pools import Holding, YoungPool
from defiscope.alerts.rules import parse_rule
from defiscope.chain.block import BlockRef

T0 = 1_700_000_000
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"


def figures(n: int, **fields: Any) -> BlockFigures:
    return BlockFigures(BlockRef(1, n, f"0x{n:064x}", T0 + 12 * n), **fields)


def price(usd: str) -> dict[str, PricePoint]:
    point = PricePoint(WETH, "WETH", Decimal(usd), "chainlink:ETH/USD")
    return {"WETH": point, WETH.lower(): point}


def spec(body: dict[str, Any]) -> Any:
    return parse_rule({**body, "params": {"chain": "1", **body["params"]}})


def run(body: dict[str, Any], blocks: dict[int, BlockFigures], extras: dict[int, Extras] | None = None) -> list[str]:
    """The transitions of one rule over the blocks, as "type@block[:subject]"."""
    rule = RuleView(
        "r",
        parse_rule({"params": {"chain": "1"}, **body} | {"params": {"chain": "1", **body["params"]}}),
        body.get("cooldown_blocks", 0),
    )
    states: dict[str, SubjectState] = {}
    seen = []
    for n in sorted(blocks):
        moves = evaluate_block(
            rule, blocks[n], blocks.get, (extras or {}).get(n, Extras()), states, lambda r, b, s: f"{b.number}"
        )
        seen += [
            f"{m.type.removeprefix('alert.')}@{m.block.number}"
            + (f":{m.observation.subject}" if m.observation.subject else "")
            for m in moves
        ]
    return seen


def test_price_move_by_direction_and_a_missing_price_changes_nothing() -> None:
    blocks = {
        1: figures(1, prices=price("3000")),
        2: figures(2, prices=price("2900")),
        3: figures(3),
        4: figures(4, prices=price("2899")),
    }
    down = {
        "kind": "price_move",
        "params": {"token": "weth", "window_blocks": 1, "threshold_pct": "3", "direction": "down"},
    }
    up = {**down, "params": {**down["params"], "direction": "up"}}
    assert run(down, blocks) == ["firing@2"]  # -3.33 %; block 3 has no price: still firing; block 4 has no prior price
    assert run(up, blocks) == []
    missing = measure(spec(down).params, blocks[3], blocks.get, Extras())
    assert missing.missing == "no price of weth was stored with the snapshots of block 3"


def test_tvl_change_by_usd_or_percent() -> None:
    tvl = {1: "1000000", 2: "1000400", 3: "1030000", 4: "1030100"}
    blocks = {n: figures(n, tvl={"aave-v3": Decimal(v)}) for n, v in tvl.items()}
    body = {
        "kind": "tvl_change",
        "params": {"protocol": "aave-v3", "window_blocks": 1, "threshold_usd": "500", "threshold_pct": "2"},
    }
    assert run(body, blocks) == ["firing@3", "resolved@4"]  # +400 USD (0.04 %): no; +29,600 (2.96 %): yes


def test_yield_above_a_level_and_moving_by_points() -> None:
    def rate(apy: str) -> tuple[RatePoint, ...]:
        return (RatePoint("aave-v3", "0xPool", "0xUSDC", "USDC", "supply", Decimal(apy)),)

    blocks = {n: figures(n, rates=rate(a)) for n, a in {1: "4.0", 2: "4.4", 3: "6.1", 4: "5.9"}.items()}
    above = {"kind": "yield", "params": {"protocol": "aave-v3", "asset": "usdc", "above": "5"}}
    moved = {
        "kind": "yield",
        "params": {"protocol": "aave-v3", "asset": "USDC", "side": "supply", "move_pct": "1", "window_blocks": 1},
    }
    assert run(above, blocks) == ["firing@3:supply:0xPool"]
    assert run(moved, blocks) == ["firing@3:supply:0xPool", "resolved@4:supply:0xPool"]


def test_new_protocol_fires_per_protocol_once_above_the_tvl_and_resolves_when_it_ages() -> None:
    day = 86_400
    seen = {"old": T0 - 30 * day, "fresh": T0}
    blocks = {
        1: figures(1, tvl={"old": Decimal(10**9), "fresh": Decimal(10)}, first_seen=seen),
        2: figures(2, tvl={"old": Decimal(10**9), "fresh": Decimal(10**7)}, first_seen=seen),
        3: BlockFigures(
            BlockRef(1, 3, "0x03", T0 + 8 * day), tvl={"old": Decimal(1), "fresh": Decimal(10**7)}, first_seen=seen
        ),
    }
    body = {"kind": "new_protocol", "params": {"min_tvl_usd": "1000000", "within_days": 7}}
    assert run(body, blocks) == ["firing@2:fresh", "resolved@3:fresh"]


def test_new_pools_are_valued_at_the_stored_prices_and_a_pool_without_any_priced_holding_has_no_reading() -> None:
    day, usdc = 86_400, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    fresh = YoungPool("uniswap-v3", "0xPoolNew", 10, T0 - day // 2, (Holding(WETH, "WETH", 18, 10**18),))
    old = YoungPool("uniswap-v2", "0xPoolOld", 5, T0 - 3 * day, (Holding(WETH, "WETH", 18, 10**20),))
    unpriced = YoungPool("uniswap-v2", "0xPoolX", 11, T0, (Holding(usdc, "USDC", 6, 5 * 10**6),))
    blocks = {1: figures(1, prices=price("3000")), 2: figures(2, prices=price("50"))}
    pools = {n: Extras(pools=[fresh, old, unpriced]) for n in blocks}
    body = {"kind": "new_protocol", "params": {"scope": "pool", "min_tvl_usd": "1000", "within_days": "1.5"}}
    assert run(body, blocks, pools) == ["firing@1:uniswap-v3:0xPoolNew", "resolved@2:uniswap-v3:0xPoolNew"]
    measured = measure(spec(body).params, blocks[1], blocks.get, pools[1])
    assert set(measured.readings) == {"uniswap-v3:0xPoolNew", "uniswap-v2:0xPoolOld"}  # 0xPoolX: nothing priced
    assert measured.readings["uniswap-v3:0xPoolNew"].value == Decimal(3000)
    assert measured.readings["uniswap-v3:0xPoolNew"].evidence["first_block"] == 10
    assert measure(spec(body).params, blocks[1], blocks.get, Extras()).missing is not None  # not read: said why


def test_cooldown_holds_back_a_second_firing() -> None:
    tvl = ["100", "200", "200", "400", "400", "800"]
    blocks = {n: figures(n, tvl={"p": Decimal(v)}) for n, v in enumerate(tvl, start=1)}
    body = {
        "kind": "tvl_change",
        "params": {"protocol": "p", "window_blocks": 1, "threshold_pct": "50"},
        "cooldown_blocks": 3,
    }
    assert run(body, blocks) == ["firing@2", "resolved@3", "firing@6"]  # block 4 is within 3 blocks of 2


def test_liquidation_exposure_governance_and_indexer_health_from_their_sources() -> None:
    blocks = {1: figures(1), 2: figures(2)}
    exposure = {
        1: Extras(exposure={("aave-v3", "WETH", Decimal(20)): Exposure(Decimal("900000"), Decimal(1), 3, 10)}),
        2: Extras(exposure={("aave-v3", "WETH", Decimal(20)): "aave-v3 positions could not be read at block 2: boom"}),
    }
    body = {
        "kind": "liquidation_exposure",
        "params": {"protocol": "aave-v3", "asset": "WETH", "drop_pct": 20, "threshold_usd": "500000"},
    }
    assert run(body, blocks, exposure) == ["firing@1"]  # block 2's read failed: no resolution on a missing figure

    proposal = GovernanceEvent("compound-v2", "7", "queued", ("upgrade", "parameter-change"))
    governance = {1: Extras(governance=[proposal]), 2: Extras(governance=[])}
    wanted = {"kind": "governance", "params": {"protocol": "compound-v2", "events": ["queued"], "flags": ["upgrade"]}}
    other = {"kind": "governance", "params": {"flags": ["treasury-transfer"]}}
    assert run(wanted, blocks, governance) == ["firing@1:compound-v2:7:queued"]
    assert run(other, blocks, governance) == []
    assert measure(spec(wanted).params, blocks[1], blocks.get, Extras()).missing is not None  # no source wired

    health = {1: Extras(health=IndexerHealth(120, 100, (), None)), 2: Extras(health=IndexerHealth(121, 121, (), None))}
    lagging = {"kind": "indexer_health", "params": {"max_lag_blocks": 10}}
    assert run(lagging, blocks, health) == ["firing@1", "resolved@2"]
