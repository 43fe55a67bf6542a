"""The door in front of the app: token before body, bounded bodies, bounded pace, counted answers.

A pure ASGI middleware (it sees the raw ``receive``/``send``, before FastAPI reads or parses
anything), because the order matters:

1. a request that changes something (any method but GET/HEAD/OPTIONS) must carry the right token,
   checked on the headers alone: no token → 401, wrong → 403, and the body is never read;
2. a body announced larger than ``max_body_bytes`` (``Content-Length``) → 413 at once, unread; a
   chunked body is counted as it arrives and cut off with 413 past the limit;
3. the body must arrive within ``body_timeout_s`` (a client sending a byte a second gets 408);
4. the body, now known to be small, is handed to the app in one piece.

Every refusal closes the connection (``Connection: close``), so an unread body cannot be taken for
the next request. Answers are counted by status class for ``/metrics`` here, so the refusals are too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

from fastapi import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecotrack.services.web.context import WebContext

__all__ = ["MAX_BODY_BYTES", "RequestGuard"]

log = logging.getLogger(__name__)

#: Largest request body accepted (bytes); every body of this API is a few dozen bytes.
MAX_BODY_BYTES = 64 * 1024
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestGuard:
    """ASGI middleware: auth on headers, then a bounded body read in bounded time (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        context: WebContext,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.context = context
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        requests = self.context.requests

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                requests[f"{int(message['status']) // 100}xx"] += 1
            await send(message)

        if scope["method"] not in _READ_ONLY:
            try:
                self.context.auth.check(HTTPConnection(scope), write=True)
            except HTTPException as e:
                self.context.auth_failures += 1
                await _refuse(counted, e.status_code, str(e.detail), e.headers)
                return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                await _refuse(counted, 400, "Content-Length is not a number")
                return
            if announced > self.max_body_bytes:
                await _refuse(counted, 413, f"request body over {self.max_body_bytes} bytes")
                return
            if announced == 0 and not chunked:
                await self.app(scope, receive, counted)
                return
        elif not chunked:
            await self.app(scope, receive, counted)
            return
        body = await self._read_body(receive, counted)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), counted)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None after answering 413/408 (or when the client went away)."""
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        await _refuse(send, 413, f"request body over {self.max_body_bytes} bytes")
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            log.debug("request body not received within %g s", self.body_timeout_s)
            await _refuse(send, 408, f"request body not received within {self.body_timeout_s:g} s")
            return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then what the client sends next (its disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    """Answer ``status`` with ``{"detail": ...}`` and close the connection."""
    payload = json.dumps({"detail": detail}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
