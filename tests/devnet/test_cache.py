"""The cached world: reloads fast with the same addresses, survives races and damage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from defiscope.devnet import Devnet, start_devnet
from defiscope.devnet.anvil import ACCOUNTS
from defiscope.devnet.cache import prune_worlds, state_file, world_key, world_lock
from defiscope.devnet.tx import connect
from tests.proc import cpu_seconds

#: Measured: 0.5 s of CPU (both chains; 0.9 s wall); a deploy instead of a reload takes tens of seconds.
RELOAD_CPU_SECONDS = 2.0


def test_reload_is_fast_and_yields_the_same_world(devnet: Devnet) -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with start_devnet((1, 56), state_dir=devnet.world_dir.parent, show_progress=False) as again:
        elapsed = time.perf_counter() - started
        # What a reload costs is the CPU time of this process and of the new anvils (parsing the state); wall
        # time, which a busy machine stretches, is printed, not held.
        cpu = time.process_time() - cpu_started + sum(cpu_seconds(node.pid) for node in again.nodes)
        print(f"reload: {elapsed:.2f} s wall, {cpu:.2f} s CPU (this process and the anvils)")
        assert again.from_cache is True
        assert again.world_dir == devnet.world_dir
        assert cpu < RELOAD_CPU_SECONDS, f"reload took {cpu:.2f} s of CPU"
        for old, new in zip(devnet.chains, again.chains, strict=True):
            assert new.rpc_url != old.rpc_url
            assert new.with_rpc_url(old.rpc_url) == old
            w3_old, w3_new = connect(old.rpc_url), connect(new.rpc_url)
            # The chain history itself is restored: same block hashes, same code.
            assert w3_new.eth.get_block(5)["hash"] == w3_old.eth.get_block(5)["hash"]
            router = new.contracts["UniswapV2Router02"]
            assert w3_new.eth.get_code(router) == w3_old.eth.get_code(router)
            assert w3_new.eth.chain_id == new.chain_id


def test_world_key_depends_on_the_chain_ids() -> None:
    assert world_key((1, 56)) == world_key((1, 56))
    assert world_key((1, 56)) != world_key((56,))
    assert len(world_key((1,))) == 16


PREPARE = """
import json, sys
from pathlib import Path
from defiscope.devnet import start_devnet
with start_devnet((56,), state_dir=Path(sys.argv[1]), show_progress=False) as devnet:
    print(json.dumps({"from_cache": devnet.from_cache, "tokens": dict(devnet.chain(56).tokens)}))
"""


def _prepare(state_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PREPARE, str(state_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_processes_prepare_at_once_then_damage_is_repaired(tmp_path: Path) -> None:
    first, second = _prepare(tmp_path), _prepare(tmp_path)
    results = []
    for process in (first, second):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        # structlog's default configuration logs to stdout too: pick our JSON line.
        results.append(json.loads(next(line for line in out.splitlines() if line.startswith("{"))))
    assert results[0]["tokens"] == results[1]["tokens"]
    assert results[0]["tokens"]["WBNB"] == results[1]["tokens"]["WBNB"]
    # One world folder, no temporary leftovers.
    key = world_key((56,))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([key, f".{key}.lock"])  # one world, its lock

    world = tmp_path / world_key((56,))
    state_file(world, 56).write_text("not a state dump")
    with start_devnet((56,), state_dir=tmp_path, show_progress=False) as repaired:
        assert repaired.from_cache is False
        assert dict(repaired.chain(56).tokens) == results[0]["tokens"]
    with start_devnet((56,), state_dir=tmp_path, show_progress=False) as reloaded:
        assert reloaded.from_cache is True
        assert dict(reloaded.chain(56).tokens) == results[0]["tokens"]


def test_stale_worlds_are_pruned_fresh_ones_kept(tmp_path: Path) -> None:
    for name in ("keep", "fresh", "stale"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "world.json").write_text("{}")
    old = time.time() - 30 * 24 * 3600
    os.utime(tmp_path / "stale" / "world.json", (old, old))
    os.utime(tmp_path / "keep" / "world.json", (old, old))
    assert prune_worlds(tmp_path, keep="keep") == [tmp_path / "stale"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "keep"]


def test_accounts_are_anvils_default_ones(devnet: Devnet) -> None:
    assert tuple(connect(devnet.chain(1).rpc_url).eth.accounts) == ACCOUNTS


def test_a_second_process_waits_for_the_world_being_built(tmp_path: Path) -> None:
    """Two starts of one world (two `devnet up`, two test workers): the second waits for the first's lock."""
    world = tmp_path / "devnet" / "somekey"
    waiter = (
        "import sys, time; from pathlib import Path; from defiscope.devnet.cache import world_lock\n"
        "print('asking', flush=True); asked = time.monotonic()\n"
        "with world_lock(Path(sys.argv[1])): print(time.monotonic() - asked)\n"
    )
    with world_lock(world):
        second = subprocess.Popen([sys.executable, "-c", waiter, str(world)], stdout=subprocess.PIPE, text=True)
        assert second.stdout is not None
        assert second.stdout.readline() == "asking\n"
        time.sleep(1.0)
        assert second.poll() is None  # blocked on the lock
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0
    assert float(out) > 0.9  # it got the lock only when the first let go
