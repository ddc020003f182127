"""EigenLayer operators and the stake delegated to them, per strategy, in shares and in underlying.

Operators are found from the DelegationManager's `OperatorRegistered(address indexed operator, address
delegationApprover)` logs (the event's form since the slashing upgrade), strategies from the StrategyManager's
whitelist events (`EigenLayerAdapter.strategies`); their shares (`operatorShares(operator, strategy)`) and the
strategies' conversions are read in one pinned batch.

    stakes = await operator_stakes(client, deployment)
    stakes[0].operator, stakes[0].underlying[strategy]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.protocols.base import AdapterError
from defiscope.protocols.eigenlayer.adapter import BEACON_CHAIN_ETH_STRATEGY, DELEGATION_MANAGER, EigenLayerAdapter
from defiscope.protocols.eigenlayer.discovery import OPERATOR_REGISTERED, LogCursor, subjects


@dataclass(frozen=True, slots=True)
class OperatorStake:
    """One operator's delegated shares and their value in each strategy's underlying (native ETH: 1:1)."""

    operator: str
    shares: Mapping[str, int]  # strategy -> shares
    underlying: Mapping[str, int]  # strategy -> underlying amount (wei)


async def operator_stakes(
    client: ChainClient,
    deployment: Deployment,
    strategies: Sequence[str] | None = None,
    *,
    from_block: int | None = None,
) -> list[OperatorStake]:
    """Every registered operator's delegated stake at the head, in ``strategies`` (default: the whitelist at
    the head) and native ETH. Logs are scanned from ``from_block`` (default: the registry's start block)."""
    snapshot = await client.snapshot()
    eigen = EigenLayerAdapter(deployment)
    reader = Batcher(snapshot).reader("eigenlayer:operators")
    if strategies is None:
        strategies = await eigen.strategies(reader)
    manager = deployment.contract(DELEGATION_MANAGER)
    start = eigen.start_block if from_block is None else from_block
    registered = LogCursor(manager, (OPERATOR_REGISTERED,), start_block=start)
    await registered.scan(client, to_block=snapshot.block.number)
    operators = subjects(registered.logs)
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
