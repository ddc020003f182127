"""Compound liquidations on the devnet against our Python port, to the unit.

V2: `liquidateBorrow` seizes `liquidate_calculate_seize_tokens` cTokens and splits them as `seizeInternal`;
Comet: `absorb` moves principal, totals and collateral as `liquidation_math.absorb` says, and `buyCollateral`
pays out `quote_collateral`. Healthy accounts cannot be liquidated: the contracts revert with Compound's
errors. The scenario: the seeded "eth risky" borrowers after an ETH drop (100 WETH against 240,000 USDC in
V2, liquidatable under $2,909; against 245,000 USDC in Comet, under $2,722).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.compound.comet_math import CometState
from defiscope.protocols.compound.liquidation_math import (
    AbsorbedAsset,
    absorb,
    max_close,
    quote_collateral,
    seize_split,
    seize_tokens,
)
from defiscope.protocols.compound.rates import CometRates
from defiscope.protocols.compound.v3 import CURVE_READS
from tests.protocols.compound.kit import Lab

ETH_DROPPED = 2_600 * 10**8  # both risky borrowers are under water, the others are not
V2_RISKY = seed_address("compound-v2", "eth risky")
COMET_RISKY = seed_address("compound-v3", "eth risky")


def custom_error(signature: str, *args: int) -> str:
    """The revert data of a Solidity custom error."""
    types = signature[signature.index("(") + 1 : -1].split(",") if args else []
    return "0x" + (Web3.keccak(text=signature)[:4] + encode(types, list(args))).hex()


def reverts_with(call: Any, sender: str, expected: str) -> None:
    with pytest.raises(ContractCustomError) as raised:
        call.call({"from": sender})
    assert raised.value.data == expected


# ------------------------------------------------------------------------------------------ Compound V2


def test_liquidate_borrow_seizes_what_the_formula_says(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    lab.set_feed("ETH/USD", ETH_DROPPED)
    comptroller = lab.at("Comptroller", "CompoundV2Comptroller")
    cusdc, cweth = lab.at("CErc20", "CompoundV2cToken:USDC"), lab.at("CEther", "CompoundV2cToken:WETH")
    oracle = lab.at("CompoundV2Oracle", "CompoundV2Oracle")
    liquidator = lab.sender.accounts[5]  # holds 1,000,000 USDC from the seed
    usdc = lab.sender.contract(contract_artifact("DevToken"), eth_chain.tokens["USDC"])
    lab.sender.send(usdc.functions.approve(cusdc.address, 2**256 - 1), sender=liquidator)
    assert comptroller.functions.getAccountLiquidity(V2_RISKY).call()[2] > 0  # in shortfall

    # The liquidation's block accrues both markets first: read the figures it will use from the pending block.
    borrowed = cusdc.functions.borrowBalanceCurrent(V2_RISKY).call(block_identifier="pending")
    rate = cweth.functions.exchangeRateCurrent().call(block_identifier="pending")
    repay = max_close(comptroller.functions.closeFactorMantissa().call(), borrowed)
    seized = seize_tokens(
        comptroller.functions.liquidationIncentiveMantissa().call(),
        oracle.functions.getUnderlyingPrice(cusdc.address).call(),
        oracle.functions.getUnderlyingPrice(cweth.address).call(),
        rate,
        repay,
    )
    split = seize_split(seized, rate)
    before = _v2_figures(cweth, liquidator)

    # A fixed gas limit: gas estimation would run at the latest block's number, one block of interest short.
    tx = cusdc.functions.liquidateBorrow(V2_RISKY, repay, cweth.address).transact({"from": liquidator, "gas": 10**6})
    receipt = lab.sender.w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1

    (event,) = cusdc.events.LiquidateBorrow().process_receipt(receipt, errors=DISCARD)
    assert (event["args"]["repayAmount"], event["args"]["seizeTokens"]) == (repay, seized)
    after = _v2_figures(cweth, liquidator)
    assert before["borrower"] - after["borrower"] == seized
    assert after["liquidator"] - before["liquidator"] == split.liquidator_tokens
    assert before["supply"] - after["supply"] == split.protocol_tokens
    (added,) = cweth.events.ReservesAdded().process_receipt(receipt, errors=DISCARD)  # on top of the block's accrual
    assert (added["args"]["addAmount"], added["args"]["newTotalReserves"]) == (split.protocol_amount, after["reserves"])
    assert cusdc.functions.borrowBalanceStored(V2_RISKY).call() == borrowed - repay


def _v2_figures(cweth: Any, liquidator: str) -> dict[str, int]:
    f = cweth.functions
    return {
        "borrower": f.balanceOf(V2_RISKY).call(),
        "liquidator": f.balanceOf(liquidator).call(),
        "supply": f.totalSupply().call(),
        "reserves": f.totalReserves().call(),
    }


def test_v2_rejects_healthy_accounts_and_oversized_repayments(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    cusdc, cweth = lab.at("CErc20", "CompoundV2cToken:USDC"), lab.at("CEther", "CompoundV2cToken:WETH")
    liquidator = lab.sender.accounts[5]
    healthy = cusdc.functions.liquidateBorrow(V2_RISKY, 10**6, cweth.address)
    reverts_with(
        healthy, liquidator, custom_error("LiquidateComptrollerRejection(uint256)", 3)
    )  # INSUFFICIENT_SHORTFALL
    lab.set_feed("ETH/USD", ETH_DROPPED)
    too_much = cusdc.functions.liquidateBorrow(V2_RISKY, 200_000 * 10**6, cweth.address)  # over the 50 % close factor
    reverts_with(too_much, liquidator, custom_error("LiquidateComptrollerRejection(uint256)", 17))  # TOO_MUCH_REPAY
    own = cusdc.functions.liquidateBorrow(V2_RISKY, 10**6, cweth.address)
    reverts_with(own, V2_RISKY, custom_error("LiquidateLiquidatorIsBorrower()"))


# ------------------------------------------------------------------------------------------ Compound III


def test_absorb_moves_debt_and_collateral_as_comet_does(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    comet = lab.at("Comet", "CompoundV3Comet:USDC")
    f = comet.functions
    lab.set_feed("ETH/USD", ETH_DROPPED)
    assert f.isLiquidatable(COMET_RISKY).call()
    state = CometState.from_totals_basic(f.totalsBasic().call())
    rates = CometRates(*(getattr(f, sig.split("(")[0])().call() for sig in CURVE_READS))
    infos = [f.getAssetInfo(i).call() for i in range(f.numAssets().call())]
    held = {info[1]: f.collateralBalanceOf(COMET_RISKY, info[1]).call() for info in infos}
    collateral = [AbsorbedAsset(held[i[1]], i[3], f.getPrice(i[2]).call(), i[6]) for i in infos]
    principal = f.userBasic(COMET_RISKY).call()[0]
    totals = {a: f.totalsCollateral(a).call()[0] for a in held}
    absorbed_at = lab.block()["timestamp"] + 12
    expected = absorb(
        state.accrued(rates, absorbed_at - state.last_accrual),
        principal,
        f.getPrice(f.baseTokenPriceFeed().call()).call(),
        f.baseScale().call(),
        collateral,
    )
    assert principal < 0 < expected.new_principal  # the collateral's 95 % covers the debt: a supply is left

    lab.sender.rpc("evm_setNextBlockTimestamp", [absorbed_at])
    receipt = lab.sender.send(f.absorb(lab.sender.accounts[6], [COMET_RISKY]), sender=lab.sender.accounts[6])

    (debt_event,) = comet.events.AbsorbDebt().process_receipt(receipt, errors=DISCARD)
    assert debt_event["args"]["basePaidOut"] == expected.base_paid_out
    assert f.userBasic(COMET_RISKY).call()[0] == expected.new_principal
    after = CometState.from_totals_basic(f.totalsBasic().call())
    assert after.total_borrow_base == state.total_borrow_base - expected.repay_amount
    assert after.total_supply_base == state.total_supply_base + expected.supply_amount
    for asset, balance in held.items():
        assert f.collateralBalanceOf(COMET_RISKY, asset).call() == 0
        assert f.totalsCollateral(asset).call()[0] == totals[asset] - balance
        assert f.getCollateralReserves(asset).call() == balance  # now the protocol's, for sale
    assert not f.isLiquidatable(COMET_RISKY).call()


def test_buy_collateral_pays_the_storefront_quote(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    comet = lab.at("Comet", "CompoundV3Comet:USDC")
    f = comet.functions
    lab.set_feed("ETH/USD", ETH_DROPPED)
    buyer = lab.sender.accounts[6]
    lab.sender.send(f.absorb(buyer, [COMET_RISKY]), sender=buyer)
    weth = eth_chain.tokens["WETH"]
    info = f.getAssetInfoByAddress(weth).call()
    base_amount = 50_000 * 10**6
    expected = quote_collateral(
        f.getPrice(info[2]).call(),
        info[6],
        f.storeFrontPriceFactor().call(),
        f.getPrice(f.baseTokenPriceFeed().call()).call(),
        base_amount,
        info[3],
        f.baseScale().call(),
    )
    assert expected == f.quoteCollateral(weth, base_amount).call()
    usdc = lab.sender.contract(contract_artifact("DevToken"), eth_chain.tokens["USDC"])
    weth_token = lab.sender.contract(contract_artifact("DevToken"), weth)
    lab.sender.send(usdc.functions.approve(comet.address, 2**256 - 1), sender=buyer)
    reverts_with(f.buyCollateral(weth, expected + 1, base_amount, buyer), buyer, custom_error("TooMuchSlippage()"))
    held = weth_token.functions.balanceOf(buyer).call()
    lab.sender.send(f.buyCollateral(weth, expected, base_amount, buyer), sender=buyer)
    assert weth_token.functions.balanceOf(buyer).call() - held == expected


def test_absorb_refuses_a_healthy_account(eth_chain: DevnetChain) -> None:
    lab = Lab.connect(eth_chain)
    f = lab.at("Comet", "CompoundV3Comet:USDC").functions
    absorber = lab.sender.accounts[6]
    reverts_with(f.absorb(absorber, [COMET_RISKY]), absorber, custom_error("NotLiquidatable()"))
