"""The engine's view of one TWC: a :class:`~ecotrack.chargers.base.Charger` on a shared RS485 bus.

Each configured TWC is one charger. Its ``run()`` helps drive the shared :class:`TwcBus` (one of the
chargers on a port does it at a time) and re-reports the last known state at least every
``report_interval_s`` (<= 60 s), so the engine never takes a quiet but healthy TWC for a lost one.
A report is also published on every heartbeat reply of its TWC.

``set_current`` takes whole amps (``step_a`` = 1). Nonsense (NaN, infinite, negative) is logged and
treated as 0 A. A cut waits until the heartbeat carrying it has gone out (it jumps the round-robin,
so that is about one slot), which is what makes "left at 0 A" on shutdown true on the wire; a raise
returns at once and goes out in the TWC's next slot. The limits the master enforces (the TWC's own
maximum, ``max_a``, ``bus_max_a``) apply whatever is asked.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.chargers.twc.bus import TwcBus
from ecotrack.chargers.twc.master import STATE_NAMES, MasterSettings, SlaveState, TwcTarget
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext

__all__ = ["TwcCharger"]

log = logging.getLogger(__name__)

#: Clock seconds a cut waits for its heartbeat before set_current returns anyway.
CUT_WAIT_S = 4.0


class TwcCharger(Charger):
    """One Gen2 TWC slave, controlled through the bus's master."""

    step_a = 1.0
    safe_current_a = 0.0

    def __init__(
        self,
        name: str,
        bus: TwcBus,
        clock: Clock,
        *,
        max_a: float,
        phases: int = 1,
        voltage_v: float = 230.0,
        report_interval_s: float = 10.0,
    ) -> None:
        super().__init__(name)
        if not 0 < report_interval_s <= 60:
            raise ValueError(
                f"charger {name!r}: report_interval_s must be in (0, 60], not {report_interval_s}"
            )
        self.bus = bus
        self.clock = clock
        self.max_a = float(max_a)
        self.phases = phases
        self.voltage_v = voltage_v
        self.report_interval_s = report_interval_s
        self.requested_a = 0.0
        self.rejected = 0
        self._last_report_s: float | None = None
        bus.protocol.listeners.append(self._on_slave)

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> TwcCharger:
        """Build from a :class:`~ecotrack.chargers.twc.config.TwcChargerConfig`; chargers on one port share a bus."""
        port = str(config.port)
        master_id = int(config.master_id, 16)
        bus = context.shared(
            ("twc-bus", port),
            lambda: TwcBus(
                port, MasterSettings(master_id=master_id, withhold_s=float(config.withhold_s)), context.clock
            ),
        )
        target = TwcTarget(
            name=name,
            twc_id=int(config.twc_id, 16) if config.twc_id is not None else None,
            max_a=float(config.max_a),
            stop_method=config.stop_method,
            spike=bool(config.spike),
        )
        bus.add_target(target, config.bus_max_a, master_id)
        return cls(
            name,
            bus,
            context.clock,
            max_a=float(config.max_a),
            phases=int(config.phases),
            voltage_v=float(config.voltage_v),
            report_interval_s=float(config.report_interval_s),
        )

    # ------------------------------------------------------------------ Charger API
    async def run(self) -> None:
        """Help drive the bus and re-report the state periodically, until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.bus.serve())
            tg.create_task(self._report_loop())

    async def set_current(self, amps: float) -> None:
        """Offer ``amps`` (whole amps, capped by the master's limits); see the module docstring."""
        if not isinstance(amps, int | float) or not math.isfinite(amps) or amps < 0:
            self.rejected += 1
            log.warning("charger %s: rejected command %r A; offering 0 A instead", self.name, amps)
            amps = 0.0
        amps = min(float(amps), self.max_a)
        self.requested_a = amps
        if self.bus.request(self.name, amps):
            await self.bus.wait_heartbeat(self.name, CUT_WAIT_S)

    async def stop_charging(self) -> None:
        """Run the configured ``stop_method`` (``FC B2`` or withheld heartbeats) whatever the protocol."""
        self.requested_a = 0.0
        self.bus.request(self.name, 0.0)
        if self.bus.protocol.force_stop(self.name):
            log.warning("charger %s: running its stop method (0 A was not enough)", self.name)

    def details(self) -> dict[str, object]:
        """Facts about the TWC for the state/API: ID, protocol, state, VIN, lifetime kWh, voltages."""
        slave = self.slave()
        out: dict[str, object] = {
            "port": self.bus.port,
            "port_error": self.bus.port_error,
            "linked": slave is not None,
            "requested_a": self.requested_a,
        }
        if slave is None:
            return out
        out.update(
            {
                "twc_id": f"{slave.twc_id:04X}",
                "protocol": slave.protocol,
                "unit_max_a": slave.unit_max_a,
                "state": STATE_NAMES.get(slave.state, f"0x{slave.state:02X}")
                if slave.state is not None
                else None,
                "offered_a": slave.echo_a,
                "granted_a": slave.sent_a,
                "actual_a": slave.actual_a,
                "vin": slave.vin,
                "lifetime_kwh": slave.lifetime_kwh,
                "voltages_v": list(slave.volts) if slave.volts is not None else None,
                "stopping": slave.withhold_until_s is not None or slave.stopped_by_b2,
            }
        )
        return out

    # ------------------------------------------------------------------ internals
    def slave(self) -> SlaveState | None:
        """The linked TWC this charger is bound to, if any."""
        return self.bus.protocol.slave_of(self.name)

    async def _report_loop(self) -> None:
        while True:
            now = self.clock.now()
            self.error = self.bus.port_error if self.bus.port_error not in (None, "not opened yet") else None
            if self._last_report_s is None or now - self._last_report_s >= self.report_interval_s:
                self._report(now)
            wait = (
                self.report_interval_s
                if self._last_report_s is None
                else self._last_report_s + self.report_interval_s - now
            )
            await self.clock.sleep(max(min(wait, self.report_interval_s), self.report_interval_s / 10))

    def _on_slave(self, target: str | None, slave: SlaveState) -> None:
        if target == self.name:
            self._report(self.clock.now())

    def _report(self, now: float) -> None:
        self._last_report_s = now
        slave = self.slave()
        if slave is None or self.bus.port_error is not None:
            last = self.reading()
            self._publish(
                ChargerReading(
                    t_s=now,
                    connected=last.connected if last is not None and slave is not None else False,
                    charging=False,
                    online=False,
                )
            )
            return
        volts = [v for v in (slave.volts or ()) if v >= 50]
        per_phase_v = sum(volts) / len(volts) if volts else self.voltage_v
        self._publish(
            ChargerReading(
                t_s=now,
                connected=slave.connected,
                charging=slave.charging,
                actual_a=slave.actual_a,
                power_w=slave.actual_a * per_phase_v * self.phases,
                voltage_v=per_phase_v,
                offered_a=slave.echo_a,
                online=True,
            )
        )
