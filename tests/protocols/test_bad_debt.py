"""Bad debt from the answers the real ABIs give (pure: the answers are built here; the devnet reads are in
tests/analytics/risk/test_risk_requests.py): Maker's rad rounded up to DAI wei, Comet's negative reserves."""

from __future__ import annotations

from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.bad_debt import COMET_BASE_TOKEN, GET_RESERVES, RAY, BadDebt, _comet, _vow_debt
from defiscope.protocols.maker.surface import VAT_DAI, VAT_SIN, VOW

VAT, JUG, VOW_ADDRESS, DAI = (f"0x{i:040x}" for i in range(1, 5))
COMET_ADDRESS = f"0x{9:040x}"


def _answer(target: str, signature: str, value: object, *args: object) -> CallResult:
    return CallResult(Call.of(target, signature, *args), True, (value,))


def _vow(sin: int, dai: int) -> BadDebt:
    answers = [_answer(VAT, VAT_SIN, sin, VOW_ADDRESS), _answer(VAT, VAT_DAI, dai, VOW_ADDRESS)]
    return _vow_debt(_answer(JUG, VOW, VOW_ADDRESS), answers, DAI)


def test_maker_unbacked_debt_is_the_vows_sin_beyond_its_dai_rounded_up_to_wei() -> None:
    assert _vow(10**18 * RAY + 1, 0).amount == 10**18 + 1  # a rad more than one DAI: one wei more
    assert _vow(5 * RAY, 3 * RAY).amount == 2
    assert _vow(3 * RAY, 5 * RAY).amount == 0  # surplus covers it
    assert _vow(0, 0).token == DAI


def test_maker_without_a_debt_engine_or_a_failed_read_is_not_read() -> None:
    zero = _vow_debt(_answer(JUG, VOW, "0x" + "00" * 20), [], DAI)
    assert (zero.amount, zero.why) == (None, "jug.vow() is the zero address: no debt engine filed")
    failed = CallResult(Call.of(VAT, VAT_SIN, VOW_ADDRESS), False, error="reverted")
    read = _vow_debt(_answer(JUG, VOW, VOW_ADDRESS), [failed, _answer(VAT, VAT_DAI, 0, VOW_ADDRESS)], DAI)
    assert read.amount is None
    assert "sin(address) failed: reverted" in str(read.why)


def test_comet_bad_debt_is_its_negative_reserves_in_the_base_token() -> None:
    base = _answer(COMET_ADDRESS, COMET_BASE_TOKEN, DAI)
    assert _comet("Comet", _answer(COMET_ADDRESS, GET_RESERVES, -7), base) == BadDebt("Comet", DAI, 7)
    assert _comet("Comet", _answer(COMET_ADDRESS, GET_RESERVES, 12), base).amount == 0
    failed = CallResult(Call.of(COMET_ADDRESS, GET_RESERVES), False, error="reverted")
    assert _comet("Comet", failed, base).why == "getReserves() failed: reverted"
