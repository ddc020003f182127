"""Anvil processes: find the binary, start one per chain on a free loopback port, wait, stop.

Example::

    node = start_anvil(1)                 # chain id 1 on 127.0.0.1:<free port>
    print(node.rpc_url)                   # http://127.0.0.1:41234
    node.stop()                           # SIGTERM, then SIGKILL after a grace period

Children never outlive this process: on Linux each anvil gets PR_SET_PDEATHSIG (SIGKILL when its
parent thread dies, even by SIGKILL), and an atexit hook stops those still running on a normal exit or
Ctrl-C. Detached nodes (``detach=True``) get neither: they are meant to outlive the CLI that started them.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Final

import structlog

from defiscope.devnet.artifacts import node_modules
from defiscope.devnet.errors import DevnetError

log = structlog.get_logger(__name__)

HOST: Final = "127.0.0.1"
# anvil's default mnemonic derives these; account 0 deploys and owns everything on the devnet.
DEFAULT_MNEMONIC: Final = "test test test test test test test test test test test junk"
ACCOUNTS: Final = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)
READY_TIMEOUT: Final = 15.0
#: Block states a devnet node keeps for reads at past blocks (~1 MB each on the world): older ones are dropped.
HISTORY_STATES: Final = 500
#: Overrides `HISTORY_STATES`. The test suite sets it high: anvil counts the block an `evm_revert` returns to once
#: more at every snapshot-mine-revert cycle (its eviction queue keeps the duplicates, its state map one copy), so a
#: bound of N drops the base block's state after N reverted tests, while the states kept stay few.
HISTORY_STATES_ENV: Final = "DEFISCOPE_DEVNET_HISTORY_STATES"
STOP_GRACE: Final = 3.0
_PR_SET_PDEATHSIG: Final = 1


def find_anvil() -> Path:
    """The anvil binary: the npm platform package first, then node_modules/.bin, then PATH.

    The platform binary comes first because node_modules/.bin/anvil is a node shim that spawns the real
    binary: signals (and PDEATHSIG) would reach the shim, not the node.
    """
    candidates: list[Path] = []
    with contextlib.suppress(DevnetError):
        modules = node_modules()
        candidates += [modules / "@foundry-rs/anvil-linux-amd64/bin/anvil", modules / ".bin/anvil"]
    on_path = shutil.which("anvil")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise DevnetError("anvil not found: run `npm ci` (it installs @foundry-rs/anvil) or put anvil on PATH")


@cache
def anvil_version(binary: Path | None = None) -> str:
    """``anvil --version``'s first two lines, e.g. ``anvil Version: 1.7.1 Commit SHA: 4072e48...``."""
    exe = binary or find_anvil()
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True, timeout=30)
    return " ".join(line.strip() for line in out.stdout.splitlines()[:2])


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would ever send the signal.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def rpc(url: str, method: str, params: Sequence[object] = (), timeout: float = 10.0) -> object:
    """One JSON-RPC call with the standard library (used before web3 is worth setting up)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise DevnetError(f"{method} on {url} failed: {reply['error']}")
    return reply["result"]


@dataclass(slots=True, eq=False)
class AnvilNode:
    """One running anvil. ``process`` is None for a node found through a run file (another process's)."""

    chain_id: int
    port: int
    pid: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # anvil's stderr goes to an unnamed temporary file, not a pipe: a pipe nobody reads could fill up and
    # block a long-running node. Read back only to explain a failed start.
    errors: IO[bytes] | None = field(default=None, repr=False)

    @property
    def rpc_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def is_running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return pid_is_anvil(self.pid)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM, then SIGKILL if still alive after ``grace`` seconds; then its state cache goes. Idempotent."""
        try:
            self._stop(grace)
        finally:
            shutil.rmtree(state_cache(self.port), ignore_errors=True)

    def _stop(self, grace: float) -> None:
        if self.process is not None:
            _live_nodes.discard(self)
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self.errors is not None:
                self.errors.close()
            log.debug("anvil.stopped", chain_id=self.chain_id, pid=self.pid)
        else:
            stop_pid(self.pid, grace)


def pid_is_anvil(pid: int) -> bool:
    """True when ``pid`` runs and is an anvil (guards against a pid reused by another program)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) is dead for our purposes; its parent has just not reaped it yet.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and b"anvil" in cmdline.split(b"\0", 1)[0]


def stop_pid(pid: int, grace: float = STOP_GRACE) -> None:
    """Stop an anvil that is not our child (a detached one): SIGTERM, wait, then SIGKILL."""
    if not pid_is_anvil(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_is_anvil(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while pid_is_anvil(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def wait_ready(node: AnvilNode, timeout: float = READY_TIMEOUT) -> None:
    """Poll ``eth_chainId`` until the node answers with its chain id."""
    deadline = time.monotonic() + timeout
    while True:
        if node.process is not None and node.process.poll() is not None:
            stderr = ""
            if node.errors is not None:
                node.errors.seek(0)
                stderr = node.errors.read().decode(errors="replace").strip()
            lines = [line for line in stderr.splitlines() if line.strip()]
            # anvil puts the reason on its "error:" line and a hint ("try '--help'") after it.
            reason = next((ln for ln in lines if ln.lower().startswith("error")), lines[-1] if lines else "")
            last = reason or f"exit code {node.process.returncode}"
            raise DevnetError(f"anvil for chain {node.chain_id} exited at start: {last}")
        try:
            answer = rpc(node.rpc_url, "eth_chainId", timeout=1.0)
        except (OSError, urllib.error.URLError):
            answer = None
        if answer is not None:
            if int(str(answer), 16) != node.chain_id:
                raise DevnetError(f"{node.rpc_url} answers chain id {answer}, expected {node.chain_id}")
            return
        if time.monotonic() > deadline:
            node.stop()
            raise DevnetError(f"anvil for chain {node.chain_id} did not answer on {node.rpc_url} in {timeout:.0f} s")
        time.sleep(0.01)


def history_states() -> int:
    """`HISTORY_STATES`, or the positive count in ``$DEFISCOPE_DEVNET_HISTORY_STATES``."""
    raw = os.environ.get(HISTORY_STATES_ENV, "").strip()
    if not raw:
        return HISTORY_STATES
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # isdigit alone takes '²', which int() refuses
        raise DevnetError(f"{HISTORY_STATES_ENV} must be a positive number of block states, got {raw!r}")
    return int(raw)


def state_cache(port: int) -> Path:
    """Where the node on `port` would persist old states (none with `--prune-history`, but anvil still makes it).
    anvil's default (~/.foundry/anvil/tmp) is never cleaned up: hundreds of MB per run, tens of GB over a
    test-heavy day. Ours goes when the node stops."""
    return Path(tempfile.gettempdir()) / "defiscope-anvil" / str(port)


def _remove_stale_caches() -> None:
    """Caches of nodes that died without `stop` (killed parent): no one listens on their port any more."""
    root = state_cache(0).parent
    for stale in root.glob("*") if root.exists() else ():
        if stale.name.isdigit() and _port_is_free(int(stale.name)):
            shutil.rmtree(stale, ignore_errors=True)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def spawn_anvil(chain_id: int, *, load_state: Path | None = None, detach: bool = False) -> AnvilNode:
    """Start anvil without waiting for it; call :func:`wait_ready` next (lets several start at once).

    Call from a thread that lives as long as the node: PDEATHSIG fires when the *thread* that forked
    the child exits, not only the process.
    """
    binary = find_anvil()
    port = free_port()
    _remove_stale_caches()
    states = state_cache(port)
    states.mkdir(parents=True, exist_ok=True)
    args = [str(binary), "--host", HOST, "--port", str(port), "--chain-id", str(chain_id), "--silent"]
    args += ["--cache-path", str(states)]
    # A shared block keeps its transactions in the order they were sent, as `tx.Sender.block` estimates them
    # (anvil's default orders by fee, ties by arrival: the same today, by accident).
    args += ["--order", "fifo"]
    # Block states in memory only, a bounded number of them (`history_states`). By default anvil keeps 500 in
    # memory, then lowers that bound by one at every block mined past it, down to 10, serializing each evicted
    # state (the whole world) to disk; a read at an older block then deserializes one (4-5 s here instead of 1 ms).
    args += ["--prune-history", str(history_states())]
    if load_state is not None:
        args += ["--load-state", str(load_state)]
    preexec = _die_with_parent(os.getpid()) if sys.platform == "linux" and not detach else None
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the node; closed by stop()
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=errors,
        preexec_fn=preexec,  # prctl must run in the child, between fork and exec
        # A detached node leaves the terminal's session: closing the terminal does not reach it. An attached
        # one leaves its process group only, so Ctrl-C does not kill it before `serve` has saved it
        # (it still dies with us: PDEATHSIG and the atexit hook).
        start_new_session=detach,
        process_group=None if detach else 0,
        close_fds=True,
    )
    node = AnvilNode(chain_id=chain_id, port=port, pid=process.pid, process=process, errors=errors)
    if not detach:
        _live_nodes.add(node)
    log.debug("anvil.spawned", chain_id=chain_id, port=port, pid=process.pid, state=str(load_state))
    return node


def start_anvil(
    chain_id: int, *, load_state: Path | None = None, detach: bool = False, timeout: float = READY_TIMEOUT
) -> AnvilNode:
    """Start anvil for ``chain_id`` and return once it answers; retried once if the port was taken."""
    for attempt in range(3):
        node = spawn_anvil(chain_id, load_state=load_state, detach=detach)
        try:
            wait_ready(node, timeout)
        except DevnetError:
            node.stop()
            # Another program may have grabbed the port between free_port() and anvil's bind.
            if attempt == 2:
                raise
            continue
        return node
    raise AssertionError("unreachable")


# Our attached children, stopped at interpreter exit (normal end, uncaught exception, Ctrl-C).
_live_nodes: set[AnvilNode] = set()


@atexit.register
def _stop_live_nodes() -> None:
    for node in list(_live_nodes):
        node.stop(grace=1.0)
