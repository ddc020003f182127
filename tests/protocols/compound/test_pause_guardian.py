"""Compound V2's pause guardian on the devnet, through the real calls (Comptroller.sol's `_setPauseGuardian`,
`_set*Paused` and the policy hooks that refuse while paused): the guardian, the community multisig Safe as on mainnet,
pauses a market's mint and borrow and all transfers; the market refuses them while a redeem still goes through; the
guardian cannot unpause, the admin (the Timelock) can, and the market takes mints and borrows again. Nobody else may
pause or name a guardian."""

from __future__ import annotations

from typing import Any

import pytest
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import seed_user
from defiscope.devnet.world import DevnetChain
from tests.protocols.compound.kit import Lab

USDC = 10**6


def refused(call: Any, sender: str, reason: str) -> None:
    """`call` from `sender` reverts with Compound's require string."""
    with pytest.raises(ContractLogicError) as raised:
        call.call({"from": sender})
    assert reason in str(raised.value)


def _mint_and_borrow_pass(minter: str, borrower: str, cusdc: Contract) -> None:
    assert cusdc.functions.mint(1_000 * USDC).call({"from": minter}) == 0
    assert cusdc.functions.borrow(1_000 * USDC).call({"from": borrower}) == 0


def test_the_guardian_pauses_a_market_and_only_the_admin_unpauses(
    eth_chain: DevnetChain, deployment: Deployment
) -> None:
    lab = Lab.connect(eth_chain)
    sender = lab.sender
    comptroller = lab.at("Comptroller", "CompoundV2Comptroller")
    cusdc, cdai = lab.at("CErc20", "CompoundV2cToken:USDC"), lab.at("CErc20", "CompoundV2cToken:DAI")
    guardian, timelock = deployment.contracts["CompoundPauseGuardian"], deployment.contracts["CompoundTimelock"]
    assert comptroller.functions.pauseGuardian().call() == guardian
    assert comptroller.functions.admin().call() == timelock

    minter = sender.accounts[5]  # holds 1,000,000 USDC from the seed
    usdc = sender.contract(contract_artifact("DevToken"), eth_chain.tokens["USDC"])
    sender.send(usdc.functions.approve(cusdc.address, 2**256 - 1), sender=minter)
    borrower = seed_user(sender, "compound-v2", "btc usdc borrower")  # 8 WBTC against 400,000 USDC
    lender = seed_user(sender, "compound-v2", "lender")
    _mint_and_borrow_pass(minter, borrower, cusdc)  # the negative control: open before the pause

    # Anyone else (the deployer, admin no more) may neither pause nor name a guardian (an error code, no revert).
    stranger = sender.owner
    refused(comptroller.functions._setMintPaused(cusdc.address, True), stranger, "only pause guardian and admin")
    refused(comptroller.functions._setTransferPaused(True), stranger, "only pause guardian and admin")
    assert comptroller.functions._setPauseGuardian(stranger).call({"from": stranger}) == 1  # UNAUTHORIZED
    sender.send(comptroller.functions._setPauseGuardian(stranger))
    assert comptroller.functions.pauseGuardian().call() == guardian

    with sender.impersonating(guardian, gas_money=10**18):
        sender.send(comptroller.functions._setMintPaused(cusdc.address, True), sender=guardian)
        receipt = sender.send(comptroller.functions._setBorrowPaused(cusdc.address, True), sender=guardian)
        sender.send(comptroller.functions._setTransferPaused(True), sender=guardian)
        refused(comptroller.functions._setMintPaused(cusdc.address, False), guardian, "only admin can unpause")
        refused(comptroller.functions._setTransferPaused(False), guardian, "only admin can unpause")
    by_market = comptroller.get_event_by_signature("ActionPaused(address,string,bool)")  # overloaded by name
    (paused,) = by_market().process_receipt(receipt)
    assert dict(paused.args) == {"cToken": cusdc.address, "action": "Borrow", "pauseState": True}
    assert comptroller.functions.mintGuardianPaused(cusdc.address).call()
    assert comptroller.functions.borrowGuardianPaused(cusdc.address).call()
    assert not comptroller.functions.mintGuardianPaused(cdai.address).call()  # per market
    assert not comptroller.functions.seizeGuardianPaused().call()

    refused(cusdc.functions.mint(1_000 * USDC), minter, "mint is paused")
    refused(cusdc.functions.borrow(1_000 * USDC), borrower, "borrow is paused")
    refused(cusdc.functions.transfer(minter, 1), lender, "transfer is paused")
    assert cusdc.functions.redeemUnderlying(1_000 * USDC).call({"from": lender}) == 0  # never pausable

    with sender.impersonating(timelock, gas_money=10**18):
        for call in (
            comptroller.functions._setMintPaused(cusdc.address, False),
            comptroller.functions._setBorrowPaused(cusdc.address, False),
            comptroller.functions._setTransferPaused(False),
        ):
            sender.send(call, sender=timelock)
    _mint_and_borrow_pass(minter, borrower, cusdc)
    assert cusdc.functions.transfer(minter, 1).call({"from": lender})
