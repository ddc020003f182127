"""The pure parts: the state machine under both Governors' rules (Expired only under Bravo's), flags, and
concentration figures."""

from __future__ import annotations

from fractions import Fraction

import pytest
from eth_abi import encode

from defiscope.governance.actions import AbiLibrary, decode_action, flag_of
from defiscope.governance.concentration import concentration
from defiscope.governance.state import BRAVO, OPENZEPPELIN, ProposalState, Tally, Timeline, proposal_state

S = ProposalState
DAY = 24 * 3600


@pytest.mark.parametrize(
    ("timeline", "tally", "block", "timestamp", "bravo", "oz"),
    [
        (Timeline(10, 20), Tally(0, 0, 0), 10, 0, S.PENDING, S.PENDING),  # at the snapshot: not open yet
        (Timeline(10, 20), Tally(0, 0, 0), 20, 0, S.ACTIVE, S.ACTIVE),  # the deadline block still votes
        (Timeline(10, 20), Tally(50, 50, 0), 21, 0, S.DEFEATED, S.DEFEATED),  # a tie fails
        (Timeline(10, 20), Tally(30, 0, 30), 21, 0, S.DEFEATED, S.SUCCEEDED),  # abstain counts only in OZ
        (Timeline(10, 20), Tally(60, 10, 0), 21, 0, S.SUCCEEDED, S.SUCCEEDED),
        (Timeline(10, 20, eta=1000), Tally(60, 10, 0), 30, 999, S.QUEUED, S.QUEUED),
        (Timeline(10, 20, eta=1000), Tally(60, 10, 0), 30, 1000 + 14 * DAY, S.EXPIRED, S.QUEUED),
        (Timeline(10, 20, eta=1000, executed=True), Tally(60, 10, 0), 30, 2000, S.EXECUTED, S.EXECUTED),
        (Timeline(10, 20, canceled=True), Tally(0, 0, 0), 5, 0, S.CANCELED, S.CANCELED),
    ],
)
def test_state_machine(
    timeline: Timeline, tally: Tally, block: int, timestamp: int, bravo: ProposalState, oz: ProposalState
) -> None:
    assert proposal_state(timeline, tally, quorum=50, block=block, timestamp=timestamp, rules=BRAVO) is bravo
    assert proposal_state(timeline, tally, quorum=50, block=block, timestamp=timestamp, rules=OPENZEPPELIN) is oz


def test_an_unknown_quorum_is_not_guessed() -> None:
    ended = Timeline(10, 20)
    assert proposal_state(ended, Tally(60, 10, 0), quorum=None, block=21, timestamp=0, rules=OPENZEPPELIN) is None
    # ... unless the votes decide alone: for <= against is Defeated whatever the quorum.
    assert proposal_state(ended, Tally(1, 10, 0), quorum=None, block=21, timestamp=0, rules=OPENZEPPELIN) is S.DEFEATED


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("upgradeToAndCall", 0, "upgrade"),
        ("_setPendingImplementation", 0, "upgrade"),
        ("_setPendingAdmin", 0, "admin-change"),
        ("grantRole", 0, "admin-change"),
        ("_setPriceOracle", 0, "oracle-change"),
        ("setAssetSources", 0, "oracle-change"),
        ("_setInterestRateModel", 0, "parameter-change"),
        ("enableFeeAmount", 0, "parameter-change"),
        ("transfer", 0, "treasury-transfer"),
        (None, 10**18, "treasury-transfer"),
        ("doSomething", 0, "unknown"),
    ],
)
def test_flags(name: str | None, value: int, flag: str) -> None:
    assert flag_of(name, value)[0] == flag


def test_concentration() -> None:
    votes = {f"d{i}": v for i, v in enumerate((40, 25, 15, 10, 5, 3, 2, 0))}
    c = concentration(votes)
    assert (c.total, c.delegates, c.nakamoto) == (100, 7, 2)  # 40 + 25 > 50
    assert c.top_share == Fraction(95, 100)
    assert [d for d, _ in c.top] == ["d0", "d1", "d2", "d3", "d4"]
    assert concentration({}).nakamoto is None


def test_bravo_action_with_signature_decodes_arguments_only() -> None:
    """Bravo proposals may put the function in `signatures` and only the arguments in `calldatas`."""
    abi = [
        {
            "type": "function",
            "name": "_setCollateralFactor",
            "inputs": [
                {"name": "cToken", "type": "address"},
                {"name": "newCollateralFactorMantissa", "type": "uint256"},
            ],
        }
    ]
    ctoken = "0x39AA39c021dfbaE8faC545936693aC917d5E7563"
    data = "0x" + encode(["address", "uint256"], [ctoken, 8 * 10**17]).hex()
    action = decode_action(AbiLibrary.of([abi]), {}, ctoken, 0, "_setCollateralFactor(address,uint256)", data)
    assert action.function == "_setCollateralFactor(address,uint256)"
    assert [a.value for a in action.arguments] == [ctoken, str(8 * 10**17)]
    assert action.flag == "parameter-change"
    unknown = decode_action(AbiLibrary.of([abi]), {}, ctoken, 0, "", "0xdeadbeef")
    assert (unknown.function, unknown.flag) == (None, "unknown")
    assert "0xdeadbeef" in unknown.why
