"""The DSMR P1 serial source: reads telegrams as the meter pushes them (every 1 s on DSMR 5, 10 s on 4).

Unlike the polling sources the meter talks on its own; this task only listens. A telegram with a
bad CRC or unusable values is counted and logged (once per distinct problem) and puts the source in
error until a good one arrives; nothing is emitted for it. No telegram for ``timeout_s`` is an error
too (cable unplugged, P1 port not enabled). A serial port that fails (USB adapter pulled) is closed
and reopened after ``reopen_delay_s``, so the engine's restart is the last resort, not the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterSink, Source
from ecotrack.meters.dsmr.config import DsmrConfig
from ecotrack.meters.dsmr.telegram import TelegramBuffer, parse_telegram, reading_from
from ecotrack.meters.polling import SourceError, check_reading

__all__ = ["DsmrSource"]

log = logging.getLogger(__name__)


class DsmrSource(Source):
    """Listens to a DSMR P1 port and emits the grid power of every good telegram."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        port: str,
        baudrate: int = 115_200,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: int = 1,
        require_crc: bool = True,
        timeout_s: float = 30.0,
        reopen_delay_s: float = 5.0,
    ) -> None:
        super().__init__(name)
        self.clock = clock
        self.port = port
        self.serial_kwargs: dict[str, Any] = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
        }
        self.require_crc = require_crc
        self.timeout_s = timeout_s
        self.reopen_delay_s = reopen_delay_s
        #: Telegrams accepted and rejected since start.
        self.good = 0
        self.bad = 0
        self._logged: str | None = None

    async def run(self, sink: MeterSink) -> None:
        """Open the port, read telegrams until cancelled; reopen the port when it fails."""
        import serial_asyncio_fast  # the serial dependency loads only when a DSMR meter is configured

        while True:
            writer: asyncio.StreamWriter | None = None
            try:
                reader, writer = await serial_asyncio_fast.open_serial_connection(
                    url=self.port, **self.serial_kwargs
                )
                await self.listen(reader, sink)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the port itself failed: report, wait, reopen
                self._set_error(f"serial port {self.port}: {type(e).__name__}: {e}")
            finally:
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
            await self.clock.sleep(self.reopen_delay_s)

    async def listen(self, reader: asyncio.StreamReader, sink: MeterSink) -> None:
        """Read ``reader`` until it ends, emitting a reading per good telegram (the codec's loop)."""
        buffer = TelegramBuffer()
        while True:
            try:
                async with asyncio.timeout(self.timeout_s):
                    data = await reader.read(1024)
            except TimeoutError:
                self._set_error(
                    f"{self.port}: no complete telegram for {self.timeout_s:g} s (is P1 connected?)"
                )
                continue
            if not data:
                raise SourceError(f"{self.port}: the serial port closed")
            for raw in buffer.feed(data):
                self.handle(raw, sink)

    def handle(self, raw: bytes, sink: MeterSink) -> None:
        """Check one framed telegram and emit its reading, or record why it was rejected."""
        try:
            reading = check_reading(
                reading_from(parse_telegram(raw, require_crc=self.require_crc), self.clock.now())
            )
        except SourceError as e:
            self.bad += 1
            self.failures += 1
            self._set_error(f"{self.port}: {e}")
            return
        self.good += 1
        self.failures = 0
        if self.error is not None:
            log.info("meter %s: good telegrams again", self.name)
        self.error = None
        self._logged = None
        sink.on_meter_reading(self.name, reading)

    def _set_error(self, message: str) -> None:
        self.error = message
        if message != self._logged:
            self._logged = message
            log.warning("meter %s: %s", self.name, message)

    @classmethod
    def from_config(cls, name: str, config: DsmrConfig, context: DeviceContext) -> DsmrSource:
        """Build from a :class:`DsmrConfig`."""
        return cls(
            name,
            context.clock,
            port=config.port,
            baudrate=config.baudrate,
            bytesize=config.bytesize,
            parity=config.parity,
            stopbits=config.stopbits,
            require_crc=config.require_crc,
            timeout_s=config.timeout_s,
            reopen_delay_s=config.reopen_delay_s,
        )
