"""Counting the HTTP requests a web3.py baseline sends (shared by the benchmark scripts)."""

from __future__ import annotations

from typing import Any

import requests


class CountingSession(requests.Session):
    """A requests session that counts the HTTP requests web3.py sends through it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.count += 1
        return super().request(*args, **kwargs)
