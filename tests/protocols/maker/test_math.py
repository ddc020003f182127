"""Maker's math in Python equals the deployed dss contracts: rpow, drip after time, spot, vault safety."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defiscope.chain.multicall import Call
from defiscope.devnet.maker import ILKS, duty_for, ilk_id, seeded_cdp
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.maker.math import RAY, WAD, MakerMathError, Urn, drip, rpow, spot
from tests.protocols.compound.kit import Lab

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Per-second rates from 0 % to about 100 % a year, and exponents up to ten years of seconds.
rates = st.integers(min_value=RAY, max_value=RAY + 22 * 10**18)
exponents = st.integers(min_value=0, max_value=10 * 31_536_000)


@SETTINGS
@given(cases=st.lists(st.tuples(rates, exponents), min_size=40, max_size=40))
async def test_rpow_equals_jug(eth_chain: DevnetChain, cases: list[tuple[int, int]]) -> None:
    lab = Lab.connect(eth_chain)
    jug = lab.deploy("JugRpowProbe").address  # the Jug's rpow is internal, as on mainnet: a probe exposes it
    calls = [Call.of(jug, "rpow(uint256,uint256,uint256)(uint256)", x, n, RAY) for x, n in cases]
    assert await lab.values(calls) == [rpow(x, n, RAY) for x, n in cases]


async def test_rpow_edges(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    jug = lab.deploy("JugRpowProbe").address
    cases = [(0, 0), (0, 5), (RAY, 0), (2 * RAY, 1), (3 * RAY // 2, 7)]
    calls = [Call.of(jug, "rpow(uint256,uint256,uint256)(uint256)", x, n, RAY) for x, n in cases]
    assert (
        await lab.values(calls) == [rpow(x, n, RAY) for x, n in cases] == [RAY, 0, RAY, 2 * RAY, 17085937500 * 10**18]
    )
    with pytest.raises(MakerMathError):
        rpow(2**200, 2, RAY)
    with pytest.raises(MakerMathError):
        drip(RAY, base=0, duty=RAY, elapsed=-1)


def test_drip_after_time(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    jug, vat = lab.at("Jug", "MakerJug"), lab.at("Vat", "MakerVat")
    for ilk in ILKS:
        i = ilk_id(ilk.name)
        duty, rho = jug.functions.ilks(i).call()
        assert duty == duty_for(ilk.fee)  # the duty set in the init block stuck
        rate_before = vat.functions.ilks(i).call()[1]
        lab.advance(365 * 86_400)
        receipt = lab.sender.send(jug.functions.drip(i))
        now = lab.sender.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
        expected = drip(rate_before, base=jug.functions.base().call(), duty=duty, elapsed=now - rho)
        assert vat.functions.ilks(i).call()[1] == expected
        # at least a year of the fee (5.25 % for ETH-A, 5.86 % for WBTC-A...), to 4 decimals
        assert round(Fraction(expected, RAY) - 1, 4) >= Fraction(ilk.fee)


def test_spot_and_vault_safety_follow_the_feed(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    vat, spotter = lab.at("Vat", "MakerVat"), lab.at("Spotter", "MakerSpotter")
    i = ilk_id("ETH-A")
    risky = lab.at("MakerCdpManager", "MakerCdpManager").functions.urns(seeded_cdp("eth risky")).call()
    mat = spotter.functions.ilks(i).call()[1]
    par = spotter.functions.par().call()
    assert (mat, par) == (145 * RAY // 100, RAY)
    for price in (3000, 2857, 2856):
        lab.set_feed("ETH/USD", price * 10**8)
        lab.sender.send(spotter.functions.poke(i))
        _, rate, spot_ray, _, _ = vat.functions.ilks(i).call()
        assert spot_ray == spot(price_wad=price * WAD, par=par, mat=mat)
        urn = Urn(*vat.functions.urns(i, risky).call())
        assert urn == Urn(100 * WAD, urn.art)
        assert urn.debt(rate) >= 197_000
        liquidation = urn.liquidation_price(rate, mat)
        assert liquidation is not None
        assert 2856.5 <= liquidation < 2857
        assert urn.is_barkable(rate, spot_ray) == (price < liquidation)
