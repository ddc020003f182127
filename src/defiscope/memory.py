"""Handing the heap's free memory back to the system after a long-lived process built its state.

A first snapshot at mainnet's size parses hundreds of megabytes of JSON (discovery's logs, multicall answers)
that are freed once parsed; glibc's allocator keeps those pages, so the resident set stays at the peak. On
the scale world (56,050 pools) the resident-set growth of the warm snapshot was 62.8 MB per 10,000 pools, and
30.8 MB after `malloc_trim(0)` (`benchmarks/mainnet_scale.py` measures both): half of it was free heap.

    release_free_heap()     # after the first snapshots (serve does it with gc.freeze); False where unsupported
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None (another libc, another system)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_free_heap() -> bool:
    """Return the heap's free pages to the system; whether the allocator supports it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
