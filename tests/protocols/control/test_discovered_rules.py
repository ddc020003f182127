"""The rule of each kind of contract found at run time (pure): inspected when listed, by-factory pools sampled,
dependencies, and not listed with the reason that fits (no read reached the block, or no list is kept)."""

from __future__ import annotations

from eth_utils import to_checksum_address

from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.control.discovered import NAMED_BY, plan_kind, plan_named, sample
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


ORACLE = ContractUse("Comptroller oracle", "compound/PriceOracle")
COMPTROLLERS = ("0x" + "c1" * 20, "0x" + "c2" * 20)


def _oracle_answers(*answers: str | None) -> list[CallResult]:
    named = NAMED_BY[ORACLE.interface]
    return [
        CallResult(Call.of(comptroller, named.call), answer is not None, (answer,) if answer else (), "reverted")
        for comptroller, answer in zip(COMPTROLLERS, answers, strict=False)
    ]


def test_the_comptrollers_oracle_is_named_not_a_dependency() -> None:
    named = NAMED_BY[ORACLE.interface]
    assert named.interface == "compound/Comptroller"
    assert plan_kind(ORACLE, {}, OWN).rule != "dependency"  # a contract of the protocol, not a feed
    oracle = "0x" + "0a" * 20
    plan = plan_named(ORACLE, named, _oracle_answers(oracle, oracle))  # two namers, one oracle: inspected once
    assert (plan.rule, plan.count, plan.inspect) == ("named", 1, (to_checksum_address(oracle),))
    assert "oracle()" in plan.why


def test_a_failed_oracle_read_is_unread_and_a_zero_oracle_not_inspected() -> None:
    named = NAMED_BY[ORACLE.interface]
    failed = plan_named(ORACLE, named, _oracle_answers(None))
    first, second = (to_checksum_address(c) for c in COMPTROLLERS)
    # What the failed call names is a contract of the protocol all the same: unknown, counted, never left out.
    assert (failed.rule, failed.count, failed.inspect, failed.unread) == ("named", 1, (), ((first, "reverted"),))
    assert failed.why.endswith(f"oracle() failed at {first}: what it names is unknown, scored as such")
    oracle = "0x" + "0a" * 20
    mixed = plan_named(ORACLE, named, _oracle_answers(oracle, None))  # one namer answers, the other fails
    assert (mixed.count, mixed.inspect, mixed.unread) == (2, (to_checksum_address(oracle),), ((second, "reverted"),))
    unset = plan_named(ORACLE, named, _oracle_answers("0x" + "00" * 20))
    assert (unset.rule, unset.count, unset.inspect) == ("named", 0, ())
    nobody = plan_named(ORACLE, named, [])
    assert (nobody.rule, nobody.why) == ("not-listed", "not inspected: no compound/Comptroller")
