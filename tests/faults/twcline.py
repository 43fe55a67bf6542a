"""A simulated TWC on the far end of a pty pair, served from a thread, for the daemon running as a process.

The daemon opens ``link`` (a symlink like ``/dev/serial/by-id/...``) as its RS485 port; the slave simulator
(:class:`~ecotrack.chargers.twc.simbus.SimulatedBus`) answers on the other end in a thread with its own
event loop and the real clock. :meth:`TwcLine.unplug` and :meth:`TwcLine.plug_in` stand for pulling the
USB adapter and putting it back (the tty and its link disappear, then a new tty appears behind the link).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
from ecotrack.chargers.twc.slave import SimulatedSlave
from ecotrack.clock import RealClock


class TwcLine:
    def __init__(self, link: Path, slaves: list[SimulatedSlave]) -> None:
        self.link = link
        self.slaves = slaves
        self.clock = RealClock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._task: Future[Any] | None = None
        self._fds: list[int] = []

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the simulator's loop (the slaves are not thread-safe) and return its result."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def plug_in(self) -> None:
        sim_fd, tty_fd, path = open_pty()
        self._fds = [sim_fd, tty_fd]
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(path)
        bus = SimulatedBus(self.slaves, self.clock)
        self._task = asyncio.run_coroutine_threadsafe(bus.run(sim_fd), self.loop)

    def unplug(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                self._task.result(5)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    def limit_a(self, i: int = 0) -> float:
        return float(self.call(lambda: self.slaves[i].limit_a))

    def actual_a(self, i: int = 0) -> float:
        return float(self.call(lambda: self.slaves[i].actual_a))

    def close(self) -> None:
        self.unplug()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def __enter__(self) -> TwcLine:
        self.plug_in()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
