"""Every Aave V3 market of the chain is read, as on Ethereum (Core, Prime, EtherFi), and a reserve listed
"after v3.2" (no stable-debt token) is read without one; the v3.0 Pool's missing virtual balance selects the
balanceOf fallback."""

from __future__ import annotations

from web3 import Web3

from defiscope.chain.abi import Function
from defiscope.chain.client import ChainClient
from defiscope.devnet.aave import AAVE_MARKETS
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.aave.market import GET_VIRTUAL_BALANCE, ZERO_ADDRESS, AaveMarket, markets_of
from defiscope.protocols.aave.positions import pool_account_data, scan_accounts
from defiscope.protocols.base import BalanceKind
from tests.protocols.aave.kit import AaveKit

UINT_VIEW = [
    {"name": n, "type": "function", "stateMutability": "view", "inputs": i, "outputs": [{"type": "uint256"}]}
    for n, i in (("totalSupply", []), ("balanceOf", [{"type": "address"}]))
]


def _erc20(kit: AaveKit, address: str):  # type: ignore[no-untyped-def]
    return kit.sender.w3.eth.contract(address=Web3.to_checksum_address(address), abi=UINT_VIEW).functions


async def test_every_market_is_read_with_its_own_reserves(kit: AaveKit, client: ChainClient) -> None:
    assert [m.name for m in markets_of(kit.deployment)] == [p.name for p in AAVE_MARKETS]
    reader = await kit.reader(client)
    positions = await AaveV3Adapter(kit.deployment).positions(reader)
    assert len(positions) == 2 * sum(len(p.reserves) for p in AAVE_MARKETS)
    for market in AaveMarket.all_of(kit.deployment):
        params = next(p for p in AAVE_MARKETS if p.name == market.name)
        pool = kit.sender.w3.eth.contract(address=market.pool, abi=kit.pool.abi).functions
        listed = pool.getReservesList().call()
        assert [kit.deployment.token_at(a).symbol for a in listed] == [r.symbol for r in params.reserves]  # type: ignore[union-attr]
        for asset in listed:
            a_token, stable, variable = pool.getReserveData(asset).call()[8:11]
            mine = {p.kind: p for p in positions if p.holder == a_token}
            # What the aToken holds, and the debt: read here straight from the tokens, not through defiscope.
            assert mine[BalanceKind.TVL].amount == _erc20(kit, asset).balanceOf(a_token).call()
            stable_debt = _erc20(kit, stable).totalSupply().call() if int(stable, 16) else 0
            assert mine[BalanceKind.BORROWED].amount == _erc20(kit, variable).totalSupply().call() + stable_debt
            assert mine[BalanceKind.TVL].label.endswith(f"({market.name})")
    # The same asset in two markets is two positions, held by two aTokens.
    usdc = kit.deployment.token("USDC").address
    assert len({p.holder for p in positions if p.token == usdc and p.kind is BalanceKind.TVL}) == 3


async def test_a_reserve_without_a_stable_debt_token_is_read_without_one(kit: AaveKit, client: ChainClient) -> None:
    etherfi = AaveMarket.of(kit.deployment, "EtherFi")
    weeth = kit.deployment.token("weETH").address
    pool = kit.sender.w3.eth.contract(address=etherfi.pool, abi=kit.pool.abi).functions
    data = pool.getReserveData(weeth).call()
    assert data[9] == ZERO_ADDRESS  # v3.2's shape: no stable-debt token
    assert int(data[10], 16) != 0
    reader = await kit.reader(client)
    reserves = {r.symbol: r for r in await etherfi.reserves(reader)}
    assert not reserves["weETH"].tokens.has_stable_debt_token
    assert reserves["USDC"].tokens.has_stable_debt_token
    assert reserves["weETH"].stable_debt == 0
    assert reserves["weETH"].available_liquidity == _erc20(kit, weeth).balanceOf(data[8]).call() > 0
    # No call went to the missing token (a call to address zero answers nothing and would fail to decode).
    assert all(int(r.call.target, 16) != 0 for r in reader.records)
    # The v3.0 Pool has no virtual balance: its revert chose the balanceOf fallback, once per market.
    virtual = Function.parse(GET_VIRTUAL_BALANCE).signature
    probes = [r for r in reader.records if r.call.function.signature == virtual]
    assert len(probes) == 1
    assert not probes[0].success
    assert etherfi.version is not None
    assert not etherfi.version.virtual_accounting
    # The weETH looper's position (weETH collateral, USDC debt) is what the Pool itself computes.
    borrowers = _borrowers(kit, etherfi.pool)
    ours = await scan_accounts(reader, etherfi, borrowers)
    assert [p.data for p in ours] == await pool_account_data(reader, etherfi.pool, borrowers)
    assert any(p.data.total_debt_base > 0 and "weETH" in {leg.symbol for leg in p.legs} for p in ours)


def _borrowers(kit: AaveKit, pool: str) -> list[str]:
    """onBehalfOf of the Pool's Borrow events, read with web3 (not through defiscope)."""
    topic = Web3.keccak(text="Borrow(address,address,address,uint256,uint8,uint256,uint16)")
    logs = kit.sender.w3.eth.get_logs({"address": pool, "topics": [topic], "fromBlock": 0, "toBlock": "latest"})
    return sorted({Web3.to_checksum_address(log["topics"][2][-20:]) for log in logs})


async def test_a_market_that_cannot_be_read_is_a_yield_gap_and_the_others_stand(
    kit: AaveKit, client: ChainClient
) -> None:
    adapter = AaveV3Adapter(kit.deployment)
    prime = AaveMarket.of(kit.deployment, "Prime")
    kit.sender.rpc("anvil_setCode", [prime.pool, "0x"])  # Prime's Pool answers nothing any more
    reader = await kit.reader(client)
    rows = await adapter.yields(reader)
    (gap,) = adapter.yield_gaps(reader.block)
    assert gap.market == prime.pool
    assert "getReservesList" in gap.reason
    others = [p for p in AAVE_MARKETS if p.name != "Prime"]
    assert len(rows) == 2 * sum(len(p.reserves) for p in others)
    assert prime.pool not in {r.market for r in rows}
    assert adapter.yield_gaps(reader.block) == ()  # collected once
