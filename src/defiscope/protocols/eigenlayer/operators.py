"""EigenLayer operators and the stake delegated to them, per strategy, in shares and in underlying.

Operators are found from the DelegationManager's `OperatorRegistered(address indexed operator, address
delegationApprover)` logs (the event's form since the slashing upgrade) and, for operators registered before it,
the M2 form `OperatorRegistered(address indexed operator, OperatorDetails)`; strategies from the StrategyManager's
whitelist events (`EigenLayerAdapter.strategies`). Shares come from `getOperatorsShares` (a block of operators
and every strategy per call: mainnet has thousands of operators); underlying amounts are StrategyBase's own
`sharesToUnderlyingView` math over each strategy's total shares and balance, read once in the same pinned batch.

    stakes = await operator_stakes(client, deployment)
    stakes[0].operator, stakes[0].underlying[strategy]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.protocols.eigenlayer.adapter import (
    BEACON_CHAIN_ETH_STRATEGY,
    DELEGATION_MANAGER,
    OPERATORS_SHARES,
    EigenLayerAdapter,
)
from defiscope.protocols.eigenlayer.discovery import (
    LEGACY_OPERATOR_REGISTERED,
    OPERATOR_REGISTERED,
    seen_log,
    subjects,
)
from defiscope.protocols.log_cursor import CursorStore, LogCursor

#: Operators per `getOperatorsShares` call (its answer is operators x strategies words).
OPERATORS_PER_CALL: Final = 50


@dataclass(frozen=True, slots=True)
class OperatorStake:
    """One operator's delegated shares and their value in each strategy's underlying (native ETH: 1:1)."""

    operator: str
    shares: Mapping[str, int]  # strategy -> shares
    underlying: Mapping[str, int]  # strategy -> underlying amount (wei)


async def operator_stakes(
    client: ChainClient, deployment: Deployment, *, from_block: int | None = None, store: CursorStore | None = None
) -> list[OperatorStake]:
    """Every registered operator's delegated stake at the head, in each whitelisted strategy and native ETH.
    Operators are scanned from ``from_block`` (default: the registry's start block); with a ``store``, the
    scans continue after what it holds and keep what they find."""
    snapshot = await client.snapshot()
    eigen = EigenLayerAdapter(deployment)
    reader = Batcher(snapshot).reader("eigenlayer:operators")
    states = await eigen.strategy_states(reader)
    manager = deployment.contract(DELEGATION_MANAGER)
    start = eigen.start_block if from_block is None else from_block
    registered = LogCursor(manager, (OPERATOR_REGISTERED, LEGACY_OPERATOR_REGISTERED), seen_log, start_block=start)
    if store is not None:
        for cursor in (*eigen.log_cursors(), registered):
            cursor.attach(store)
    await registered.scan(reader)
    operators = subjects(registered.logs)
    every = (*(s.address for s in states), BEACON_CHAIN_ETH_STRATEGY)
    blocks = [tuple(operators[i : i + OPERATORS_PER_CALL]) for i in range(0, len(operators), OPERATORS_PER_CALL)]
    tables = eigen.require(await reader.call_many([Call.of(manager, OPERATORS_SHARES, b, every) for b in blocks]))
    rows = [row for table in tables for row in table]
    stakes = []
    for operator, row in zip(operators, rows, strict=True):
        shares = dict(zip(every, row, strict=True))
        underlying = {s.address: s.to_underlying(shares[s.address]) for s in states}
        underlying[BEACON_CHAIN_ETH_STRATEGY] = shares[BEACON_CHAIN_ETH_STRATEGY]  # 1 share = 1 wei
        stakes.append(OperatorStake(operator, shares, underlying))
    return stakes
