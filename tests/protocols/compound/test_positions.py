"""Account positions from our math equal the contracts' own views, before and after moving prices."""

from __future__ import annotations

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.compound import COMET_USERS, COMETS, V2_USERS
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.positions import (
    discover_comet_accounts,
    discover_v2_accounts,
    read_comet,
    scan_comet_accounts,
    scan_v2_accounts,
)
from defiscope.protocols.compound.risk import compound_v2_risk_positions, compound_v3_risk_positions
from defiscope.protocols.lending.risk import risk_report
from defiscope.protocols.maker.math import WAD
from tests.protocols.compound.kit import Lab

V2_NAMES = ("lender", "eth borrower", "btc borrower", "usdc looper", "btc usdc borrower", "eth risky")


async def v2_scan(chain: DevnetChain) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """(contract's getAccountLiquidity, ours as (error, liquidity, shortfall)) for every discovered account."""
    deployment = devnet_deployment(chain)
    comptroller = deployment.contract("CompoundV2Comptroller")
    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        accounts = await discover_v2_accounts(client, comptroller, 0, snapshot.block.number)
        assert accounts == [seed_address("compound-v2", n) for n in V2_NAMES]
        reader = Batcher(snapshot).reader("test")
        scanned = await scan_v2_accounts(reader, deployment, accounts)
        results = await client.call_many(
            [Call.of(comptroller, "getAccountLiquidity(address)(uint256,uint256,uint256)", a) for a in accounts],
            snapshot.block.number,
        )
    theirs = [r.unwrap() for r in results]
    ours = [(s.liquidity.liquidity, s.liquidity.shortfall) for s in scanned]
    return theirs, ours


async def test_v2_account_liquidity_equals_comptroller(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    theirs, ours = await v2_scan(eth_chain)
    assert [(liq, short) for _, liq, short in theirs] == ours
    assert all(err == 0 for err, _, _ in theirs)
    # The risky borrower: 100 WETH x $3,000 x 0.825 = $247,500 against $240,000 (plus a little interest).
    liquidity, shortfall = ours[-1]
    assert shortfall == 0
    assert 7_499 * WAD < liquidity < 7_500 * WAD
    lab.set_feed("ETH/USD", 2_900 * 10**8)  # -3.3 %: $239,250 of borrowing power
    theirs, ours = await v2_scan(eth_chain)
    assert [(liq, short) for _, liq, short in theirs] == ours
    assert ours[-1][0] == 0
    assert 750 * WAD < ours[-1][1] < 751 * WAD
    comptroller = lab.at("Comptroller", "CompoundV2Comptroller").functions
    usdc, weth = eth_chain.contracts["CompoundV2cToken:USDC"], eth_chain.contracts["CompoundV2cToken:WETH"]
    risky, safe = seed_address("compound-v2", "eth risky"), seed_address("compound-v2", "eth borrower")
    assert comptroller.liquidateBorrowAllowed(usdc, weth, lab.sender.owner, risky, 10**6).call() == 0
    assert comptroller.liquidateBorrowAllowed(usdc, weth, lab.sender.owner, safe, 10**6).call() == 3  # no shortfall


async def comet_accounts(chain: DevnetChain) -> tuple[list[object], list[tuple[bool, bool, int]]]:
    deployment = devnet_deployment(chain)
    comet = deployment.contract("CompoundV3Comet:USDC")
    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        accounts = await discover_comet_accounts(client, comet, 0, snapshot.block.number)
        reader = Batcher(snapshot).reader("test")
        market = await read_comet(reader, deployment, comet)
        scanned = await scan_comet_accounts(reader, market, accounts)
        views = await reader.values(
            [
                Call.of(comet, sig, a)
                for a in accounts
                for sig in ("isLiquidatable(address)(bool)", "isBorrowCollateralized(address)(bool)")
            ]
        )
    theirs = [(views[2 * i], views[2 * i + 1]) for i in range(len(accounts))]
    return scanned, [(t[0], t[1], 0) for t in theirs]


async def test_comet_collateralization_equals_contract(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    scanned, theirs = await comet_accounts(eth_chain)
    names = ("eth borrower", "btc borrower", "wsteth borrower", "eth risky")
    assert [a.account for a in scanned] == [seed_address("compound-v3", n) for n in names]  # type: ignore[attr-defined]
    assert [(a.liquidatable, a.collateralized, 0) for a in scanned] == theirs  # type: ignore[attr-defined]
    assert [t[0] for t in theirs] == [False] * 4
    # -10 %: 100 WETH x $2,700 x 0.9 = $243,000 < $245,000 owed: only the risky borrower.
    lab.set_feed("ETH/USD", 2_700 * 10**8)
    scanned, theirs = await comet_accounts(eth_chain)
    assert [(a.liquidatable, a.collateralized, 0) for a in scanned] == theirs  # type: ignore[attr-defined]
    assert [t[0] for t in theirs] == [False, False, False, True]
    # Borrow balances accrued to the block read equal borrowBalanceOf there, a month later too.
    comet = lab.at("Comet", "CompoundV3Comet:USDC")
    lab.advance(30 * 86_400)
    number = lab.block()["number"]
    scanned, _ = await comet_accounts(eth_chain)
    for a in scanned:
        balance = comet.functions.borrowBalanceOf(a.account).call(block_identifier=number)  # type: ignore[attr-defined]
        assert a.borrow_balance == balance  # type: ignore[attr-defined]
    seeded = dict(COMET_USERS[1].borrow)["USDC"] * 10**6  # the first borrower's loan, plus a month of interest
    assert scanned[0].borrow_balance > seeded * 1003 // 1000  # type: ignore[attr-defined]


async def test_risk_sources(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        _, v2, v2_assets, v2_unvalued = await compound_v2_risk_positions(client, deployment)
        _, v3, v3_assets, v3_unvalued = await compound_v3_risk_positions(client, deployment)
    assert (v2_unvalued, v3_unvalued) == ((), ())  # every feed answers: every borrower is valued
    comet_users = [u for c in COMETS for u in c.users]  # every Comet's, ETH- and wstETH-priced ones too
    borrowers = [len([u for u in users if u.borrow]) for users in (V2_USERS, comet_users)]
    assert (len(v2), len(v3)) == tuple(borrowers)
    assert set(v2_assets) == {"WETH", "USDC", "DAI", "WBTC"}
    assert v3_assets == ("USDC", "WETH", "WBTC", "wstETH", "USDT", "LINK", "UNI")
    # Accounts newly liquidatable after a 5/10/20/30/50 % ETH drop: the risky ones first, then the large ETH
    # borrowers.
    drops = {name: [s.accounts for s in risk_report(p, "WETH").scenarios] for name, p in (("v2", v2), ("v3", v3))}
    # Comets at -50 %: cUSDCv3's and cUSDTv3's ETH borrowers, and cWstETHv3's WETH-backed one (valued in
    # USD through cUSDCv3's wstETH price); cWETHv3's borrower owes WETH, which a drop only makes cheaper.
    assert drops == {"v2": [1, 1, 2, 2, 2], "v3": [0, 1, 1, 1, 4]}
