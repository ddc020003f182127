"""The rule of each kind of contract found at run time (pure): inspected when listed, by-factory pools sampled,
dependencies, and not listed with the reason that fits (no read reached the block, or no list is kept)."""

from __future__ import annotations

from defiscope.protocols.control.discovered import plan_kind, sample
from defiscope.protocols.surface import ContractUse

CTOKEN = ContractUse("cToken", "compound/CErc20")
PAIR = ContractUse("pair (each, from PairCreated)", "uniswap/UniswapV2Pair")
OWN = {"compound", "uniswap"}


def test_a_listed_kind_of_its_own_is_inspected_whole() -> None:
    plan = plan_kind(CTOKEN, {"cToken": ("0x1", "0x2", "0x3")}, OWN)
    assert (plan.rule, plan.count, plan.inspect) == ("inspected", 3, ("0x1", "0x2", "0x3"))


def test_factory_pools_are_a_bounded_sample_however_many() -> None:
    pairs = tuple(f"0x{i:x}" for i in range(300_000))
    plan = plan_kind(PAIR, {PAIR.name: pairs}, OWN)
    assert (plan.rule, plan.count) == ("by-factory", 300_000)
    assert plan.inspect == sample(pairs) == (pairs[0], pairs[-2], pairs[-1])
    assert "3 of 300000 checked" in plan.why
    assert sample(["a"]) == ("a",)
    assert sample([]) == ()


def test_tokens_feeds_and_other_projects_contracts_are_dependencies() -> None:
    for use in (
        ContractUse("pool token", "common/ERC20"),
        ContractUse("oracle price source", "aave/AggregatorInterface"),
        ContractUse("held token (lido_shares)", "lido/StETH"),  # another project's, held by this one
    ):
        assert plan_kind(use, {use.name: ("0x1",)}, OWN).rule == "dependency", use.name


def test_a_kind_not_listed_says_why_and_is_not_inspected() -> None:
    unread = plan_kind(CTOKEN, None, OWN)
    unkept = plan_kind(CTOKEN, {}, OWN)
    assert (unread.rule, unread.count, unread.inspect) == ("not-listed", None, ())
    assert "no read of its adapters reached this block" in unread.why
    assert (unkept.rule, unkept.inspect) == ("not-listed", ())
    assert "keep no list" in unkept.why
    # a by-factory kind not listed is still immutable by construction, with nothing sampled
    assert (plan_kind(PAIR, None, OWN).rule, plan_kind(PAIR, None, OWN).inspect) == ("by-factory", ())
