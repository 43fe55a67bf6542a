"""Hang up on clients that send their request headers too slowly.

uvicorn times out idle keep-alive connections, but not a connection whose request line and headers
dribble in (or never finish): twenty such half-sent requests held their sockets for as long as the
client liked. :func:`header_timeout_protocol` makes uvicorn's h11 protocol close a connection that has
not delivered a complete set of headers within ``timeout_s`` of connecting or of its previous response.
The body's pace is bounded by :mod:`.guard` (which reads it), the number of connections by uvicorn's
``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["header_timeout_protocol"]

log = logging.getLogger(__name__)


def header_timeout_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol that closes connections not done sending headers within ``timeout_s``."""

    class HeaderTimeoutProtocol(H11Protocol):
        """:class:`H11Protocol` with a deadline for each request's headers."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self._header_deadline = self.loop.call_later(timeout_s, self._expired)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _expired(self) -> None:
            self._header_deadline = None
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # closed already, or upgraded to a WebSocket (which has its own pings)
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being served: its body's pace is the guard's business
            log.debug("closing a connection from %s: no complete request headers within %g s", self.client, timeout_s)
            self.transport.close()

    return HeaderTimeoutProtocol
