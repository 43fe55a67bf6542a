"""The serial port of the RS485 adapter, opened through pyserial-asyncio-fast (9600 8N1).

:class:`SerialLink` is the only place that touches the port: ``read`` returns the next chunk of bytes
or raises :class:`PortLost` when the adapter disappears (USB unplugged, pty closed); ``write`` sends a
whole frame. Everything above it works on bytes and a clock, which is what lets tests swap the
port for a pty pair and the benchmark for memory.

``socket://host:port`` reaches TWCs behind a serial-to-Ethernet converter in raw TCP mode
(pyserial-asyncio-fast opens it as an asyncio TCP connection behind the same stream interface). A TCP
link can die silently (converter powered off, Wi-Fi gone), so it gets keepalives and a user timeout:
unacknowledged frames make the link fail within about 20 s, and the bus reopens it as it does a
replugged USB adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Protocol

__all__ = ["Link", "PortLost", "SerialLink", "open_serial"]

BAUDRATE = 9600
#: Longest wait for a TCP converter to accept the connection (s).
CONNECT_TIMEOUT_S = 10.0
#: A TCP link whose sent frames stay unacknowledged this long fails (ms), so does one silent for
#: KEEPIDLE + KEEPINTVL * KEEPCNT seconds.
TCP_USER_TIMEOUT_MS = 20_000
TCP_KEEPALIVE = {"TCP_KEEPIDLE": 10, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3}


class PortLost(ConnectionError):
    """The serial port stopped working (closed, unplugged, I/O error)."""


class Link(Protocol):
    """A byte pipe to the bus."""

    async def read(self) -> bytes:
        """The next bytes received (never empty); PortLost when the port is gone."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data``; PortLost when the port is gone."""
        ...

    async def close(self) -> None:
        """Release the port (never raises)."""
        ...


class SerialLink:
    """A :class:`Link` over an asyncio serial connection."""

    def __init__(self, port: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        """See :class:`Link`."""
        try:
            data = await self._reader.read(256)
        except (OSError, ConnectionError) as e:
            raise PortLost(f"{self.port}: {e}") from e
        except Exception as e:  # pyserial's SerialException is not an OSError
            raise PortLost(f"{self.port}: {type(e).__name__}: {e}") from e
        if not data:
            raise PortLost(f"{self.port}: port closed")
        return data

    async def write(self, data: bytes) -> None:
        """See :class:`Link`."""
        if self._writer.is_closing():
            raise PortLost(f"{self.port}: port closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, ConnectionError) as e:
            raise PortLost(f"{self.port}: {e}") from e
        except Exception as e:
            raise PortLost(f"{self.port}: {type(e).__name__}: {e}") from e

    async def close(self) -> None:
        """See :class:`Link`."""
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)


async def open_serial(port: str) -> SerialLink:
    """Open ``port`` (a device or ``socket://host:port``) at 9600 8N1; OSError naming it when that fails."""
    import serial
    import serial_asyncio_fast

    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=port,
                baudrate=BAUDRATE,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
            )
    except TimeoutError:
        raise OSError(f"cannot open {port}: no connection within {CONNECT_TIMEOUT_S:g} s") from None
    except (serial.SerialException, OSError, ValueError) as e:
        raise OSError(f"cannot open {port}: {e}") from e
    if port.startswith("socket://"):
        _tune_tcp(writer.get_extra_info("socket"))
    return SerialLink(port, reader, writer)


def _tune_tcp(sock: object) -> None:
    """Frames go out at once, and a dead TCP peer is noticed in seconds (Linux options where present)."""
    setsockopt = getattr(sock, "setsockopt", None)
    if setsockopt is None:
        return
    with contextlib.suppress(OSError):
        setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in TCP_KEEPALIVE.items():
            if hasattr(socket, name):
                setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, TCP_USER_TIMEOUT_MS)
