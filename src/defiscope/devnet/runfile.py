"""The run file of a devnet started by the CLI (``$DEFISCOPE_DATA_DIR/devnet/run.json``).

It lets ``defiscope devnet info`` and ``down`` find nodes that another process started::

    info = up_detached((1, 56))        # nodes keep running after this process exits
    read_run().chains[0].rpc_url       # from any process
    down()                             # stops them and removes the file

Content: ``{"owner_pid", "detached", "nodes": [{"chain_id", "pid", "port"}], "chains": [...]}``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from defiscope.devnet.anvil import AnvilNode, pid_is_anvil
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.manager import DEFAULT_CHAIN_IDS, Devnet, resume_devnet, start_devnet
from defiscope.devnet.paths import run_file
from defiscope.devnet.persist import SavedDevnet
from defiscope.devnet.scale import ScaleSize
from defiscope.devnet.world import DevnetChain, chains_from_json, chains_to_json


@dataclass(frozen=True, slots=True)
class RunInfo:
    owner_pid: int  # the process that started the nodes (gone already when detached)
    detached: bool
    nodes: tuple[AnvilNode, ...]
    chains: tuple[DevnetChain, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "owner_pid": self.owner_pid,
            "detached": self.detached,
            "nodes": [{"chain_id": n.chain_id, "pid": n.pid, "port": n.port} for n in self.nodes],
            **chains_to_json(self.chains),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        return cls(
            owner_pid=int(data["owner_pid"]),
            detached=bool(data["detached"]),
            nodes=tuple(
                AnvilNode(chain_id=int(n["chain_id"]), port=int(n["port"]), pid=int(n["pid"])) for n in data["nodes"]
            ),
            chains=chains_from_json(data),
        )

    def is_running(self) -> bool:
        return any(pid_is_anvil(node.pid) for node in self.nodes)


def _write(info: RunInfo, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(info.to_json(), indent=2) + "\n")
    os.replace(temporary, path)


def _read(path: Path) -> RunInfo | None:
    try:
        return RunInfo.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise DevnetError(f"run file {path} is damaged ({exc}): remove it") from None


def current_run() -> RunInfo | None:
    """The running devnet, or None. A run file whose nodes all died is removed."""
    path = run_file()
    info = _read(path)
    if info is not None and not info.is_running():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    return info


def read_run() -> RunInfo:
    info = current_run()
    if info is None:
        raise DevnetError("no devnet runs: start one with `defiscope devnet up --detach`")
    return info


def _claim(devnet: Devnet, *, detached: bool) -> RunInfo:
    info = RunInfo(owner_pid=os.getpid(), detached=detached, nodes=devnet.nodes, chains=devnet.chains)
    _write(info, run_file())
    return info


def refuse_if_running() -> None:
    """Raise `DevnetError` if a devnet recorded in the run file still runs (this data dir is in use)."""
    running = current_run()
    if running is not None:
        pids = ", ".join(str(node.pid) for node in running.nodes)
        raise DevnetError(f"a devnet already runs (anvil pids {pids}): stop it with `defiscope devnet down`")


def up_detached(
    chain_ids: Sequence[int] = DEFAULT_CHAIN_IDS, *, state_dir: Path | None = None, scale: ScaleSize | None = None
) -> RunInfo:
    """Start nodes that outlive this process and record them in the run file (``scale``: see `devnet.scale`)."""
    refuse_if_running()
    devnet = start_devnet(chain_ids, state_dir=state_dir, detach=True, scale=scale)
    try:
        return _claim(devnet, detached=True)
    except BaseException:
        devnet.stop()
        raise


def up_attached(
    chain_ids: Sequence[int] = DEFAULT_CHAIN_IDS,
    *,
    state_dir: Path | None = None,
    resume: SavedDevnet | None = None,
    scale: ScaleSize | None = None,
) -> Devnet:
    """Start nodes tied to this process, recorded in the run file until :func:`release` is called.

    With `resume` the saved devnet's chains continue (``persist``); else the cached world starts afresh.
    """
    refuse_if_running()
    devnet = start_devnet(chain_ids, state_dir=state_dir, scale=scale) if resume is None else resume_devnet(resume)
    try:
        _claim(devnet, detached=False)
    except BaseException:
        devnet.stop()
        raise
    return devnet


def publish(devnet: Devnet, chains: Sequence[DevnetChain]) -> None:
    """Record `chains` as the attached devnet's endpoints (e.g. its chains behind provider proxies)."""
    _write(RunInfo(owner_pid=os.getpid(), detached=False, nodes=devnet.nodes, chains=tuple(chains)), run_file())


def release(devnet: Devnet) -> None:
    """Stop an attached devnet and remove its run file if the file still describes it."""
    devnet.stop()
    path = run_file()
    with contextlib.suppress(DevnetError):
        info = _read(path)
        if info is not None and info.owner_pid == os.getpid():
            path.unlink(missing_ok=True)


def down() -> RunInfo | None:
    """Stop the running devnet (detached or another process's) and remove the run file; None if none ran."""
    path = run_file()
    info = _read(path)
    if info is None:
        return None
    was_running = info.is_running()
    for node in info.nodes:
        node.stop()
    path.unlink(missing_ok=True)
    return info if was_running else None
