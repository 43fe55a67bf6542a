"""Listen to a TWC bus without transmitting: decode every frame for someone debugging wiring."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ecotrack.chargers.twc.codec import FrameError, Message
from ecotrack.chargers.twc.deframer import Deframer, DeframerStats
from ecotrack.chargers.twc.link import Link, PortLost, open_serial

__all__ = ["sniff"]


async def sniff(
    port: str,
    on_item: Callable[[float, Message | FrameError], None],
    *,
    duration_s: float | None = None,
) -> DeframerStats:
    """Read ``port`` (9600 8N1) and call ``on_item(seconds_since_start, message_or_error)`` per frame.

    Returns the deframer's counters when ``duration_s`` has passed or the port is lost. Never writes.
    """
    link: Link = await open_serial(port)
    deframer = Deframer()
    start = time.monotonic()
    try:
        async with asyncio.timeout(duration_s):
            while True:
                try:
                    data = await link.read()
                except PortLost:
                    break
                now = time.monotonic() - start
                for item in deframer.feed(data, now):
                    on_item(now, item)
    except TimeoutError:
        pass
    finally:
        await link.close()
    return deframer.stats
