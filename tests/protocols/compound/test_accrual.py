"""Interest accrual in Python equals the contracts after moving blocks (V2) and time (Comet)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defiscope.devnet.compound import COMET_RATES, COMETS, CometSpec, wad_of
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.comet_math import CometState
from defiscope.protocols.compound.rates import CometRates, JumpRateModelV2
from defiscope.protocols.compound.v2_math import CTokenState
from tests.protocols.compound.kit import Lab

#: cETH is a CEther (native ETH), the other markets CErc20s: the same accrual either way.
ARTIFACT = {"WETH": "CEther"}


def ctoken_state(lab: Lab, symbol: str) -> tuple[CTokenState, JumpRateModelV2]:
    c = lab.at(ARTIFACT.get(symbol, "CErc20"), f"CompoundV2cToken:{symbol}").functions
    m = lab.at("JumpRateModelV2", f"CompoundV2RateModel:{symbol}").functions
    state = CTokenState(
        cash=c.getCash().call(),
        borrows=c.totalBorrows().call(),
        reserves=c.totalReserves().call(),
        total_supply=c.totalSupply().call(),
        borrow_index=c.borrowIndex().call(),
        reserve_factor=c.reserveFactorMantissa().call(),
        accrual_block=c.accrualBlockNumber().call(),
    )
    model = JumpRateModelV2(
        m.baseRatePerBlock().call(), m.multiplierPerBlock().call(), m.jumpMultiplierPerBlock().call(), m.kink().call()
    )
    return state, model


def test_v2_accrual_after_blocks(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    symbols = ("USDC", "WETH", "DAI", "WBTC")
    states = {symbol: ctoken_state(lab, symbol) for symbol in symbols}
    lab.mine(100)  # a hundred blocks of interest in one accrual (anvil mines thousands slowly)
    for symbol in symbols:
        before, model = states[symbol]
        ctoken = lab.at(ARTIFACT.get(symbol, "CErc20"), f"CompoundV2cToken:{symbol}")
        receipt = lab.sender.send(ctoken.functions.accrueInterest())
        rate = model.borrow_rate(before.cash, before.borrows, before.reserves)
        expected = before.accrue(receipt["blockNumber"], rate)
        after, _ = ctoken_state(lab, symbol)
        assert after == expected, symbol
        assert ctoken.functions.exchangeRateStored().call() == expected.exchange_rate_stored()
        assert expected.borrows > before.borrows  # interest did accrue


def comet_state(lab: Lab, base: str = "USDC") -> CometState:
    """The stored market state, read as mainnet allows: through CometExt's totalsBasic()."""
    return CometState.from_totals_basic(lab.at("Comet", f"CompoundV3Comet:{base}").functions.totalsBasic().call())


@pytest.mark.parametrize("spec", COMETS, ids=[c.base for c in COMETS])
def test_comet_accrual_after_time(eth_chain: DevnetChain, spec: CometSpec) -> None:
    lab = Lab.connect(eth_chain)
    comet = lab.at("Comet", f"CompoundV3Comet:{spec.base}")
    rates = CometRates.from_per_year(*(wad_of(v) for v in spec.rates))
    assert comet.functions.borrowPerSecondInterestRateSlopeLow().call() == rates.borrow_slope_low
    before = comet_state(lab, spec.base)
    assert before.total_borrow_base > 0  # seeded borrowers: the indices move
    lab.advance(30 * 86_400)
    block = lab.block()
    expected = before.accrued(rates, block["timestamp"] - before.last_accrual)
    # The views accrue on the fly at the block they are read at ...
    views = comet.functions
    assert views.totalSupply().call(block_identifier=block["number"]) == expected.total_supply()
    assert views.totalBorrow().call(block_identifier=block["number"]) == expected.total_borrow()
    assert views.getUtilization().call(block_identifier=block["number"]) == before.utilization()
    # ... and a transaction stores the indices of its own block.
    receipt = lab.sender.send(comet.functions.accrueAccount(lab.sender.owner))
    at = lab.sender.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    stored = comet_state(lab, spec.base)
    assert stored == before.accrued(rates, at - before.last_accrual)
    assert stored.borrow_index > before.borrow_index


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(elapsed=st.lists(st.integers(min_value=0, max_value=5 * 365 * 86_400), min_size=20, max_size=20))
def test_comet_views_at_any_later_time(eth_chain: DevnetChain, elapsed: list[int]) -> None:
    """totalSupply / totalBorrow read with the block time overridden equal `accrued` at that time."""
    lab = Lab.connect(eth_chain)
    comet = lab.at("Comet", "CompoundV3Comet:USDC")
    rates = CometRates.from_per_year(*(wad_of(v) for v in COMET_RATES))
    state = comet_state(lab)
    for seconds in elapsed:
        later = state.accrued(rates, seconds)
        override = {"time": hex(state.last_accrual + seconds)}
        for fn, expected in (
            (comet.functions.totalSupply(), later.total_supply()),
            (comet.functions.totalBorrow(), later.total_borrow()),
        ):
            call = {"to": comet.address, "data": fn._encode_transaction_data()}
            raw = lab.sender.rpc("eth_call", [call, "latest", {}, override])
            assert int(raw, 16) == expected
