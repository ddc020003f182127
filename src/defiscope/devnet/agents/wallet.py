"""Accounts of the simulation's agents: fresh deterministic addresses, funded on demand by account 0.

Example::

    wallet = Wallet.of(sim, "aave lender 1")
    wallet.fund("USDC", 10**12)          # minted by account 0 (owner of the dev tokens)
    wallet.approve("USDC", pool_address)
    wallet.send(call)                    # impersonated for this one transaction

Agents use fresh addresses rather than accounts 1..9, whose balances other tests rely on. Every action is
a state read followed by a transaction whose inputs come from that state and the simulation's random
generator, so the chain stays reproducible for a seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import structlog
from eth_typing import ChecksumAddress
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.tx import MAX_UINT256

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

log = structlog.get_logger(__name__)

#: Native coin an agent keeps for gas (anvil charges gas even from impersonated accounts).
GAS_MONEY: Final = 10**20


def calldata(contract: Contract, fn: str, *args: Any) -> bytes:
    """``fn(args)`` of ``contract`` encoded, for a proposal's action or a Multicall3 call."""
    return bytes.fromhex(contract.encode_abi(fn, args=list(args))[2:])


@dataclass(frozen=True, slots=True)
class Sent:
    """A transaction that went through: function, arguments and native value."""

    name: str
    args: tuple[Any, ...]
    value: int = 0


@dataclass(slots=True)
class Wallet:
    sim: Simulation
    address: ChecksumAddress
    approved: set[tuple[str, str]] = field(default_factory=set)
    #: Every transaction that passed its estimate and was sent (in a shared block: queued; one that reverts when
    #: the block is mined is in `Sender.reverted`), for reports and tests.
    sent: list[Sent] = field(default_factory=list)

    @classmethod
    def of(cls, sim: Simulation, name: str) -> Wallet:
        address = seed_address("simulation", name)
        sim.sender.ensure_balance(address, GAS_MONEY)
        return cls(sim, address)

    @contextmanager
    def impersonated(self) -> Iterator[None]:
        """Unlock the address for one action only (`Sender.impersonating`)."""
        with self.sim.sender.impersonating(self.address):
            yield

    def token(self, symbol: str) -> Contract:
        """An ERC-20 of the chain's registry (WETH9's ABI for the wrapped native coin, with ``deposit``)."""
        wrapped = symbol == self.wrapped_symbol
        artifact = npm_artifact("WETH9") if wrapped else contract_artifact("DevToken")
        return self.sim.sender.contract(artifact, self.sim.chain.tokens[symbol])

    def balance(self, symbol: str) -> int:
        return int(self.token(symbol).functions.balanceOf(self.address).call())

    def fund(self, symbol: str, amount: int) -> None:
        """Top the wallet up to ``amount`` of ``symbol``: wrapped native from a deposit, else minted."""
        missing = amount - self.balance(symbol)
        if missing <= 0:
            return
        token = self.token(symbol)
        if symbol == self.wrapped_symbol:
            self.sim.sender.credit(self.address, missing)
            with self.impersonated():
                self.sim.sender.submit(token.functions.deposit(), value=missing, sender=self.address)
        else:
            self.sim.sender.submit(token.functions.mint(self.address, missing))

    @property
    def wrapped_symbol(self) -> str:
        return next(t.symbol for t in self.sim.spec.tokens if t.wrapped_native)

    def approve(self, symbol: str, spender: str) -> None:
        if (symbol, spender) in self.approved:
            return
        with self.impersonated():
            self.sim.sender.submit(self.token(symbol).functions.approve(spender, MAX_UINT256), sender=self.address)
        self.approved.add((symbol, spender))

    def send(self, call: ContractFunction, value: int = 0) -> bool:
        """Send from the wallet; a revert is logged and skipped (gas estimation fails before any state change, on
        the pending state in a shared block)."""
        try:
            with self.impersonated():
                self.sim.sender.submit(call, value=value, sender=self.address)
        except (ContractLogicError, Web3RPCError, DevnetError) as exc:
            log.debug("agent.action_reverted", action=call.fn_name, account=self.address, error=str(exc))
            return False
        self.sent.append(Sent(call.fn_name, tuple(call.args), value))
        return True
