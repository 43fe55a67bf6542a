"""One RS485 bus: the port, the master state machine on it, reopen with backoff.

Several engine chargers (one per TWC) share a bus. The engine runs each charger's ``run()`` in its own
supervised task; each calls :meth:`TwcBus.serve`, and a lock makes exactly one of them drive the bus
while the others wait. If that charger's task ends (restart, shutdown), the next waiting one takes
over with the master's state intact. So no task is created outside the engine's task group.

The port may vanish (USB adapter unplugged): the bus closes it, waits with exponential backoff
(``backoff_initial_s`` .. ``backoff_max_s`` clock seconds), reopens it and starts over with the
link-ready sequence; slaves that fell back to linkready meanwhile relink. The backoff stops growing
at 4 s: opening a device path costs nothing, and an adapter plugged back in (it re-enumerates in 1-2 s)
should be driven again within seconds, not after a 30 s wait (the fault suite measured 12.6 s with a
30 s cap after a 4 s removal).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from ecotrack.chargers.twc.clockutil import wall_seconds
from ecotrack.chargers.twc.codec import FrameError, Message, encode_frame
from ecotrack.chargers.twc.deframer import Deframer
from ecotrack.chargers.twc.link import Link, PortLost, open_serial
from ecotrack.chargers.twc.master import MasterProtocol, MasterSettings, TwcTarget
from ecotrack.clock import Clock

__all__ = ["TwcBus"]

log = logging.getLogger(__name__)

Opener = Callable[[str], Awaitable[Link]]
TxListener = Callable[[Message, float], None]


class TwcBus:
    """See the module docstring."""

    def __init__(
        self,
        port: str,
        settings: MasterSettings,
        clock: Clock,
        *,
        opener: Opener | None = None,
        frame_timeout_s: float = 2.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 4.0,
    ) -> None:
        self.port = port
        self.clock = clock
        self.protocol = MasterProtocol(settings, [])
        self.deframer = Deframer(frame_timeout_s)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        #: Why the port is not open (None while it works).
        self.port_error: str | None = "not opened yet"
        self.opens = 0
        self.port_losses = 0
        #: ``listener(message, clock_time)`` after every transmission (the timing benchmark uses it).
        self.tx_listeners: list[TxListener] = []
        self._opener: Opener = opener if opener is not None else open_serial
        self._lock = asyncio.Lock()
        self._sent = asyncio.Event()

    @property
    def settings(self) -> MasterSettings:
        """The master's settings."""
        return self.protocol.settings

    def add_target(self, target: TwcTarget, bus_max_a: float | None, master_id: int) -> None:
        """Add a configured TWC. The bus limit becomes the smallest any charger on this port names."""
        if target.name in self.protocol.targets:
            raise ValueError(f"charger {target.name!r} is already on {self.port}")
        s = self.protocol.settings
        if self.protocol.targets and master_id != s.master_id:
            raise ValueError(
                f"chargers on {self.port} name different master IDs ({s.master_id:04X} and {master_id:04X})"
            )
        if target.twc_id is not None and any(
            t.twc_id == target.twc_id for t in self.protocol.targets.values()
        ):
            raise ValueError(f"two chargers on {self.port} are pinned to TWC {target.twc_id:04X}")
        limits = [x for x in (s.bus_max_a, bus_max_a) if x is not None]
        self.protocol.settings = replace(s, master_id=master_id, bus_max_a=min(limits) if limits else None)
        self.protocol.targets[target.name] = target
        self.protocol.requests[target.name] = 0.0

    def request(self, target: str, amps: float) -> bool:
        """Ask for ``amps`` at ``target``; True when the next heartbeat to it is a cut worth waiting for."""
        return self.protocol.request(target, amps)

    async def wait_heartbeat(self, target: str, timeout_s: float) -> bool:
        """Wait (clock seconds) until a heartbeat went to ``target``'s TWC; False on timeout or no link."""
        slave = self.protocol.slave_of(target)
        if slave is None or self.port_error is not None:
            return False
        start = slave.heartbeats_sent
        deadline = self.clock.now() + timeout_s
        while slave.heartbeats_sent == start and self.protocol.slave_of(target) is slave:
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                return False
            self._sent.clear()
            try:
                async with asyncio.timeout(wall_seconds(self.clock, remaining)):
                    await self._sent.wait()
            except TimeoutError:
                return False
        return slave.heartbeats_sent != start

    async def serve(self) -> None:
        """Drive the bus while holding the lock (see the module docstring); returns only by cancellation."""
        async with self._lock:
            await self._run_forever()

    # ------------------------------------------------------------------ internals
    async def _run_forever(self) -> None:
        backoff = self.backoff_initial_s
        while True:
            try:
                link = await self._opener(self.port)
            except OSError as e:
                self.port_error = str(e)
                log.warning("TWC bus %s: %s; retrying in %.0f s", self.port, e, backoff)
                await self.clock.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            self.opens += 1
            self.port_error = None
            backoff = self.backoff_initial_s
            log.info("TWC bus %s open; sending linkready", self.port)
            try:
                await self._session(link)
            except PortLost as e:
                self.port_losses += 1
                self.port_error = str(e)
                log.warning("TWC bus %s lost (%s); reopening in %.0f s", self.port, e, backoff)
            finally:
                await link.close()
                if self.port_error is None:
                    self.port_error = "closed"
            await self.clock.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)

    async def _session(self, link: Link) -> None:
        self.protocol.start()
        self.deframer = Deframer(self.deframer.timeout_s)
        lost: PortLost | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._reader(link))
                tg.create_task(self._writer(link))
        except* PortLost as group:  # the task group wraps it; unwrap so the caller can reopen
            first = group.exceptions[0]
            lost = first if isinstance(first, PortLost) else PortLost(str(first))
        if lost is not None:
            raise lost

    async def _reader(self, link: Link) -> None:
        while True:
            data = await link.read()
            now = self.clock.now()
            for item in self.deframer.feed(data, now):
                if isinstance(item, FrameError):
                    log.debug("TWC bus %s: %s", self.port, item)
                    continue
                try:
                    self.protocol.on_message(item, now)
                except Exception:  # a bug in handling one message must not end the bus
                    log.exception("TWC bus %s: handling %r failed", self.port, item)

    async def _writer(self, link: Link) -> None:
        idle_s = self.settings.tx_interval_s / 10
        while True:
            now = self.clock.now()
            msg = self.protocol.poll(now)
            if msg is not None:
                await link.write(encode_frame(msg))
                self._sent.set()
                for listener in self.tx_listeners:
                    listener(msg, now)
                continue
            wait = self.protocol.next_tx_s() - now
            await self.clock.sleep(wait if wait > 0 else idle_s)
