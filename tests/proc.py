"""What Linux's /proc says about another process (an anvil): its CPU time and when it started.

Tests hold CPU time, not wall time, where a cost matters: the suite's other worker and other users of the
same cores stretch wall time without any change in what the code does."""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces: split after its closing parenthesis. Index 0 is field 3.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (utime and stime, in clock ticks)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def started_at(pid: int) -> float:
    """Unix time at which a process started, to the second at worst (the boot time is whole seconds)."""
    booted = next(
        int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
    )
    return booted + int(_stat_fields(pid)[19]) / os.sysconf("SC_CLK_TCK")
