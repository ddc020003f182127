"""The stETH stand-in's pause powers are mainnet's: each function (signature, outputs, mutability) and event is in
the real Lido ABI (`@lido-sdk/contracts`' StethAbi, tests/fixtures/abi/lido), and the control reads' calls on stETH
are read-only there."""

from __future__ import annotations

import pytest

from defiscope.devnet.artifacts import contract_artifact
from defiscope.protocols.control import surface
from defiscope.protocols.surface import ContractUse
from tests.mainnet.conformance import _events, _functions, interface, use_problems

PAUSE_FUNCTIONS = (
    "stop()",
    "resume()",
    "isStopped()",
    "pauseStaking()",
    "resumeStaking()",
    "isStakingPaused()",
    "setStakingLimit(uint256,uint256)",
    "removeStakingLimit()",
    "getCurrentStakeLimit()",
    "canPerform(address,bytes32,uint256[])",
    "kernel()",
    "PAUSE_ROLE()",
    "RESUME_ROLE()",
    "STAKING_PAUSE_ROLE()",
    "STAKING_CONTROL_ROLE()",
)
PAUSE_EVENTS = (
    "Stopped()",
    "Resumed()",
    "StakingPaused()",
    "StakingResumed()",
    "StakingLimitSet(uint256,uint256)",
    "StakingLimitRemoved()",
)


def _by_selector(abi):  # type: ignore[no-untyped-def]
    """signature -> (outputs, mutability)"""
    return {sig: (tuple(f.outputs), mutability) for sig, (f, mutability) in _functions(abi).items()}


@pytest.mark.parametrize("name", PAUSE_FUNCTIONS)
def test_each_pause_function_of_the_standin_is_the_real_one(name: str) -> None:
    real = _by_selector(interface("lido/StETH"))
    ours = _by_selector(contract_artifact("Lido").abi)
    assert name in real, f"the real stETH has no {name}"
    assert ours.get(name) == real[name]  # same outputs, same mutability


@pytest.mark.parametrize("name", PAUSE_EVENTS)
def test_each_pause_event_of_the_standin_is_the_real_one(name: str) -> None:
    assert name in _events(interface("lido/StETH"))
    assert name in _events(contract_artifact("Lido").abi)


def test_the_pause_reads_are_read_only_calls_of_the_real_steth() -> None:
    calls = (surface.KERNEL, surface.IS_STOPPED, surface.IS_STAKING_PAUSED)
    assert use_problems(ContractUse("stETH pause reads", "lido/StETH", calls=calls)) == []
