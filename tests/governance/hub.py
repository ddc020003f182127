"""A local stand-in for Snapshot's Hub: a real HTTP server on 127.0.0.1 answering the `proposals` query from
recorded proposals (fixtures/snapshot_proposals.json, written from the Hub's documented format).

It applies the query's own semantics — `space_in`, `created_gte`, `orderBy: "created"` descending, `first`
and `skip` — so paging is exercised as against the Hub; `script` answers the next requests with canned
statuses, headers and bodies first (a 429, a 5xx, a malformed body). Every request is kept.

    with hub_server() as hub:
        hub.script.append(Canned(429, b"", {"Retry-After": "1"}))
        settings = SnapshotSettings(enabled=True, url=hub.url)
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "fixtures" / "snapshot_proposals.json"


def recorded_text() -> str:
    return RECORDED.read_text()


def recorded_items() -> list[str]:
    """Each recorded proposal as its own JSON text, numbers digit for digit (no float round trip)."""
    text = recorded_text()
    inner = text[text.index("[") + 1 : text.rindex("]")]
    return [m.group(0) for m in re.finditer(r"\{(?:[^{}]|\{[^{}]*\})*\}", inner)]


@dataclass(frozen=True, slots=True)
class Canned:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Hub:
    url: str
    script: list[Canned] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)  # (headers, JSON body)

    def variables(self, i: int) -> dict[str, Any]:
        variables: dict[str, Any] = self.requests[i][1]["variables"]
        return variables


def answer(variables: dict[str, Any]) -> bytes:
    """The recorded proposals the query selects, as the Hub pages them."""
    chosen = []
    for item in recorded_items():
        doc = json.loads(item)
        if doc["space"]["id"] in variables["spaces"] and doc["created"] >= variables["createdGte"]:
            chosen.append((doc["created"], item))
    chosen.sort(key=lambda pair: pair[0], reverse=True)
    page = [item for _, item in chosen[variables["skip"] : variables["skip"] + variables["first"]]]
    return ('{"data": {"proposals": [' + ",".join(page) + "]}}").encode()


@contextmanager
def hub_server() -> Iterator[Hub]:
    hub = Hub("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            hub.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            canned = hub.script.pop(0) if hub.script else Canned(200, answer(body["variables"]))
            self.send_response(canned.status)
            for name, value in {"content-type": "application/json", **canned.headers}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(canned.body)))
            self.end_headers()
            self.wfile.write(canned.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once (offline)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"
