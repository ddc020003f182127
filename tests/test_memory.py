"""`release_free_heap`: the pages of objects freed after a peak go back to the system (glibc, as on this machine)."""

from __future__ import annotations

from defiscope.memory import release_free_heap

MB = 1 << 20


def resident() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_freed_heap_goes_back_to_the_system() -> None:
    # 64 MB in 4 KB buffers: malloc's heap (above pymalloc's 512 bytes, below mmap's threshold), as parsed JSON is.
    peak = [bytearray(4096) for _ in range(64 * MB // 4096)]
    pin = bytearray(4096)  # allocated last, on top of the heap: freeing the rest cannot shrink it by itself
    before = resident()
    del peak
    freed = resident()
    assert release_free_heap() is True
    after = resident()
    assert after < freed - 32 * MB, (before, freed, after)
    assert len(pin) == 4096
