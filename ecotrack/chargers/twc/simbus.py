"""Simulated TWC slaves on one end of a pty pair, so the real master talks to them through a real tty.

:func:`open_pty` makes the pair (both ends raw, so the line discipline neither echoes nor translates
``0A``/``0D``) and returns the master-side fd plus the path of the tty end the driver opens as its
serial port. :class:`SimulatedBus` runs any number of :class:`~ecotrack.chargers.twc.slave.SimulatedSlave`
on the fd: every frame heard goes to every slave (RS485 is a shared bus), replies are written whole.

For tests it can misbehave on purpose: :meth:`SimulatedBus.inject` writes raw bytes (garbage, broken
frames), ``corrupt_replies`` spoils the checksum of the next N replies, and it records the largest sum of
limits the slaves honoured at any moment (``max_total_limit_a``), which the wiring-limit test checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty

from ecotrack.chargers.twc.clockutil import wall_seconds
from ecotrack.chargers.twc.codec import FrameError, Message, checksum, encode_frame, escape
from ecotrack.chargers.twc.deframer import Deframer
from ecotrack.chargers.twc.slave import SimulatedSlave
from ecotrack.clock import Clock

__all__ = ["SimulatedBus", "open_pty"]

log = logging.getLogger(__name__)


def open_pty() -> tuple[int, int, str]:
    """A raw pty pair: ``(sim_fd, tty_fd, tty_path)``. Keep ``tty_fd`` open while the pair is in use."""
    sim_fd, tty_fd = os.openpty()
    tty.setraw(tty_fd)
    tty.setraw(sim_fd)
    os.set_blocking(sim_fd, False)
    return sim_fd, tty_fd, os.ttyname(tty_fd)


class SimulatedBus:
    """Several simulated slaves sharing one pty end (see the module docstring)."""

    def __init__(self, slaves: list[SimulatedSlave], clock: Clock, *, tick_s: float = 0.1) -> None:
        self.slaves = slaves
        self.clock = clock
        self.tick_s = tick_s
        self.deframer = Deframer()
        self.corrupt_replies = 0
        self.max_total_limit_a = 0.0
        self.heard: list[tuple[float, Message]] = []
        self.keep_heard = 2000
        self._fd: int | None = None

    def inject(self, data: bytes) -> None:
        """Write raw bytes on the line (noise, broken frames)."""
        if self._fd is not None:
            os.write(self._fd, data)

    def total_limit_a(self) -> float:
        """Sum of the limits the slaves honour now (A)."""
        return sum(s.offer_a() for s in self.slaves)

    async def run(self, fd: int) -> None:
        """Serve the slaves on ``fd`` until cancelled or the fd breaks."""
        self._fd = fd
        loop = asyncio.get_running_loop()
        incoming: asyncio.Queue[bytes] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(fd, 1024)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            incoming.put_nowait(data)
            if not data:
                loop.remove_reader(fd)

        loop.add_reader(fd, readable)
        try:
            while True:
                try:
                    async with asyncio.timeout(wall_seconds(self.clock, self.tick_s)):
                        data = await incoming.get()
                except TimeoutError:
                    data = None
                now = self.clock.now()
                if data == b"":
                    return  # the other side is gone for good
                if data:
                    for item in self.deframer.feed(data, now):
                        if isinstance(item, FrameError):
                            continue
                        if len(self.heard) < self.keep_heard:
                            self.heard.append((now, item))
                        for slave in self.slaves:
                            self._send(slave.on_message(item, now))
                for slave in self.slaves:
                    self._send(slave.tick(now))
                self.max_total_limit_a = max(self.max_total_limit_a, self.total_limit_a())
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
            self._fd = None

    def _send(self, messages: list[Message]) -> None:
        self.max_total_limit_a = max(self.max_total_limit_a, self.total_limit_a())
        for msg in messages:
            frame = encode_frame(msg)
            if self.corrupt_replies > 0:
                self.corrupt_replies -= 1
                payload = msg.encode_payload()
                frame = b"\xc0" + escape(payload + bytes([(checksum(payload) + 1) & 0xFF])) + b"\xc0"
            if self._fd is not None:
                try:
                    os.write(self._fd, frame)
                except OSError as e:
                    log.debug("simulated bus: write failed: %s", e)
