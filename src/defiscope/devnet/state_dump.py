"""A compact state dump for big worlds: anvil's dump without call traces, kept gzipped.

anvil's ``anvil_dumpState`` holds, besides accounts, blocks and receipts, the call trace of every
transaction, and a contract creation's trace carries its init code and its runtime code. Measured with
anvil 1.7.1 on a scale world of 2,000 pairs and 200 pools: 222 MB of JSON, 143 MB of it traces. A
reloaded node needs none of them (receipts and logs are kept; only ``debug_``/``trace_`` answers for old
transactions lose their detail), so they are cut while the dump streams through, and the rest is stored
gzipped (every pair repeats the same code, which compresses about tenfold).

    packed = compact_dump(rpc_url)              # gzip bytes of a loadable state without traces
    with unpacked_state(path) as json_path:     # a temporary plain file for `anvil --load-state`
        spawn_anvil(1, load_state=json_path)
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from defiscope.devnet.anvil import rpc
from defiscope.devnet.errors import DevnetError

# serde writes each transaction's info as {..., "traces":[...],"exit":...}; "exit" appears nowhere inside a
# trace (checked on a 2,310-transaction dump: one of each per transaction).
_OPEN: Final = b'"traces":['
_CLOSE: Final = b'],"exit":'
_CHUNK: Final = 1 << 24
DUMP_TIMEOUT: Final = 3600.0


def strip_traces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The dump's bytes with every ``"traces":[...]`` emptied, streamed (never the whole dump in memory)."""
    carry = b""
    inside = False
    for chunk in chunks:
        data = carry + chunk
        kept: list[bytes] = []
        position = 0
        while True:
            if not inside:
                start = data.find(_OPEN, position)
                if start < 0:
                    # Keep a tail that could be the beginning of the marker split across chunks.
                    cut = max(position, len(data) - len(_OPEN) + 1)
                    kept.append(data[position:cut])
                    carry = data[cut:]
                    break
                kept.append(data[position : start + len(_OPEN)])
                position = start + len(_OPEN)
                inside = True
            else:
                end = data.find(_CLOSE, position)
                if end < 0:
                    carry = data[max(position, len(data) - len(_CLOSE) + 1) :]
                    break
                position = end
                inside = False
        yield b"".join(kept)
    if inside:
        raise DevnetError("state dump ends inside a transaction's traces: it is truncated")
    yield carry


def _gunzip(packed: bytes) -> Iterator[bytes]:
    inflate = zlib.decompressobj(wbits=31)
    view = memoryview(packed)
    for offset in range(0, len(view), _CHUNK):
        data: bytes | memoryview = view[offset : offset + _CHUNK]
        while data:
            yield inflate.decompress(data, _CHUNK)
            data = inflate.unconsumed_tail
    yield inflate.flush()


def compact_dump(rpc_url: str) -> bytes:
    """The node's state, traces cut, as gzip bytes (``unpacked_state`` turns them back into a loadable file)."""
    dumped = rpc(rpc_url, "anvil_dumpState", timeout=DUMP_TIMEOUT)
    if not isinstance(dumped, str):
        raise DevnetError(f"anvil_dumpState on {rpc_url} returned {type(dumped).__name__}")
    packed = bytes.fromhex(dumped.removeprefix("0x"))
    del dumped
    with tempfile.TemporaryFile() as out:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=3) as zipped:
            for piece in strip_traces(_gunzip(packed)):
                zipped.write(piece)
        out.seek(0)
        return out.read()


@contextlib.contextmanager
def unpacked_state(path: Path) -> Iterator[Path]:
    """A gzipped dump unpacked into a temporary file, removed on exit; a plain dump is used as it is."""
    if path.suffix != ".gz":
        yield path
        return
    handle, name = tempfile.mkstemp(prefix="defiscope-state-", suffix=".json")
    try:
        with os.fdopen(handle, "wb") as out, gzip.open(path, "rb") as packed:
            shutil.copyfileobj(packed, out, _CHUNK)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
