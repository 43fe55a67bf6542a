"""The serial port of the RS485 adapter, opened through pyserial-asyncio-fast (9600 8N1).

:class:`SerialLink` is the only place that touches the port: ``read`` returns the next chunk of bytes
or raises :class:`PortLost` when the adapter disappears (USB unplugged, pty closed); ``write`` sends a
whole frame. Everything above it works on bytes and a clock, which is what lets tests swap the
port for a pty pair and the benchmark for memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

__all__ = ["Link", "PortLost", "SerialLink", "open_serial"]

BAUDRATE = 9600


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
    """Open ``port`` at 9600 8N1; OSError (with the port's name) when it cannot be opened."""
    import serial
    import serial_asyncio_fast

    try:
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=port,
            baudrate=BAUDRATE,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
        )
    except serial.SerialException as e:
        raise OSError(f"cannot open {port}: {e}") from e
    return SerialLink(port, reader, writer)
