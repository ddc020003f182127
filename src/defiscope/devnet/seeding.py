"""Seed users for the devnet's lending protocols: deterministic addresses, funded from account 0.

Example::

    user = seed_user(sender, "compound-v2", "eth borrower")   # impersonated, with gas money
    fund(sender, tokens, user, "WETH", 1_000)                  # whole tokens from account 0

Seed users are fresh addresses rather than accounts 1..9, whose balances other tests rely on.
"""

from __future__ import annotations

from collections.abc import Mapping

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.supplies import holder_address
from defiscope.devnet.tx import MAX_UINT256, Sender


def seed_address(protocol: str, name: str) -> ChecksumAddress:
    """The deterministic address of a seeded user of ``protocol``."""
    return Web3.to_checksum_address(Web3.keccak(text=f"defiscope {protocol} seed {name}")[12:])


def seed_user(sender: Sender, protocol: str, name: str) -> ChecksumAddress:
    """Impersonate the seed user's address (anvil) and give it gas money."""
    address = seed_address(protocol, name)
    sender.rpc("anvil_impersonateAccount", [address])
    sender.rpc("anvil_setBalance", [address, hex(10**18)])
    return address


def units(token: Contract, whole: int) -> int:
    return int(whole * 10 ** token.functions.decimals().call())


def fund(sender: Sender, tokens: Mapping[str, Contract], user: str, symbol: str, whole: int) -> int:
    """Move ``whole`` tokens from account 0 to ``user`` (wrapping native coin for WETH); the raw amount."""
    token = tokens[symbol]
    amount = units(token, whole)
    if symbol == "WETH":
        sender.send(token.functions.deposit(), value=amount)
    sender.send(token.functions.transfer(user, amount))
    return amount


def approve(sender: Sender, token: Contract, user: ChecksumAddress, spender: str) -> None:
    sender.send(token.functions.approve(spender, MAX_UINT256), sender=user)


def hand_treasury(sender: Sender, token: Contract, symbol: str, treasury: str) -> None:
    """Move the seeded treasury's whole balance of ``symbol`` to the contract that holds it on mainnet (a
    timelock, an executor, the pause proxy), once governance has deployed it."""
    holder = holder_address(symbol, "treasury")
    amount = token.functions.balanceOf(holder).call()
    with sender.impersonating(holder, gas_money=10**18):
        sender.send(token.functions.transfer(treasury, amount), sender=holder)
