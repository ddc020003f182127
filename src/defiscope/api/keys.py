"""API keys: `ds_live_<id>_<secret>`, shown once, stored as SHA-256, checked in constant time.

    >>> key, stored = new_key("ci", now=1_700_000_000)
    >>> key.startswith("ds_live_"), stored.key_id in key, check(key, stored)
    (True, True, True)
    >>> check(key[:-1] + ("A" if key[-1] != "A" else "B"), stored)
    False

The id lets a key be found and revoked without the secret; the prefix lets secret scanners (and people)
recognise a leaked defiscope key. 32 random bytes make a hash without salt safe: nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Final

from defiscope.store.keys import StoredKey

PREFIX: Final = "ds_live_"
_SHAPE: Final = re.compile(r"^ds_live_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
#: Hashed when the id is unknown, so a miss costs the same as a wrong secret.
_DUMMY: Final = hashlib.sha256(b"defiscope-no-such-key").hexdigest()


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(name: str, *, now: int | None = None) -> tuple[str, StoredKey]:
    """A fresh key and the row to store for it (the key itself is not in the row)."""
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key, StoredKey(key_id, name, digest(key), int(time.time()) if now is None else now)


def key_id_of(key: str) -> str | None:
    """The public id inside a well-formed key, None for anything else."""
    match = _SHAPE.match(key)
    return match.group(1) if match else None


def check(key: str, stored: StoredKey | None) -> bool:
    """Whether `key` is the active key `stored`; compares digests in constant time."""
    expected = stored.sha256 if stored is not None else _DUMMY
    same = hmac.compare_digest(digest(key), expected)
    return same and stored is not None and stored.active
