"""``/ws``: the state pushed to the browser on every change, rate-limited by the :class:`StateHub`.

Messages are JSON ``{"type": "state", "data": <GET /api/state>}``. The server ignores what the client
sends (it only reads to notice a disconnect at once). Authentication follows the read rules (the token
as the ``ecotrack.token.<hex>`` subprotocol, a bearer header or ``?token=``: :mod:`.auth`); a refused
client gets the handshake closed with 1008 (policy violation) and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from ecotrack.services.web.auth import WS_PROTOCOL
from ecotrack.services.web.context import context_of

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter()


@router.websocket("/ws")
async def state_socket(ws: WebSocket) -> None:
    """Push the state now and after every change (at most every ``http.ws_min_interval_s``)."""
    ctx = context_of(ws)
    try:
        ctx.auth.check(ws, write=False)
    except HTTPException as e:
        ctx.auth_failures += 1
        await ws.close(code=1008, reason=str(e.detail))
        return
    # A browser that offered subprotocols (the dashboard: "ecotrack" and its token) needs one selected.
    await ws.accept(subprotocol=WS_PROTOCOL if WS_PROTOCOL in ws.scope.get("subprotocols", []) else None)

    async def drain() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return

    async def push() -> None:
        async with contextlib.aclosing(ctx.hub.updates()) as updates:
            async for text in updates:
                await ws.send_text(text)

    reader = asyncio.create_task(drain())
    writer = asyncio.create_task(push())
    try:
        await asyncio.wait((reader, writer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            task.cancel()
        results = await asyncio.gather(reader, writer, return_exceptions=True)
        for r in results:
            if isinstance(r, Exception) and not isinstance(r, WebSocketDisconnect | OSError | RuntimeError):
                log.warning("websocket client ended with %s: %s", type(r).__name__, r)
        if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(code=1001 if ctx.hub.closed else 1000)
