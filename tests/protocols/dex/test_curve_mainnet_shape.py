"""The Curve adapter on the mainnet registry, against contracts answering as mainnet's do (outputs shaped by the
real ABIs: padded address[8] / address[4], stable-ng's dynamic arrays, LP tokens apart from old pools): the
AddressProvider names the registry, a pool listed twice is read once, native ETH is WETH, the metapool's 3CRV
is left to the 3pool; a pool whose balances fail is listed as not counted, naming the call, and a listing call
that fails fails the figure, naming it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.deployments.mainnet import mainnet
from defiscope.protocols.base import AdapterError, Position, Uncounted
from defiscope.protocols.curve.adapter import NATIVE_ETH, CurveAdapter

ZERO = "0x0000000000000000000000000000000000000000"
MAIN = mainnet(1)
C = MAIN.contracts
T = {s: t.address for s, t in MAIN.tokens.items()}
REGISTRY = f"0x{0xE61:040x}"  # as the AddressProvider names it (not the registry's own entry)
THREE = C["Curve3Pool"]  # also a named entry: read from the registry, not by name
STETH, META, TRI, TWO, TRI2 = (f"0x{k:040x}" for k in (0x5, 0x7, 0x9, 0xB, 0xD))
LP_TRI2 = f"0x{0xD1:040x}"
LP_3CRV, LP_STECRV, LP_TRI = (f"0x{k:040x}" for k in (0x31, 0x51, 0x91))
LUSD = f"0x{0x77:040x}"


def _pad(values: Sequence[Any], width: int, empty: Any) -> tuple[Any, ...]:
    return (*values, *[empty] * (width - len(values)))


def _answers() -> dict[tuple[str, str, tuple[Any, ...]], Any]:
    stable_factory, ng, crypto, tricrypto = (
        C[n] for n in ("CurveStableFactory", "CurveStableNgFactory", "CurveCryptoFactory", "CurveTricryptoNgFactory")
    )
    a: dict[tuple[str, str, tuple[Any, ...]], Any] = {
        (C["CurveAddressProvider"], "get_address(uint256)", (0,)): REGISTRY,
        (REGISTRY, "pool_count()", ()): 2,
        (REGISTRY, "pool_list(uint256)", (0,)): THREE,
        (REGISTRY, "pool_list(uint256)", (1,)): STETH,
        (REGISTRY, "get_coins(address)", (THREE,)): _pad([T["DAI"], T["USDC"], T["USDT"]], 8, ZERO),
        (REGISTRY, "get_coins(address)", (STETH,)): _pad([NATIVE_ETH, T["stETH"]], 8, ZERO),
        (REGISTRY, "get_balances(address)", (THREE,)): _pad([10**24, 2 * 10**12, 3 * 10**12], 8, 0),
        (REGISTRY, "get_balances(address)", (STETH,)): _pad([5 * 10**21, 6 * 10**21], 8, 0),
        (REGISTRY, "get_lp_token(address)", (THREE,)): LP_3CRV,
        (REGISTRY, "get_lp_token(address)", (STETH,)): LP_STECRV,
        (C["CurveCryptoRegistry"], "pool_count()", ()): 1,
        (C["CurveCryptoRegistry"], "pool_list(uint256)", (0,)): TRI2,
        (C["CurveCryptoRegistry"], "get_coins(address)", (TRI2,)): _pad([T["USDT"], T["WBTC"], T["WETH"]], 8, ZERO),
        (C["CurveCryptoRegistry"], "get_balances(address)", (TRI2,)): _pad([2 * 10**12, 2 * 10**8, 6 * 10**19], 8, 0),
        (C["CurveCryptoRegistry"], "get_lp_token(address)", (TRI2,)): LP_TRI2,
        (stable_factory, "pool_count()", ()): 1,
        (stable_factory, "pool_list(uint256)", (0,)): META,
        (stable_factory, "get_coins(address)", (META,)): _pad([LUSD, LP_3CRV], 4, ZERO),
        (stable_factory, "get_balances(address)", (META,)): _pad([7 * 10**23, 8 * 10**23], 4, 0),
        # stable-ng lists the ETH/stETH pool again (as the main registry does some factory pools): read once.
        (ng, "pool_count()", ()): 1,
        (ng, "pool_list(uint256)", (0,)): STETH,
        (crypto, "pool_count()", ()): 1,
        (crypto, "pool_list(uint256)", (0,)): TWO,
        (crypto, "get_coins(address)", (TWO,)): (T["WETH"], T["LINK"]),
        (crypto, "get_balances(address)", (TWO,)): (10**20, 2 * 10**22),
        (crypto, "get_token(address)", (TWO,)): f"0x{0xB1:040x}",
        (C["CurveTwocryptoNgFactory"], "pool_count()", ()): 0,
        (tricrypto, "pool_count()", ()): 1,
        (tricrypto, "pool_list(uint256)", (0,)): TRI,
        (tricrypto, "get_coins(address)", (TRI,)): (T["USDT"], T["WBTC"], T["WETH"]),
        (tricrypto, "get_balances(address)", (TRI,)): (10**12, 10**8, 3 * 10**19),
    }
    return {(t.lower(), f, args): v for (t, f, args), v in a.items()}


@dataclass
class MainnetLike:
    """A Reader answering from a table; a call it does not know reverts, as an unknown selector does."""

    answers: Mapping[tuple[str, str, tuple[Any, ...]], Any]
    records: list[CallResult] = field(default_factory=list)
    #: The pinned block (the adapter notes how far its pool listing reached).
    block: BlockRef = field(default_factory=lambda: BlockRef(1, 19_000_000, "0x" + "ab" * 32, 1_700_000_000))

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        results = []
        for call in calls:
            key = (call.target.lower(), call.function.signature, tuple(call.args))
            known = key in self.answers
            results.append(CallResult(call, known, (self.answers[key],) if known else (), None if known else "revert"))
        self.records += results
        return results

    async def call(self, call: Call) -> CallResult:
        (result,) = await self.call_many([call])
        return result


async def test_mainnet_sources_dedupe_native_eth_and_nested_lp() -> None:
    adapter = CurveAdapter(MAIN)
    reader = MainnetLike(_answers())
    positions = await adapter.positions(reader)  # type: ignore[arg-type]
    held = {(p.holder, p.token): p.amount for p in positions}
    assert held == {
        (THREE, T["DAI"]): 10**24,
        (THREE, T["USDC"]): 2 * 10**12,
        (THREE, T["USDT"]): 3 * 10**12,
        (STETH, T["WETH"]): 5 * 10**21,  # native ETH, valued as WETH
        (STETH, T["stETH"]): 6 * 10**21,
        (META, LUSD): 7 * 10**23,  # its 3CRV is the 3pool's LP token: counted there
        (TWO, T["WETH"]): 10**20,
        (TWO, T["LINK"]): 2 * 10**22,
        (TRI, T["USDT"]): 10**12,
        (TRI, T["WBTC"]): 10**8,
        (TRI, T["WETH"]): 3 * 10**19,
        (TRI2, T["USDT"]): 2 * 10**12,
        (TRI2, T["WBTC"]): 2 * 10**8,
        (TRI2, T["WETH"]): 6 * 10**19,
    }
    assert adapter.nested == {META: (LP_3CRV,)}
    sources = {a: p.source for a, p in adapter.pools.items()}
    assert sources == {
        THREE: "CurveRegistry",
        STETH: "CurveRegistry",
        META: "CurveStableFactory",
        TWO: "CurveCryptoFactory",
        TRI: "CurveTricryptoNgFactory",
        TRI2: "CurveCryptoRegistry",
    }
    assert set(adapter.receipt_tokens()) == {LP_3CRV, LP_STECRV, META, f"0x{0xB1:040x}", TRI, LP_TRI2}
    # The registry is the AddressProvider's answer, and the stable-ng factory's copy of the pool is not read.
    assert any(r.call.target.lower() == REGISTRY.lower() for r in reader.records)
    ng = C["CurveStableNgFactory"].lower()
    assert {r.call.function.name for r in reader.records if r.call.target.lower() == ng} == {"pool_count", "pool_list"}


async def test_a_failing_pool_read_lists_the_pool_naming_the_call_and_the_rest_stands() -> None:
    answers = dict(_answers())
    tricrypto = C["CurveTricryptoNgFactory"].lower()
    del answers[(tricrypto, "get_balances(address)", (TRI,))]
    positions = await CurveAdapter(MAIN).positions(MainnetLike(answers))  # type: ignore[arg-type]
    unread = [p for p in positions if isinstance(p, Uncounted)]
    assert [(u.holder, u.token) for u in unread] == [(TRI, T["USDT"]), (TRI, T["WBTC"]), (TRI, T["WETH"])]
    assert all(f"{C['CurveTricryptoNgFactory']}.get_balances({TRI}) failed" in u.reason for u in unread)
    held = {(p.holder, p.token) for p in positions if isinstance(p, Position)}
    assert len(held) == 11  # every other pool's coins, as read in full
    assert not any(holder == TRI for holder, _ in held)


async def test_a_failing_listing_fails_the_figure_naming_the_call() -> None:
    answers = dict(_answers())
    tricrypto = C["CurveTricryptoNgFactory"].lower()
    del answers[(tricrypto, "pool_count()", ())]
    with pytest.raises(AdapterError, match=rf"{C['CurveTricryptoNgFactory']}.pool_count\(\) failed"):
        await CurveAdapter(MAIN).positions(MainnetLike(answers))  # type: ignore[arg-type]


async def test_a_named_pool_whose_coins_fail_is_listed_and_retried() -> None:
    lone = f"0x{0xAB:040x}"
    deployment = replace(MAIN, contracts={**C, "CurveLonePool": lone})
    adapter = CurveAdapter(deployment)
    answers = dict(_answers())
    for _ in range(2):  # each read retries it (and reads the listing again meanwhile)
        positions = await adapter.positions(MainnetLike(answers))  # type: ignore[arg-type]
        (unread,) = [p for p in positions if isinstance(p, Uncounted)]
        assert (unread.holder.lower(), unread.token) == (lone, None)
        assert ".coins(0) failed" in unread.reason
        assert len([p for p in positions if isinstance(p, Position)]) == 14  # every other pool stands
    # Once it answers, it is described and counted like any named pool.
    answers.update({(lone, "coins(uint256)", (i,)): T[s] for i, s in enumerate(("DAI", "USDC"))})
    answers.update({(lone, "balances(uint256)", (i,)): 10**6 * (i + 1) for i in range(2)})
    positions = await adapter.positions(MainnetLike(answers))  # type: ignore[arg-type]
    assert not any(isinstance(p, Uncounted) for p in positions)
    assert {(p.token, p.amount) for p in positions if p.holder == lone} == {(T["DAI"], 10**6), (T["USDC"], 2 * 10**6)}
