"""What Compound's risk paths read is what the adapters declare, and the mainnet registry has every Comet.

`tests/mainnet/test_devnet_calls.py` checks the adapters' `read` (positions and yields); here the risk
scans (V2 account liquidity, Comet collateralization), whose calls `surface()` must cover too, run on the
seeded devnet with a recording reader.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.standins import admin_hook_names
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.comet_math import CometState
from defiscope.protocols.compound.positions import (
    COMET_WITHDRAW,
    MARKET_ENTERED,
    CometAsset,
    CometMarket,
    PositionError,
    discover_comet_accounts,
    discover_v2_accounts,
    read_comet,
    scan_comet_accounts,
    scan_v2_accounts,
    usd_per_quote,
)
from defiscope.protocols.compound.v2 import COMPTROLLER, UNDERLYING, CompoundV2Adapter
from defiscope.protocols.compound.v3 import CompoundV3Adapter, comets, price_quote
from defiscope.protocols.surface import ContractUse, declared_topics
from tests.mainnet.conformance import undeclared_calls, use_problems


async def test_risk_scans_call_only_what_the_surface_declares(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    v2, v3 = CompoundV2Adapter(deployment), CompoundV3Adapter(deployment)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        head = snapshot.block.number
        v2_reader = Batcher(snapshot).reader("compound-v2")
        accounts = await discover_v2_accounts(client, deployment.contract(COMPTROLLER), 0, head)
        scanned = await scan_v2_accounts(v2_reader, deployment, accounts)
        v3_reader = Batcher(snapshot).reader("compound-v3")
        borrowers = 0
        for symbol, comet in comets(deployment).items():
            market = await read_comet(v3_reader, deployment, comet, price_quote(symbol))
            found = await discover_comet_accounts(client, comet, 0, head)
            borrowers += sum(a.principal < 0 for a in await scan_comet_accounts(v3_reader, market, found))
    assert len(scanned) == len(accounts) > 0
    assert borrowers >= len(comets(deployment)) == 4  # every Comet has seeded borrowers: each path ran
    assert undeclared_calls(v2_reader.records, v2.surface()) == []
    assert undeclared_calls(v3_reader.records, v3.surface()) == []
    assert bytes.fromhex(MARKET_ENTERED[2:]) in declared_topics(v2.surface())
    assert bytes.fromhex(COMET_WITHDRAW[2:]) in declared_topics(v3.surface())
    called = {r.call.function.name for r in (*v2_reader.records, *v3_reader.records)}
    assert not called & admin_hook_names()
    # Nothing read of the Comet is internal storage on mainnet: the totals come from totalsBasic().
    assert "totalsBasic" in called
    assert not called & {"baseSupplyIndex", "baseBorrowIndex", "totalSupplyBase", "totalBorrowBase", "lastAccrualTime"}


def test_mainnet_registry_has_every_comet() -> None:
    deployment = mainnet(1)
    uses = {u.name: u for u in CompoundV3Adapter(deployment).surface()}
    expected = {
        "USDC": "0xc3d688B66703497DAA19211EEdff47f25384cdc3",
        "WETH": "0xA17581A9E3356d9A858b789D68B4d866e593aE94",
        "USDT": "0x3Afdc9BCA9213A35503b077a6072F3D0d5AB0840",
        "wstETH": "0x3D0bb1ccaB520A66e607822fC55BC921738fAFE3",
        "USDS": "0x5D409e56D886231aDAf00c8775665AD0f9897b56",
        "WBTC": "0xe85Dc543813B8c2CFEaAc371517b925a166a9293",
    }
    assert {name: u.address for name, u in uses.items() if u.address} == {
        f"Comet {base}": address for base, address in expected.items()
    }
    assert {u.interface for u in uses.values() if u.address} == {"compound/Comet"}
    assert [price_quote(base) for base in expected] == ["USD", "WETH", "USD", "wstETH", "USD", "WBTC"]


def _market(comet: str, base: str, quote: str, base_price: int, collateral: dict[str, int]) -> CometMarket:
    state = CometState(10**15, 10**15, 0, 0, 0)
    assets = tuple(CometAsset(a, a, f"feed {a}", 10**18, 8 * 10**17, 9 * 10**17) for a in collateral)
    return CometMarket(comet, base, base, 10**6, base_price, state, state, assets, tuple(collateral.values()), quote)


def test_a_comet_priced_in_a_token_is_valued_through_a_usd_comet() -> None:
    usdc = _market("cUSDCv3", "USDC", "USD", 10**8, {"WETH": 3_000 * 10**8, "wstETH": 3_600 * 10**8})
    weth = _market("cWETHv3", "WETH", "WETH", 10**8, {"wstETH": 12 * 10**7})
    assert usd_per_quote(usdc, [usdc]) == 1
    assert usd_per_quote(weth, [usdc]) == Fraction(3_000)
    # No USD Comet prices the unit: the positions are not valued (never guessed).
    with pytest.raises(PositionError, match=r"cWETHv3 prices in WETH.*cannot be valued"):
        usd_per_quote(weth, [_market("cUSDTv3", "USDT", "USD", 10**8, {"WBTC": 10**13})])
    # A token-priced Comet whose base is not the constant 1 is in a unit we do not know: refused too.
    odd = _market("cWETHv3", "WETH", "WETH", 99_000_000, {"wstETH": 12 * 10**7})
    with pytest.raises(PositionError, match="not the constant 1e8"):
        usd_per_quote(odd, [usdc])


def test_ceth_answers_every_ctoken_read_but_underlying() -> None:
    """Mainnet's largest V2 market is cETH (CEther): the same reads, and no underlying() -- which our code
    reads as native ETH, valued as WETH."""
    ctoken = next(u for u in CompoundV2Adapter(mainnet(1)).surface() if u.name == "cToken")
    assert ctoken.interface == "compound/CErc20"
    ceth = ContractUse("cETH", "compound/CEther", tuple(c for c in ctoken.calls if c != UNDERLYING))
    assert use_problems(ceth) == []
    assert use_problems(ContractUse("cETH", "compound/CEther", (UNDERLYING,))) == [
        "cETH (compound/CEther) has no function underlying()"
    ]
