"""The root of defiscope's own errors: their message is written for the user, one line, saying what to do.

Every error raised on purpose is a `DefiscopeError`, and its class says whose fault it is, so the API and
the CLI answer by class, never by message:

    DefiscopeError
    ├── InputError          bad input from a user, an API client or a config file
    │                       API: 400 naming the field
    │   └── chain.errors.InvalidInput   (an address, block, URL or setting that does not parse)
    ├── chain.errors.ChainError         an RPC endpoint or node failed (unreachable, refused, reverted)
    │                       API: 502 (503 when it may pass: rate limits, timeouts), endpoint redacted
    ├── protocols.base.AdapterError     a protocol could not be read (its registry, a required call): API 502
    ├── store.errors.StoreError         the database cannot be reached or refuses a write: API 503
    └── anything else of ours            API: 500 with an error id

    >>> from defiscope.chain.errors import ChainError, InvalidInput
    >>> issubclass(InvalidInput, InputError), issubclass(InvalidInput, ChainError)
    (True, False)

The CLI prints any of them as one line on stderr, never a traceback: exit code 2 for an `InputError` and the
other refusals it can explain (as typer's own usage errors), exit code 1 for a failure of a chain, a protocol's
contracts, a price provider or the store, with what to do about it (`cli.common.one_line_errors`). Anything
that is not a `DefiscopeError` is a bug: the API answers 500 with an error id, the CLI a traceback.
"""

from __future__ import annotations


class DefiscopeError(Exception):
    """Base of every error raised on purpose with a user-facing message."""


class InputError(DefiscopeError):
    """The caller asked for something that does not exist or is malformed (not a failure of a chain or store).

    ``field`` names the parameter, option or setting at fault when known (the API answers it)."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field
