"""The root of defiscope's own errors: their message is written for the user, one line, saying what to do.

The CLI prints any `DefiscopeError` as one line on stderr and exits with code 2; anything else is a bug.
"""

from __future__ import annotations


class DefiscopeError(Exception):
    """Base of every error raised on purpose with a user-facing message."""


class InputError(DefiscopeError):
    """The caller asked for something that does not exist or is malformed (not a failure of a chain or store)."""
