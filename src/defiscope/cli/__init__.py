"""The `defiscope` command line: `defiscope --help` lists every command."""

from __future__ import annotations

from defiscope.cli import (  # noqa: F401  (modules register their commands on import)
    alert_delivery,
    alerts,
    chains,
    devnet,
    governance,
    keys,
    methodology,
    quote,
    risk,
    serve,
    service,
    staking,
    state,
    tvl,
    volume,
)
from defiscope.cli.common import app

__all__ = ["app"]
