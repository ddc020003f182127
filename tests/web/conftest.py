"""Browser fixtures: `defiscope serve` on its own copy of the devnet (no simulation: the test moves the chain) and a
page in Debian's chromium driven by Playwright; `shoot` saves a screenshot (copied to DEFISCOPE_SCREENSHOTS when
set). Test modules call `require_chromium()` first: without chromium they skip (and fail in CI).

One chromium serves a module (`browser`); each test gets a page in a fresh context (its own storage, online). A
module whose tests can share one server uses `serving(...)` in a module-scoped fixture of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import free_port
from tests.devnet.helpers import cli, seeded_data_dir, wait_until
from tests.service.conftest import clean_env

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: `bash scripts/dev.sh test` installs it (apt-get install chromium)")
    pytest.skip(
        "chromium is not installed (apt-get install chromium); CI installs and runs this", allow_module_level=True
    )


@dataclass
class Served:
    """`defiscope serve` in a child process on a fixed port; `stop()` and `start()` again restart it in place."""

    home: Path  # serve's DEFISCOPE_DATA_DIR: its devnet's run.json and its store
    env: dict[str, str] = field(default_factory=dict)  # serve's settings beyond the data dir, e.g. DEFISCOPE_SNAPSHOT_*
    port: int = field(default_factory=free_port)
    child: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "serve.log"  # a file, not a pipe: a long test must not block serve on a full pipe

    def start(self) -> None:
        # No market simulation: the page and the API are compared at rest, and the test makes the changes it checks.
        command = cli("serve", "--port", str(self.port), "--no-simulate")
        with self.log.open("a") as log:
            env = clean_env(self.home, **self.env)
            child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        self.child = child

        def ready() -> bool:
            try:
                chains = httpx.get(f"{self.url}/v1/health", timeout=2).json()["chains"]
                return bool(chains) and all(c["last_block"] is not None for c in chains)
            except (httpx.TransportError, KeyError, ValueError):
                return child.poll() is not None

        wait_until(ready, 60, "defiscope serve to index the devnet")
        assert child.poll() is None, self.log.read_text()

    def stop(self) -> None:
        if self.child is not None:
            self.child.send_signal(signal.SIGTERM)
            self.child.wait(timeout=120)
            self.child = None


@contextmanager
def serving(devnet: Devnet, home: Path, **env: str) -> Iterator[Served]:
    """`defiscope serve` on a fresh copy of the devnet's world under `home`, with `env` added to its settings."""
    served = Served(seeded_data_dir(devnet, home), env)
    try:
        served.start()
        yield served
    finally:
        served.stop()


@pytest.fixture
def served(devnet: Devnet, tmp_path: Path) -> Iterator[Served]:
    with serving(devnet, tmp_path / "home") as running:
        yield running


@pytest.fixture
def server(served: Served) -> str:
    return served.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright  # after the module's chromium check

    with sync_playwright() as playwright:
        running = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield running
        finally:
            running.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def shoot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if target := os.environ.get("DEFISCOPE_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path
