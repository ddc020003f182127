"""Errors raised by the devnet; the CLI prints them as one line and exits with code 2.

>>> raise DevnetError("node_modules not found: run `npm ci`")
Traceback (most recent call last):
...
defiscope.devnet.errors.DevnetError: node_modules not found: run `npm ci`
"""

from __future__ import annotations

from defiscope.errors import DefiscopeError


class DevnetError(DefiscopeError):
    """A devnet could not be prepared, started, found or stopped; the message says what to do."""
