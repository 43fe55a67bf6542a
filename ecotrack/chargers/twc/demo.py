"""A simulated TWC for ``ecotrack demo``: one protocol-2 EU slave with a car, on a pty pair.

The demo's real TWC driver and master open the pty's tty end as their serial port, exactly as they
would open a USB-RS485 adapter; the simulated slave answers on the other end. Its car's power is
registered in the demo's :class:`~ecotrack.chargers.base.SimulatedWorld`, so the replayed grid meter
sees it and the loop is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.clock import Clock

__all__ = ["DemoTwc"]


class DemoTwc:
    """The pty pair, the simulated slave and the task serving it."""

    name = "twc"

    def __init__(self, clock: Clock, voltage_v: float = 230.0) -> None:
        self.clock = clock
        self.voltage_v = voltage_v
        self.slave = SimulatedSlave(SlaveParams(twc_id=0x1839, sign=0x52, protocol=2, unit_max_a=32.0))
        self._sim_fd, self._tty_fd, self.port = open_pty()
        self.sim = SimulatedBus([self.slave], clock, tick_s=0.5)
        self._task: asyncio.Task[None] | None = None

    def power_w(self) -> float:
        """Power the simulated car draws now (W), for the replayed grid meter."""
        return self.slave.actual_a * self.voltage_v

    def start(self) -> None:
        """Start answering on the pty (call inside the running event loop)."""
        self._task = asyncio.create_task(self.sim.run(self._sim_fd), name="demo-twc-slave")

    async def close(self) -> None:
        """Stop the slave and close the pty pair."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for fd in (self._sim_fd, self._tty_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
