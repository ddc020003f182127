"""``balanceOf`` of a tracked DEX's (pool, token) holdings, with rebasing and interest-bearing tokens kept as raw
amount x index.

A plain token's balance in a pool changes only with a log naming the pool (a Transfer, the pool's own Swap,
Mint, Collect...), so it is re-read when one does (`tracked.refresh_balances`). A stETH or aToken balance also
moves with its token's index — a Lido report, Aave interest accruing each second — with no log naming the pool.
Those pairs are followed by a `HolderBalances`: the pool's raw amount (``sharesOf``, ``scaledBalanceOf``) is
re-read when a log touches it, the token's index is read once when a log says it changed (TokenRebased,
ReserveDataUpdated...), and every pool holding the token is re-valued from the two — one read per token, not
one per pool. Which tokens are rebasing is read from chain once (`holdings_models.balance_models`).

    balances = PoolBalances(deployment)
    await balances.start(reader, keys)                # after a full read: models (once), raw amounts, indexes
    readings = await balances.changes(reader, touched, logs)   # each block: what changed, re-read or re-valued
    balances.topics()                                  # what the logs query needs besides the pools' own
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.holdings import HolderBalances, Pair
from defiscope.protocols.holdings_models import BalanceModel, balance_models
from defiscope.protocols.tracked import Key, Reading, refresh_balances


class PoolBalances:
    """The current balances of tracked (pool, token) keys: plain ones re-read when touched, rebasing ones kept as
    raw x index (see the module docstring)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.models: dict[str, BalanceModel] | None = None  # by lowercase token, read from chain at the first start
        self.held = HolderBalances()
        self._keys: dict[Pair, Key] = {}  # the rebasing pairs, lowercase -> the key as the tracked state has it

    def rebasing(self, token: str) -> bool:
        model = None if self.models is None else self.models.get(token.lower())
        return model is not None and model.rebasing

    def topics(self) -> list[str]:
        """topic0s beyond Transfer whose logs can move a held rebasing balance or index (none while none is held)."""
        return self.held.topics() if self._keys else []

    async def start(self, reader: Reader, keys: Iterable[Key]) -> None:
        """Follow these keys from the reader's block on (a full read of their balances has just been made there):
        the models are read once, and the rebasing keys' raw amounts and indexes now."""
        if self.models is None:
            self.models = await balance_models(self.deployment, reader)
        self.held = HolderBalances(self.models)
        self._keys = {}
        self._track(keys)
        if self._keys:
            await self.held.load(reader)

    def _track(self, keys: Iterable[Key]) -> list[Key]:
        """The plain keys among these; the rebasing ones are tracked by `held` from now on."""
        plain: list[Key] = []
        rebasing: list[Key] = []
        for key in keys:
            (rebasing if self.rebasing(key[1]) else plain).append(key)
        self._keys.update(((h.lower(), t.lower()), (h, t)) for h, t in rebasing)
        self.held.track(rebasing)
        return plain

    async def changes(
        self, reader: Reader, touched: Iterable[Key], logs: Sequence[Mapping[str, Any]]
    ) -> dict[Key, Reading]:
        """New readings at the reader's block: each touched plain key re-read, each touched rebasing key's raw
        amount re-read, each index a log changed read once, and every rebasing key whose raw amount or index
        moved re-valued. ``logs`` are every log since the last block (address-less, `topics` included)."""
        keys = list(touched)
        plain = self._track(keys)
        pairs = {(h.lower(), t.lower()) for h, t in keys} - {(h.lower(), t.lower()) for h, t in plain}
        if not self._keys:
            return await refresh_balances(reader, plain)
        pairs |= self.held.touched(logs)
        read, _ = await asyncio.gather(
            refresh_balances(reader, plain), self.held.refresh(reader, pairs, self.held.index_touched(logs))
        )
        moved = {*self.held.last_read, *((h, t) for t in self.held.changed for h in self.held.holders(t))}
        return read | {self._keys[pair]: self._reading(pair) for pair in moved}

    def corrected(self, keys: Iterable[Key]) -> None:
        """A reconciliation found these keys wrong (and set them right in the tracked state): a rebasing key's
        raw amount is read again with the next block, so the next index change does not bring the error back."""
        self.held.forget(keys)

    def _reading(self, pair: Pair) -> Reading:
        why = self.held.reason(*pair)
        return why if why is not None else self.held.balance(*pair)
