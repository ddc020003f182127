"""`defiscope keys`: API keys of the HTTP API.

defiscope keys create --name ci        # prints the key once; only its SHA-256 is stored
defiscope keys list [--json]
defiscope keys revoke ci               # by name or id; takes effect within the server's key cache TTL (5 s)
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from defiscope.api.keys import new_key
from defiscope.cli.common import one_line_errors, out
from defiscope.errors import InputError
from defiscope.store import Repository
from defiscope.store.keys import KeyStore

keys_app = typer.Typer(help="API keys of the HTTP API (defiscope serve).", no_args_is_help=True)


class NoSuchKey(InputError):
    """`keys revoke` named no active key."""


def _store() -> tuple[Repository, KeyStore]:
    repo = Repository.open()
    return repo, KeyStore(repo.engine)


@keys_app.command("create")
@one_line_errors
def create(name: Annotated[str, typer.Option("--name", help="A name to recognise the key by.")]) -> None:
    """Create a key and print it (once: it cannot be shown again)."""
    if not name.strip() or len(name) > 100:
        raise NoSuchKey("--name must be 1 to 100 characters")
    repo, store = _store()
    try:
        key, stored = new_key(name.strip())
        store.add(stored)
    finally:
        repo.close()
    out.print(key, highlight=False, soft_wrap=True)


@keys_app.command("list")
@one_line_errors
def list_keys(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List keys: id, name, created, revoked (never the key)."""
    repo, store = _store()
    try:
        rows = store.all()
    finally:
        repo.close()
    if as_json:
        doc = [{"id": k.key_id, "name": k.name, "created_at": k.created_at, "revoked_at": k.revoked_at} for k in rows]
        out.print_json(json.dumps(doc))
        return
    for k in rows:
        state = "active" if k.active else f"revoked at {k.revoked_at}"
        out.print(f"{k.key_id}  {k.name}  created {k.created_at}  {state}", highlight=False)


@keys_app.command("revoke")
@one_line_errors
def revoke(name_or_id: Annotated[str, typer.Argument(help="The key's name or id.")]) -> None:
    """Revoke a key by name or id."""
    repo, store = _store()
    try:
        if not store.revoke(name_or_id):
            raise NoSuchKey(f"no active API key named or with id {name_or_id!r} (see defiscope keys list)")
    finally:
        repo.close()
    out.print(f"revoked {name_or_id}", highlight=False)
