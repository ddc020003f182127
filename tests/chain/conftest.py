from __future__ import annotations

import pytest

from defiscope.devnet.anvil import ACCOUNTS


@pytest.fixture
def holders() -> list[str]:
    """The devnet's deterministic accounts 0..9 (anvil's default mnemonic)."""
    return list(ACCOUNTS)
