"""Looking around before asking: serial adapters, an MQTT broker on this machine, a Prism on the broker.

Each probe is bounded in time and never raises for what it does not find: ``init`` turns its result into a
suggested answer, and the user (or a flag) has the last word.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PrismFound", "broker_listens", "find_prisms", "serial_adapters"]

BY_ID = Path("/dev/serial/by-id")


def serial_adapters(directory: Path | None = None) -> list[Path]:
    """The serial adapters under ``/dev/serial/by-id`` (names that stay the same across reboots), sorted."""
    try:
        return sorted(p for p in (directory or BY_ID).iterdir() if not p.name.startswith("."))
    except OSError:
        return []


def broker_listens(host: str = "localhost", port: int = 1883, timeout_s: float = 1.0) -> bool:
    """Whether something accepts TCP connections at ``host:port`` (a broker, most likely)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class PrismFound:
    """A Prism's base topic and port, seen from its retained ``<base>/<port>/state``."""

    base_topic: str
    port: int


async def find_prisms(host: str, port: int = 1883, wait_s: float = 3.0, max_messages: int = 500) -> list[PrismFound]:
    """Prisms publishing on the broker: retained ``<base>/<1|2>/state`` topics seen within ``wait_s``."""
    import aiomqtt

    found: set[PrismFound] = set()

    async def listen() -> None:
        async with aiomqtt.Client(host, port, identifier=None, timeout=wait_s) as client:
            for pattern in ("+/+/state", "+/+/+/state"):
                await client.subscribe(pattern)
            seen = 0
            async for message in client.messages:
                seen += 1
                parts = str(message.topic).split("/")
                payload = bytes(message.payload if isinstance(message.payload, bytes) else b"")[:8]
                if parts[-2] in ("1", "2") and payload.strip() in (b"1", b"2", b"3", b"4"):
                    found.add(PrismFound("/".join(parts[:-2]), int(parts[-2])))
                if seen >= max_messages:
                    return

    with contextlib.suppress(TimeoutError, aiomqtt.MqttError, OSError):
        await asyncio.wait_for(listen(), timeout=wait_s)
    return sorted(found, key=lambda p: (p.base_topic, p.port))
