"""Where the devnet keeps its files: ``$DEFISCOPE_DATA_DIR/devnet`` (default: the user data dir).

>>> import os; os.environ["DEFISCOPE_DATA_DIR"] = "/tmp/ds"
>>> str(devnet_dir())
'/tmp/ds/devnet'
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from defiscope import config

DATA_DIR_ENV: Final = config.DATA_DIR_ENV


def data_dir() -> Path:
    """The settings' data directory (`defiscope.config`, `~` expanded there)."""
    return config.data_dir()


def devnet_dir() -> Path:
    """Cached worlds live in ``<key>/`` folders here; the run file of a running devnet is ``run.json``."""
    return data_dir() / "devnet"


def run_file() -> Path:
    return devnet_dir() / "run.json"
