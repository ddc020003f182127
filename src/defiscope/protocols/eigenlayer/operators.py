"""EigenLayer operators and the stake delegated to them, per strategy, in shares and in underlying.

Operators are found from `OperatorRegistered` logs of the DelegationManager (as on mainnet); their shares
(`operatorShares(operator, strategy)`) and the strategies' conversions are read in one pinned batch.

    stakes = await operator_stakes(client, deployment, strategies, from_block=0)
    stakes[0].operator, stakes[0].underlying[strategy]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from eth_utils import keccak, to_checksum_address

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.protocols.base import AdapterError
from defiscope.protocols.eigenlayer.adapter import BEACON_CHAIN_ETH_STRATEGY

DELEGATION_MANAGER: Final = "EigenLayerDelegationManager"
OPERATOR_REGISTERED: Final = "0x" + keccak(text="OperatorRegistered(address,(address,address,uint32))").hex()


@dataclass(frozen=True, slots=True)
class OperatorStake:
    """One operator's delegated shares and their value in each strategy's underlying (native ETH: 1:1)."""

    operator: str
    shares: Mapping[str, int]  # strategy -> shares
    underlying: Mapping[str, int]  # strategy -> underlying amount (wei)


async def operator_stakes(
    client: ChainClient, deployment: Deployment, strategies: Sequence[str], *, from_block: int = 0
) -> list[OperatorStake]:
    """Every registered operator's delegated stake at the head, in the given strategies and native ETH."""
    snapshot = await client.snapshot()
    manager = deployment.contract(DELEGATION_MANAGER)
    logs = await client.get_logs(
        address=manager, topics=[OPERATOR_REGISTERED], from_block=from_block, to_block=snapshot.block.number
    )
    operators = list(dict.fromkeys(to_checksum_address("0x" + _topic_hex(log["topics"][1])[-40:]) for log in logs))
    reader = Batcher(snapshot).reader("eigenlayer:operators")
    every = [*strategies, BEACON_CHAIN_ETH_STRATEGY]
    calls = [Call.of(manager, "operatorShares(address,address)(uint256)", o, s) for o in operators for s in every]
    results = await reader.call_many(calls)
    failed = [r for r in results if not r.success]
    if failed:
        raise AdapterError(f"eigenlayer: {failed[0].call.describe()} failed: {failed[0].error}")
    shares = [r.one() for r in results]
    conversions = await reader.call_many(
        [
            Call.of(s, "sharesToUnderlyingView(uint256)(uint256)", shares[i * len(every) + j])
            for i in range(len(operators))
            for j, s in enumerate(strategies)
        ]
    )
    unknown = [r for r in conversions if not r.success]
    if unknown:
        raise AdapterError(f"eigenlayer: {unknown[0].call.target} is not a strategy: {unknown[0].error}")
    stakes = []
    for i, operator in enumerate(operators):
        row = shares[i * len(every) : (i + 1) * len(every)]
        values = [r.one() for r in conversions[i * len(strategies) : (i + 1) * len(strategies)]] + [row[-1]]
        stakes.append(
            OperatorStake(operator, dict(zip(every, row, strict=True)), dict(zip(every, values, strict=True)))
        )
    return stakes


def _topic_hex(topic: object) -> str:
    return topic if isinstance(topic, str) else "0x" + bytes(topic).hex()  # type: ignore[call-overload]
