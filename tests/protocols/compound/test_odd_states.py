"""Odd states: a feed at 0, 100 % utilisation, an empty market, an unknown account — each a clear state or error."""

from __future__ import annotations

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import CallReverted
from defiscope.chain.reader import Batcher
from defiscope.devnet.compound import deploy_delegator
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.positions import PositionError, read_comet, scan_comet_accounts, scan_v2_accounts
from defiscope.protocols.compound.rates import JumpRateModelV2
from defiscope.protocols.compound.v2_math import CTokenState
from defiscope.protocols.lending.rates import WAD
from defiscope.protocols.maker.vaults import read_ilks, scan_vaults
from tests.protocols.compound.kit import Lab

NOBODY = Web3.to_checksum_address("0x" + "ab" * 20)


async def test_feed_at_zero(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    deployment = devnet_deployment(eth_chain)
    lab.set_feed("ETH/USD", 0)
    borrower = seed_address("compound-v2", "eth borrower")
    comptroller = lab.at("Comptroller", "CompoundV2Comptroller").functions
    assert comptroller.getAccountLiquidity(borrower).call() == [13, 0, 0]  # PRICE_ERROR
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("t")
        with pytest.raises(PositionError, match="no oracle price for WETH"):
            await scan_v2_accounts(reader, deployment, [borrower])
        # Comet reverts with its custom error BadPrice(), as mainnet's does.
        with pytest.raises(CallReverted, match="custom error 0x" + Web3.keccak(text="BadPrice()")[:4].hex()):
            await read_comet(reader, deployment, deployment.contract("CompoundV3Comet:USDC"))


async def test_full_utilisation_and_empty_market(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    model_address = eth_chain.contracts["CompoundV2RateModel:USDC"]
    model = lab.at("JumpRateModelV2", "CompoundV2RateModel:USDC").functions
    python = JumpRateModelV2(
        model.baseRatePerBlock().call(),
        model.multiplierPerBlock().call(),
        model.jumpMultiplierPerBlock().call(),
        model.kink().call(),
    )
    # 100 % utilisation: no cash left; reserves above cash + borrows would be rejected by us, as by Solidity.
    for cash, borrows, reserves in ((0, 10**12, 0), (0, 10**12, 10**9)):
        assert model.getBorrowRate(cash, borrows, reserves).call() == python.borrow_rate(cash, borrows, reserves)
    assert python.utilization_rate(0, 10**12, 10**9) > WAD  # reserves make utilisation exceed 100 %
    # An empty market: the exchange rate is the initial 0.02 until the first mint.
    comptroller = eth_chain.contracts["CompoundV2Comptroller"]
    fresh = deploy_delegator(
        lab.sender,
        lab.deploy("CErc20Delegate").address,
        eth_chain.tokens["USDC"],
        (comptroller, model_address, 2 * 10**14, "Compound USDC", "cUSDC", 8, 75 * 10**15),
    )
    state = CTokenState(0, 0, 0, 0, WAD, 75 * 10**15, fresh.functions.accrualBlockNumber().call(), 2 * 10**14)
    assert fresh.functions.exchangeRateStored().call() == state.exchange_rate_stored() == 2 * 10**14
    assert fresh.functions.supplyRatePerBlock().call() == python.supply_rate(0, 0, 0, 75 * 10**15) == 0


async def test_unknown_account_has_nothing(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("t")
        (v2,) = await scan_v2_accounts(reader, deployment, [NOBODY])
        market = await read_comet(reader, deployment, deployment.contract("CompoundV3Comet:USDC"))
        (v3,) = await scan_comet_accounts(reader, market, [NOBODY])
        ilks = await read_ilks(reader, deployment)
        vaults = await scan_vaults(reader, deployment, ilks, {i.name: [NOBODY] for i in ilks})
    assert (v2.holdings, v2.liquidity.liquidity, v2.liquidity.shortfall) == ((), 0, 0)
    assert v2.to_risk().health() is None
    assert (v3.principal, v3.borrow_balance, v3.liquidatable, v3.collateralized) == (0, 0, False, True)
    assert [(v.state.ink, v.state.art, v.ratio, v.liquidation_price) for v in vaults] == [(0, 0, None, None)] * len(
        ilks
    )
