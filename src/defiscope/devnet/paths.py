"""Where the devnet keeps its files: ``$DEFISCOPE_DATA_DIR/devnet`` (default: the user data dir).

>>> import os; os.environ["DEFISCOPE_DATA_DIR"] = "/tmp/ds"
>>> str(devnet_dir())
'/tmp/ds/devnet'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import platformdirs

DATA_DIR_ENV: Final = "DEFISCOPE_DATA_DIR"


def data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else Path(platformdirs.user_data_dir("defiscope"))


def devnet_dir() -> Path:
    """Cached worlds live in ``<key>/`` folders here; the run file of a running devnet is ``run.json``."""
    return data_dir() / "devnet"


def run_file() -> Path:
    return devnet_dir() / "run.json"
