"""Fan the engine's snapshots out to WebSocket clients, rate-limited, serialised once per snapshot.

The engine calls :meth:`StateHub.on_snapshot` synchronously after every step (several times a second
with a fast meter). The hub only remembers the newest snapshot and wakes the waiting clients; each
client then sends at most one message per ``min_interval_s`` and always the newest state, so a slow
phone on a bad link never queues old states and never slows the engine. The JSON text is built once
per snapshot, however many clients there are. When nothing changes for ``heartbeat_s`` a client gets
the state again anyway (with updated data ages), so the page can tell a quiet site from a dead link.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from ecotrack.services.web.state import build_state

if TYPE_CHECKING:
    from ecotrack.runtime.snapshot import Snapshot
    from ecotrack.runtime.surface import EngineSurface

__all__ = ["StateHub"]

log = logging.getLogger(__name__)


class StateHub:
    """Latest state for WebSocket clients."""

    def __init__(self, engine: EngineSurface, min_interval_s: float = 0.5, heartbeat_s: float = 5.0) -> None:
        self.engine = engine
        self.min_interval_s = min_interval_s
        self.heartbeat_s = heartbeat_s
        self.version = 0
        self.clients = 0
        self.messages_sent = 0
        self._changed = asyncio.Event()
        self._closed = False
        self._cache: tuple[int, float, str] | None = None

    def on_snapshot(self, snap: Snapshot) -> None:
        """Engine listener: note that a new state exists and wake the clients."""
        self.version += 1
        self._wake()

    def close(self) -> None:
        """Make every :meth:`stream` end (server shutdown)."""
        self._closed = True
        self._wake()

    def reopen(self) -> None:
        """Accept clients again after :meth:`close` (the service was restarted)."""
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def message(self, *, max_age_s: float | None = None) -> str:
        """The current state as a WebSocket message (JSON text), cached per snapshot version."""
        now = time.monotonic()
        cached = self._cache
        fresh = cached is not None and (max_age_s is None or now - cached[1] < max_age_s)
        if cached is not None and fresh and cached[0] == self.version:
            return cached[2]
        state = build_state(self.engine, self.engine.snapshot())
        text = json.dumps({"type": "state", "data": state.model_dump(mode="json")}, separators=(",", ":"))
        self._cache = (self.version, now, text)
        return text

    async def updates(self) -> AsyncGenerator[str, None]:
        """Yield the current state now, then the newest state after every change, rate-limited.

        Ends when the hub is closed. Use it with :func:`contextlib.aclosing` so the client count stays right.
        """
        self.clients += 1
        try:
            sent_version = -1
            last_sent = -math.inf
            while not self._closed:
                if self.version == sent_version:
                    event = self._changed
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.heartbeat_s):
                            await event.wait()
                    if self._closed:
                        return
                wait = last_sent + self.min_interval_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    if self._closed:
                        return
                heartbeat = self.version == sent_version
                text = self.message(max_age_s=0.0 if heartbeat else None)
                sent_version = self.version
                last_sent = time.monotonic()
                self.messages_sent += 1
                yield text
        finally:
            self.clients -= 1
