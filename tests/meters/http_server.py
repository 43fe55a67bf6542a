"""A real HTTP server on loopback for the meter tests, serving canned vendor answers.

``VendorServer`` runs ``http.server.ThreadingHTTPServer`` in a thread on 127.0.0.1 with a free port.
Tests set ``routes[(method, path)] = Reply(...)`` (path without query); every request is recorded
with its query, headers and body so a test can check what the source sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Reply:
    """One canned answer."""

    body: str | bytes = ""
    status: int = 200
    content_type: str = "application/json"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **kw: Any) -> Reply:
        return cls(json.dumps(data), status, **kw)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Responder = Reply | Callable[[Request], Reply]

#: A delay that outlasts any test: the handler answers only when the server is closed (a hung device).
#: A finite delay a little above the client's timeout races the client on a loaded machine.
HANG_S = 3600.0

#: The failure shapes every HTTP source must survive.
FAILURES: dict[str, Reply] = {
    "401": Reply('{"error": "unauthorized"}', status=401),
    "500": Reply("Internal Server Error", status=500, content_type="text/plain"),
    "timeout": Reply("{}", delay_s=HANG_S),
    "truncated": Reply('{"Body": {"Data": {"Site": {"P_Grid": 12'),
    "html": Reply(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        content_type="text/html",
    ),
}

#: A fragment of each failure's error message.
FAILURE_TEXT = {
    "401": "HTTP 401",
    "500": "HTTP 500",
    "timeout": "no answer within",
    "truncated": "invalid JSON",
    "html": "HTML page",
}


class VendorServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Responder] = {}
        self.requests: list[Request] = []
        self.default: Reply | None = None
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                server.requests.append(req)
                responder = server.routes.get((self.command, parts.path), server.default)
                if responder is None:
                    reply = Reply("not found", 404, "text/plain")
                elif callable(responder):
                    reply = responder(req)
                else:
                    reply = responder
                if reply.delay_s:
                    server.closing.wait(reply.delay_s)  # close() ends a hang at once
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def vendor_server() -> Iterator[VendorServer]:
    server = VendorServer()
    try:
        yield server
    finally:
        server.close()
