"""Helpers for the Compound and Maker devnet tests: contract handles, batched reads, time and blocks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call, CallResult
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.compound import SeedUser
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain


@dataclass(slots=True)
class Lab:
    chain: DevnetChain
    sender: Sender

    @classmethod
    def connect(cls, chain: DevnetChain) -> Lab:
        return cls(chain, Sender.connect(chain.rpc_url))

    def at(self, artifact: str, registry_name: str) -> Contract:
        return self.sender.contract(contract_artifact(artifact), self.chain.contracts[registry_name])

    def deploy(self, artifact: str, *args: Any) -> Contract:
        return self.sender.deploy(contract_artifact(artifact), *args)

    async def results(self, calls: Sequence[Call]) -> list[CallResult]:
        """Every call's result (success or revert), in one multicall batch at the latest block."""
        async with ChainClient.connect(self.chain.chain_id, [self.chain.rpc_url]) as client:
            return await client.call_many(list(calls))

    async def values(self, calls: Sequence[Call]) -> list[Any]:
        """Every call's single output (or tuple of outputs), in one multicall batch at the latest block."""
        async with ChainClient.connect(self.chain.chain_id, [self.chain.rpc_url]) as client:
            results = await client.call_many(list(calls))
        outputs = [r.unwrap() for r in results]
        return [v[0] if len(v) == 1 else v for v in outputs]

    def block(self) -> Any:
        return self.sender.w3.eth.get_block("latest")

    def mine(self, blocks: int) -> None:
        self.sender.rpc("anvil_mine", [hex(blocks)])

    def advance(self, seconds: int) -> None:
        self.sender.rpc("evm_increaseTime", [seconds])
        self.sender.rpc("evm_mine", [])

    def set_feed(self, pair: str, answer: int) -> None:
        feed = self.sender.contract(contract_artifact("PriceFeed"), self.chain.contracts[f"feed:{pair}"])
        self.sender.send(feed.functions.updateAnswer(answer))


def supplied(users: Iterable[SeedUser]) -> Counter[str]:
    """Whole tokens the seed users supplied, per symbol (devnet/compound.py's seed data)."""
    return _sum(leg for u in users for leg in u.supply)


def borrowed(users: Iterable[SeedUser]) -> Counter[str]:
    return _sum(leg for u in users for leg in u.borrow)


def held(users: Iterable[SeedUser]) -> dict[str, int]:
    """Whole tokens left in the protocol: supplied minus borrowed, per symbol."""
    users = list(users)
    out, lent = supplied(users), borrowed(users)
    return {symbol: out[symbol] - lent[symbol] for symbol in out}


def _sum(legs: Iterable[tuple[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for symbol, whole in legs:
        total[symbol] += whole
    return total
