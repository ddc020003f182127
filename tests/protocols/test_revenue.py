"""Revenue shares: the decoding of each knob, the constants, and the knobs' values on the devnet = mainnet's."""

from __future__ import annotations

import doctest
from fractions import Fraction
from typing import Any

import pytest

from defiscope.analytics.grades.catalog import GRADED
from defiscope.devnet.aave import AAVE_RESERVES, aave_artifact
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.compound import V2_MARKETS
from defiscope.devnet.pancake_v3 import PROTOCOL_FEES
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols import revenue
from defiscope.protocols.revenue import (
    SHARES,
    ConstantShare,
    OnChainKnob,
    Scale,
    UnknownRevenue,
    decode,
    protocol_share,
    split_fees,
)

ZERO_ADDRESS_AS_INT = 0


def _abi(name: str, output: str) -> list[dict[str, Any]]:
    return [{"type": "function", "name": name, "inputs": [], "outputs": [{"type": output}], "stateMutability": "view"}]


def test_every_graded_member_has_a_revenue_entry() -> None:
    members = {slug for protocol in GRADED.values() for slug in protocol.members}
    assert members <= set(SHARES)
    for share in SHARES.values():
        assert share.note
        if isinstance(share.knob, ConstantShare):
            assert share.knob.source
            assert share.mainnet == share.knob.share


@pytest.mark.parametrize(
    ("scale", "raw", "share"),
    [
        (Scale.BPS, 1500, Fraction(3, 20)),
        (Scale.WAD, 75 * 10**15, Fraction(3, 40)),
        (Scale.CURVE, 5_000_000_000, Fraction(1, 2)),
        (Scale.UNISWAP_V3_NIBBLE, 0, Fraction(0)),
        (Scale.UNISWAP_V3_NIBBLE, 4 | 6 << 4, Fraction(1, 4)),  # token0's nibble: a quarter of the fee
        (Scale.PANCAKE_V3_HALF, 3400 | 3300 << 16, Fraction(34, 100)),
        (Scale.FEE_TO, ZERO_ADDRESS_AS_INT, Fraction(0)),
        (Scale.FEE_TO, 0xDEAD, Fraction(1, 6)),
        (Scale.PANCAKE_FEE_TO, ZERO_ADDRESS_AS_INT, Fraction(0)),
        (Scale.PANCAKE_FEE_TO, 0xDEAD, Fraction(8, 25)),
    ],
)
def test_decode(scale: Scale, raw: int, share: Fraction) -> None:
    assert decode(scale, raw) == share


def test_constants_need_no_read_and_knobs_need_one() -> None:
    assert protocol_share("makerdao") == 1
    assert protocol_share("eigenlayer") == 0
    assert protocol_share("pancakeswap-v2", 0xDEAD) == Fraction(8, 25)
    with pytest.raises(UnknownRevenue, match="feeTo"):
        protocol_share("pancakeswap-v2")
    with pytest.raises(UnknownRevenue, match="getFee"):
        protocol_share("lido")
    with pytest.raises(UnknownRevenue, match="supply interest"):
        protocol_share("compound-v3", 123)
    with pytest.raises(UnknownRevenue, match="no entry"):
        protocol_share("sushiswap", 0)


def test_split_fees_rounds_the_protocol_down_and_keeps_every_unit() -> None:
    assert split_fees(1_000_001, Fraction(1, 10)) == (100_000, 900_001)
    assert split_fees(7, Fraction(1, 3)) == (2, 5)
    assert split_fees(0, Fraction(1, 2)) == (0, 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_fees(10, Fraction(3, 2))


def test_devnet_knobs_are_mainnet_settings(eth_chain: DevnetChain, bnb_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    contracts = eth_chain.contracts
    lido = sender.contract(contract_artifact("Lido"), contracts["LidoStETH"])
    assert protocol_share("lido", lido.functions.getFee().call()) == SHARES["lido"].mainnet == Fraction(1, 10)
    factory = sender.contract(npm_artifact("UniswapV2Factory"), contracts["UniswapV2Factory"])
    assert protocol_share("uniswap-v2", int(factory.functions.feeTo().call(), 16)) == 0
    for pool in eth_chain.pools_of("uniswap-v3"):
        slot0 = sender.contract(npm_artifact("UniswapV3Pool"), pool.address).functions.slot0().call()
        assert protocol_share("uniswap-v3", slot0[5]) == 0
    three_pool = sender.w3.eth.contract(address=contracts["Curve3Pool"], abi=_abi("admin_fee", "uint256"))
    assert protocol_share("curve", three_pool.functions.admin_fee().call()) == SHARES["curve"].mainnet
    data = sender.contract(aave_artifact("misc/AaveProtocolDataProvider"), contracts["AaveV3ProtocolDataProvider"])
    for reserve in AAVE_RESERVES:
        factor = data.functions.getReserveConfigurationData(eth_chain.tokens[reserve.symbol]).call()[4]
        assert protocol_share("aave-v3", factor) == Fraction(reserve.reserve_factor, 10_000)
    for market in V2_MARKETS:
        ctoken = sender.w3.eth.contract(
            address=contracts[f"CompoundV2cToken:{market.symbol}"], abi=_abi("reserveFactorMantissa", "uint256")
        )
        assert protocol_share("compound-v2", ctoken.functions.reserveFactorMantissa().call()) == Fraction(
            market.reserve_factor
        )
    bnb = Sender.connect(bnb_chain.rpc_url)
    for pool in bnb_chain.pools_of("pancakeswap-v3"):
        fee_protocol = bnb.contract(npm_artifact("PancakeV3Pool"), pool.address).functions.slot0().call()[5]
        assert protocol_share("pancakeswap-v3", fee_protocol) == Fraction(PROTOCOL_FEES[pool.fee], 10_000)
        assert fee_protocol >> 16 == fee_protocol & 0xFFFF  # the same share of either token's fees
    assert isinstance(SHARES["pancakeswap-v3"].knob, OnChainKnob)


def test_the_module_examples_hold() -> None:
    result = doctest.testmod(revenue)
    assert result.attempted >= 5
    assert result.failed == 0
