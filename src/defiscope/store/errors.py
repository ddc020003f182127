"""Typed errors the store raises, each with a one-line message that says what to do."""

from __future__ import annotations

from defiscope.errors import DefiscopeError, InputError


class StoreError(DefiscopeError):
    """Base of every error `defiscope.store` raises on purpose."""


class DatabaseUrlError(StoreError, InputError):
    """The database URL cannot be used: it does not parse, or names a backend we do not support (the user's
    setting, not a failure of the database)."""

    field = "database_url"


class DatabaseUnavailableError(StoreError):
    """The database named by a valid URL cannot be reached or opened."""


class BlockConflictError(StoreError):
    """A snapshot names a block whose stored hash differs: the chain reorganised under us.

    Saving it anyway would mix two forks in one history, so the caller must first call
    `Repository.rollback_from(chain_id, number)` and then re-index from there.
    """

    def __init__(self, chain_id: int, number: int, stored_hash: str, new_hash: str) -> None:
        self.chain_id = chain_id
        self.number = number
        self.stored_hash = stored_hash
        self.new_hash = new_hash
        super().__init__(
            f"block {number} on chain {chain_id} is stored with hash {stored_hash} but the snapshot says "
            f"{new_hash}; call rollback_from({chain_id}, {number}) and re-index from there"
        )
