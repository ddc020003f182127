"""Local HTTP servers that misbehave on purpose, in front of a real anvil.

`ProxyServer` forwards JSON-RPC to the real node and lets a test rewrite or refuse a request first;
`SilentServer` accepts connections and never answers. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

#: A hook gets the parsed JSON-RPC payload and returns (status, headers, body) to answer instead,
#: or None to forward the request to the node unchanged.
Hook = Callable[[Any], tuple[int, dict[str, str], bytes] | None]


class ProxyServer:
    def __init__(self, upstream: str, hook: Hook | None = None) -> None:
        self.upstream = upstream
        self.hook = hook
        self.requests: list[Any] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                proxy.requests.append(payload)
                answer = proxy.hook(payload) if proxy.hook else None
                if answer is None:
                    upstream = httpx.post(proxy.upstream, content=body, headers={"Content-Type": "application/json"})
                    answer = (upstream.status_code, {}, upstream.content)
                status, headers, data = answer
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ProxyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts TCP connections and reads, but never writes a byte back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def __enter__(self) -> SilentServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def rpc_error(payload: Any, code: int, message: str) -> bytes:
    """A JSON-RPC error answer for every item of the payload."""
    items = payload if isinstance(payload, list) else [payload]
    answers = [{"jsonrpc": "2.0", "id": item["id"], "error": {"code": code, "message": message}} for item in items]
    return json.dumps(answers if isinstance(payload, list) else answers[0]).encode()
