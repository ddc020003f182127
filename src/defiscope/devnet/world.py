"""What a devnet holds: chains, their contracts, tokens and pools, and their JSON form.

Example::

    chain = devnet.chain(1)
    chain.contracts["UniswapV2Router02"]   # checksum address
    chain.tokens["USDC"]
    [p for p in chain.pools if p.dex == "uniswap-v3" and p.fee == 500]

The JSON form (``devnet info --json``, the run file, the cached registry) is
``{"chains": [{"chain_id", "name", "rpc_url", "contracts", "tokens", "pools": [...]}]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

CHAIN_NAMES: Final[Mapping[int, str]] = MappingProxyType({1: "ethereum", 56: "bnb"})

Dex = Literal["uniswap-v2", "uniswap-v3", "pancakeswap-v2", "pancakeswap-v3", "curve"]
DEXES: Final[tuple[Dex, ...]] = get_args(Dex)


@dataclass(frozen=True, slots=True)
class DevnetPool:
    """A seeded pool. ``fee`` is in hundredths of a basis point (V3 style); V2 pools say 3000."""

    dex: Dex
    address: str
    token0: str
    token1: str
    fee: int

    def to_json(self) -> dict[str, Any]:
        return {
            "dex": self.dex,
            "address": self.address,
            "token0": self.token0,
            "token1": self.token1,
            "fee": self.fee,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DevnetPool:
        dex = data["dex"]
        if dex not in DEXES:
            raise ValueError(f"unknown dex {dex!r}")
        return cls(
            dex=dex,
            address=str(data["address"]),
            token0=str(data["token0"]),
            token1=str(data["token1"]),
            fee=int(data["fee"]),
        )


@dataclass(frozen=True, slots=True)
class DevnetChain:
    chain_id: int
    name: str  # "ethereum", "bnb"
    rpc_url: str
    contracts: Mapping[str, str]  # registry name -> checksum address
    tokens: Mapping[str, str]  # symbol -> checksum address
    pools: tuple[DevnetPool, ...]

    def with_rpc_url(self, rpc_url: str) -> DevnetChain:
        """The same world served elsewhere (a reloaded state listens on a new port)."""
        return replace(self, rpc_url=rpc_url)

    def pools_of(self, dex: Dex) -> tuple[DevnetPool, ...]:
        return tuple(pool for pool in self.pools if pool.dex == dex)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "name": self.name,
            "rpc_url": self.rpc_url,
            "contracts": dict(self.contracts),
            "tokens": dict(self.tokens),
            "pools": [pool.to_json() for pool in self.pools],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DevnetChain:
        return cls(
            chain_id=int(data["chain_id"]),
            name=str(data["name"]),
            rpc_url=str(data["rpc_url"]),
            contracts=MappingProxyType({str(k): str(v) for k, v in data["contracts"].items()}),
            tokens=MappingProxyType({str(k): str(v) for k, v in data["tokens"].items()}),
            pools=tuple(DevnetPool.from_json(p) for p in data["pools"]),
        )


def chains_to_json(chains: Sequence[DevnetChain]) -> dict[str, Any]:
    return {"chains": [chain.to_json() for chain in chains]}


def chains_from_json(data: Mapping[str, Any]) -> tuple[DevnetChain, ...]:
    return tuple(DevnetChain.from_json(chain) for chain in data["chains"])
