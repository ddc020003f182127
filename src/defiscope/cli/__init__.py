"""The `defiscope` command line: `defiscope --help` lists every command."""

from __future__ import annotations

from defiscope.cli import chains, devnet, keys, quote, risk, serve, service, staking, tvl, volume  # noqa: F401  (modules register their commands on import)
from defiscope.cli.common import app

__all__ = ["app"]
