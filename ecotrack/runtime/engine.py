"""The asynchronous runtime: tasks and I/O around the :class:`~ecotrack.runtime.house.House`.

The engine is the only place that owns tasks. It runs every meter, charger driver and service under one
:class:`asyncio.TaskGroup` with a supervisor that restarts it with backoff when it raises (a broken meter
or charger never takes the process down; the core's failsafe deals with the stale data). Everything it
decides, the house decides:

* a meter delivers its readings to the engine (it is every meter's
  :class:`~ecotrack.meters.base.MeterSink`); a new grid reading is one house step — event-driven, so a
  car reacts within one meter interval; a periodic tick (``tick_s``) steps too, for timers and the
  stale-data failsafe;
* charger reports reach the house as they arrive;
* one small actuator task per loadpoint sends what :meth:`House.next_command` allows (a hanging charger
  delays nobody else; a failed command is retried with backoff while it is still wanted).

After every step the engine publishes an immutable :class:`~ecotrack.runtime.snapshot.Snapshot` for the
API, MQTT and storage. On :meth:`Engine.stop` (or SIGINT/SIGTERM under :meth:`Engine.run_until_signal`)
it stops deciding, sets every charger to its safe current while the drivers still run (so real protocols
can deliver it), and only then cancels the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock, RealClock
from ecotrack.core.control import Controller
from ecotrack.core.model import ChargerReading, Decision, MeterReading, Mode, SiteParams
from ecotrack.meters.base import Source
from ecotrack.runtime.actuator import Actuator
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.loadpoint import ChargerFacts
from ecotrack.runtime.rules import ChargeNow, Rule
from ecotrack.runtime.sessions import Session
from ecotrack.runtime.setup import SiteSetup
from ecotrack.runtime.snapshot import Snapshot
from ecotrack.runtime.supervisor import Supervisor
from ecotrack.runtime.surface import EventListener, ServiceFactory, SessionListener, SnapshotListener
from ecotrack.vehicles.garage import Garage

__all__ = ["Engine"]

log = logging.getLogger(__name__)

#: Clock seconds between two snapshots published by timer ticks when no decision changed.
QUIET_PUBLISH_S = 5.0


class Engine:
    """Runs the meters, the house and the chargers of one site (see the module docstring).

    ``clock`` defaults to :class:`~ecotrack.clock.RealClock`; the demo passes a
    :class:`~ecotrack.clock.ScaledClock`. ``wall`` gives the wall time stamped on snapshots and seen by
    the rules (the demo passes its simulated time of day). ``rules`` is the rule list (default: energy
    limit, charge now, the user's mode). ``data_dir`` is where services keep their files.

    Timeouts (``command_timeout_s``, ``shutdown_timeout_s``) are wall seconds, because they guard real
    I/O; backoffs are clock seconds, because they pace the devices.
    """

    def __init__(
        self,
        setup: SiteSetup,
        sources: Mapping[str, Source],
        chargers: Mapping[str, Charger],
        clock: Clock | None = None,
        *,
        data_dir: Path | None = None,
        wall: Callable[[], datetime] | None = None,
        rules: Sequence[Rule] | None = None,
        command_timeout_s: float = 5.0,
        shutdown_timeout_s: float = 5.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        cut_confirm_timeout_s: float = 60.0,
        garage: Garage | None = None,
    ) -> None:
        self.setup = setup
        #: The vehicles and which one is on each loadpoint (their facts join the chargers' details).
        self.garage = garage
        self.clock: Clock = clock if clock is not None else RealClock()
        #: Where services keep their files (database, token); None in tests that need none.
        self.data_dir = data_dir
        self._wall = wall if wall is not None else (lambda: datetime.now(UTC))
        self.command_timeout_s = command_timeout_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.tick_s = float(setup.tick_s)

        self.sources: dict[str, Source] = dict(sources)
        self.chargers: dict[str, Charger] = dict(chargers)
        for role in setup.meters.names():
            if role not in self.sources:
                raise ValueError(f"site: unknown meter {role!r}")
        self.house = House(
            setup,
            {
                name: DriverLimits(c.max_a, c.step_a, c.safe_current_a, c.can_control, c.can_switch_phases)
                for name, c in self.chargers.items()
            },
            wall=self._wall,
            rules=rules,
            cut_confirm_timeout_s=cut_confirm_timeout_s,
        )
        #: Loadpoint name -> charger name.
        self.loadpoint_charger: dict[str, str] = dict(setup.loadpoint_chargers)

        self._supervisor = Supervisor(
            self.clock,
            self.sources,
            self.chargers,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            on_charger_down=self._charger_down,
            on_charger_restarted=self._charger_restarted,
        )
        #: One actuator per loadpoint: it sends what the house allows (see :mod:`ecotrack.runtime.actuator`).
        self._actuators: dict[str, Actuator] = {
            lp: Actuator(
                self.house,
                lp,
                self.chargers[charger],
                self.clock,
                tick_s=self.tick_s,
                command_timeout_s=command_timeout_s,
                backoff_initial_s=backoff_initial_s,
                backoff_max_s=backoff_max_s,
            )
            for lp, charger in self.loadpoint_charger.items()
        }
        self._snapshot: Snapshot | None = None
        self._queues: set[asyncio.Queue[Snapshot | None]] = set()
        self._listeners: list[SnapshotListener] = []
        self._stop_event = asyncio.Event()
        self._running = False
        self._deciding = False
        self._left_safe = False
        self._services: dict[str, ServiceFactory] = {}
        self._published_decision: Decision | None = None
        self._published_at_s = -math.inf
        self._published_commands: tuple[tuple[float | None, float | None, str | None], ...] = ()

        for charger in self.chargers.values():
            charger.add_listener(self._on_charger_reading)

    # ------------------------------------------------------------------ views kept for services and tests
    @property
    def site_params(self) -> SiteParams:
        """The core's site parameters (each loadpoint narrowed by its driver's limits)."""
        return self.house.params

    @property
    def controller(self) -> Controller:
        """The control core the house drives."""
        return self.house.controller

    @property
    def rules(self) -> list[Rule]:
        """The rule list, evaluated in order on every step."""
        return self.house.rules

    # ------------------------------------------------------------------ public API
    def snapshot(self) -> Snapshot:
        """The latest snapshot (built now if none was published yet)."""
        if self._snapshot is None:
            self._snapshot = self._build_snapshot(self.clock.now())
        return self._snapshot

    async def subscribe(self) -> AsyncIterator[Snapshot]:
        """Yield snapshots as they are published; ends when the engine stops.

        A slow subscriber only ever sees the latest snapshot (older ones are dropped).
        """
        queue: asyncio.Queue[Snapshot | None] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        try:
            while True:
                snap = await queue.get()
                if snap is None:
                    return
                yield snap
        finally:
            self._queues.discard(queue)

    def add_listener(self, listener: SnapshotListener) -> None:
        """Call ``listener(snapshot)`` synchronously after every step (keep it quick)."""
        self._listeners.append(listener)

    def add_session_listener(self, listener: SessionListener) -> None:
        """Call ``listener(kind, session)`` on session start, periodic update and end (keep it quick)."""
        self.house.add_session_listener(listener)

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for mode/rule changes, faults, failsafe and charge-now (keep it quick)."""
        self.house.add_event_listener(listener)

    def wall(self) -> datetime:
        """The engine's wall time (aware): real time, or the demo's simulated time of day."""
        return self._wall()

    def set_mode(self, loadpoint: str, mode: Mode | str) -> None:
        """Change a loadpoint's mode (user intent); KeyError for an unknown loadpoint, ValueError for a bad mode.

        The mode in force follows at once unless a rule ranks above the user's choice (charge now, an
        energy limit reached, a schedule): :meth:`mode_of` tells the mode in force, :meth:`user_mode_of`
        the choice.
        """
        self.house.set_mode(loadpoint, mode)
        self._changed()

    def mode_of(self, loadpoint: str) -> Mode:
        """The mode in force for ``loadpoint`` (KeyError when unknown)."""
        self.house.loadpoint(loadpoint)
        return self.house.controller.mode_of(loadpoint)

    def user_mode_of(self, loadpoint: str) -> Mode:
        """The mode the user chose for ``loadpoint`` (KeyError when unknown)."""
        return self.house.loadpoint(loadpoint).user_mode

    def current_range(self, loadpoint: str) -> tuple[float, float]:
        """The user's ``(min_a, max_a)`` for ``loadpoint``."""
        return self.house.loadpoint(loadpoint).user_range

    def set_current_range(
        self, loadpoint: str, min_a: float | None = None, max_a: float | None = None
    ) -> None:
        """Set the user's minimum and/or maximum current (A) of a loadpoint.

        Only inside the configured range (the configuration is where the wiring's limits live);
        ValueError naming the bound otherwise, KeyError for an unknown loadpoint.
        """
        self.house.set_current_range(loadpoint, min_a, max_a)
        self._changed()

    def charge_now(
        self, loadpoint: str, amps: float | None = None, until: datetime | None = None
    ) -> ChargeNow:
        """Charge at full power (or ``amps``, within the configured range) until ``until`` or cancelled.

        ``until`` must be timezone-aware and in the future. Returns the request in force.
        """
        request = self.house.charge_now(loadpoint, amps, until)
        self._changed()
        return request

    def set_phases(self, loadpoint: str, choice: int | str | None) -> None:
        """Fix a loadpoint on 1 or 3 phases, or let it switch (``auto``/None).

        KeyError for an unknown loadpoint; ValueError when its charger cannot switch or the choice is not
        1, 3 or auto. A switch pauses the charge, waits for the charger to confirm 0 A, switches and
        resumes (:mod:`ecotrack.core.phases`).
        """
        lp = self.house.loadpoint(loadpoint)
        if not lp.switchable and str(choice) == str(lp.phases):
            return  # a loadpoint fixed on that count: nothing to do
        self.house.set_phases(loadpoint, choice)
        self._changed()

    def cancel_charge_now(self, loadpoint: str) -> bool:
        """End a charge-now request; False when there was none."""
        had = self.house.cancel_charge_now(loadpoint)
        self._changed()
        return had

    def set_energy_limit(self, loadpoint: str, kwh: float | None) -> None:
        """Stop the session's charge once it has taken ``kwh`` (None or 0: no limit)."""
        self.house.set_energy_limit(loadpoint, kwh)
        self._changed()

    def vehicle_names(self) -> list[str]:
        """The configured vehicles, sorted (empty without a vehicles: section)."""
        return sorted(self.garage.vehicles) if self.garage is not None else []

    def choose_vehicle(self, loadpoint: str, vehicle: str | None) -> None:
        """The user's choice of car on ``loadpoint`` (None: automatic, by VIN then the default).

        KeyError for an unknown loadpoint or vehicle (or when no vehicle is configured).
        """
        self.house.loadpoint(loadpoint)
        if self.garage is None:
            if vehicle is None:
                return
            raise KeyError(f"unknown vehicle {vehicle!r} (no vehicles: section)")
        self.garage.choose(loadpoint, vehicle)
        self._changed()

    def restore_session(self, session: Session) -> None:
        """Hand back an open session recorded before a restart (crash recovery by the store).

        It continues when the car is still connected at the next report, else it ends with the energy
        counted so far. ValueError for an ended session, KeyError for an unknown loadpoint.
        """
        self.house.restore_session(session)

    def session_of(self, loadpoint: str) -> Session | None:
        """The loadpoint's open session, or None."""
        return self.house.loadpoint(loadpoint).tracker.session

    def add_service(self, name: str, factory: ServiceFactory) -> None:
        """Run ``factory()`` alongside the devices (MQTT, HTTP, the store), restarted with backoff on failure.

        Services are cancelled when the engine stops, after every charger was left at its safe
        current, so they can still report that. Add them before :meth:`run`.
        """
        if self._running:
            raise RuntimeError("services must be added before the engine runs")
        self._supervisor.add_service(name)
        self._services[name] = factory

    def report_service_error(self, name: str, error: str | None) -> None:
        """A running service tells its health (e.g. MQTT broker unreachable); shown in the devices."""
        self._supervisor.report_service_error(name, error)

    def _changed(self) -> None:
        """A user setting changed: decide again now (or just apply the rules when not running)."""
        if self._deciding:
            self._step(self.clock.now())
        else:
            self.house.apply_rules(_soc(self._details()))

    def stop(self) -> None:
        """Ask :meth:`run` to shut down cleanly (safe to call from a signal handler, or twice)."""
        self._stop_event.set()

    async def run_until_signal(
        self, signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
    ) -> None:
        """:meth:`run` with SIGINT/SIGTERM handlers that call :meth:`stop`."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in signals:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                log.debug("cannot install a handler for %s", sig.name)
        try:
            await self.run()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def run(self) -> None:
        """Run everything until :meth:`stop`; chargers are left at their safe current on return."""
        if self._running:
            raise RuntimeError("engine is already running")
        self._running = True
        self._left_safe = False
        log.info("engine starting: %s", self.setup.summary)
        try:
            async with asyncio.TaskGroup() as tg:
                service_tasks = [
                    tg.create_task(self._supervisor.run("service", n, f), name=f"service:{n}")
                    for n, f in self._services.items()
                ]
                charger_tasks = [
                    tg.create_task(self._supervisor.run("charger", n, c.run), name=f"charger:{n}")
                    for n, c in self.chargers.items()
                ]
                control_tasks = [
                    tg.create_task(self._supervisor.run("meter", n, self._meter_runner(s)), name=f"meter:{n}")
                    for n, s in self.sources.items()
                ]
                control_tasks += [
                    tg.create_task(actuator.run(), name=f"actuate:{lp}")
                    for lp, actuator in self._actuators.items()
                ]
                self._deciding = True
                control_tasks.append(tg.create_task(self._ticker(), name="tick"))
                await self._stop_event.wait()
                log.info("engine stopping")
                self._deciding = False
                for t in control_tasks:
                    t.cancel()
                await asyncio.gather(*control_tasks, return_exceptions=True)
                await self._leave_safe()
                for t in charger_tasks:
                    t.cancel()
                await asyncio.gather(*charger_tasks, return_exceptions=True)
                for t in service_tasks:
                    t.cancel()
        finally:
            self._deciding = False
            if not self._left_safe:  # crashed or cancelled: still try to leave the chargers safe
                with contextlib.suppress(Exception):
                    await self._leave_safe()
            self._running = False
            self._stop_event.clear()
            for queue in self._queues:
                self._offer(queue, None)
            log.info("engine stopped")

    # ------------------------------------------------------------------ tasks
    def _meter_runner(self, source: Source) -> Callable[[], Any]:
        """Start ``source`` delivering its readings to this engine (:meth:`on_meter_reading`)."""

        def start() -> Any:
            return source.run(self)

        return start

    def _charger_down(self, charger: str) -> None:
        """A driver failed or returned: the house must stop counting on its measurements."""
        self.house.charger_lost(charger, self.clock.now())

    def _charger_restarted(self, charger: str) -> None:
        """A restarted driver may have lost its state: send its loadpoint's command again."""
        lp = self.house.by_charger.get(charger)
        if lp is not None:
            self.house.resend(lp)
            self._wake_actuators()

    async def _ticker(self) -> None:
        """Step every ``tick_s`` clock seconds (timers, stale-data failsafe)."""
        next_t = self.clock.now()
        while True:
            try:
                self._step(self.clock.now(), tick=True)
            except Exception:  # a bug here must not end the task group (and with it the engine)
                log.exception("engine tick failed; carrying on")
            next_t += self.tick_s
            now = self.clock.now()
            if next_t < now:  # fell behind (slow loop, high clock speed): do not try to catch up
                next_t = now + self.tick_s
            await self.clock.sleep(next_t - now)

    async def _leave_safe(self) -> None:
        """Set every charger to its safe current (concurrently, each with a timeout) and log the outcome."""

        async def one(charger: Charger) -> None:
            safe = charger.safe_current_a
            try:
                async with asyncio.timeout(self.shutdown_timeout_s):
                    await charger.set_current(safe)
            except Exception as exc:
                reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                log.error(
                    "charger %s: could not be left at its safe current %g A (%s)", charger.name, safe, reason
                )
                return
            lp = self.house.by_charger.get(charger.name)
            if lp is not None:
                self.house.left_safe(lp, safe)
            log.info("charger %s left at %g A", charger.name, safe)

        await asyncio.gather(*(one(c) for c in self.chargers.values()))
        self._left_safe = True
        self._publish(self._build_snapshot(self.clock.now()))

    # ------------------------------------------------------------------ events in
    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s, shutting down", sig.name)
        self.stop()

    def on_meter_reading(self, meter: str, reading: MeterReading) -> None:
        """A meter's reading (the engine is every meter's :class:`~ecotrack.meters.base.MeterSink`).

        A new grid reading is one step of the house.
        """
        source = self.sources.get(meter)
        if source is None:
            log.warning("reading from unknown meter %r ignored", meter)
            return
        source.error = None
        self._supervisor.alive("meter", meter)
        if not self._deciding:
            self.house.record_meter_reading(meter, reading)
            return
        self.house.on_meter_reading(meter, reading)
        if meter == self.setup.meters.grid_meter:
            self._step(self.clock.now())

    def _on_charger_reading(self, charger: str, reading: ChargerReading) -> None:
        self._supervisor.alive("charger", charger)
        driver = self.chargers.get(charger)
        details = _safe_details(driver) if driver is not None else {}
        lp = self.house.by_charger.get(charger)
        if self.garage is not None and lp is not None:
            details = self.garage.details(lp, details)  # the car's SoC goes into the session
        self.house.on_charger_reading(charger, reading, details)

    # ------------------------------------------------------------------ stepping
    def _details(self) -> dict[str, dict[str, object]]:
        """Each loadpoint's charger details, asked once per step (rules and snapshot both use them)."""
        details = {lp: _safe_details(self.chargers[charger]) for lp, charger in self.loadpoint_charger.items()}
        if self.garage is not None:
            details = {lp: self.garage.details(lp, facts) for lp, facts in details.items()}
        return details

    def _step(self, now_s: float, *, tick: bool = False) -> None:
        """One house step: wake the actuators, log changes, publish a snapshot.

        A timer tick that changed no decision publishes only every :data:`QUIET_PUBLISH_S` (ages and
        device health move on, nothing else did): an idle daemon then does not rebuild and fan out a
        snapshot to every service each second. Meter readings, user intents and any new decision publish
        at once; a command delivered or failed since the last publish (a failsafe cut sent after the step
        that decided it) publishes at the next tick.
        """
        details = self._details()
        decision = self.house.step(now_s, _soc(details))
        self._wake_actuators()
        if (
            tick
            and decision is not None
            and decision is self._published_decision
            and self.house.command_state() == self._published_commands
            and now_s - self._published_at_s < QUIET_PUBLISH_S
        ):
            return
        # Commands are on their way; a bug in logging or in the snapshot must not stop the next step
        # (nor, called from a meter's callback, look like a meter failure).
        try:
            if decision is not None:
                self.house.log_decision(decision)
            snap = self._build_snapshot(now_s, details)
            self.house.watch(snap)
            self._published_decision, self._published_at_s = decision, now_s
            self._published_commands = self.house.command_state()
            self._publish(snap)
        except Exception:
            log.exception("publishing the step at %.1f s failed", now_s)

    def _wake_actuators(self) -> None:
        for actuator in self._actuators.values():
            actuator.wake_if_needed()

    # ------------------------------------------------------------------ snapshots
    def _facts(self, lp: str, details: dict[str, object]) -> ChargerFacts:
        charger = self.chargers[self.loadpoint_charger[lp]]
        return ChargerFacts(
            reading=self.house.accepted_reports.get(lp),
            error=charger.error,
            running=self._supervisor.running("charger", charger.name),
            details=details,
        )

    def _build_snapshot(self, now_s: float, details: dict[str, dict[str, object]] | None = None) -> Snapshot:
        """The snapshot at ``now_s``; ``details`` are the chargers' details the step already asked for."""
        house = self.house
        if details is None:
            details = self._details()

        def last_t_s(kind: str, name: str) -> float | None:
            if kind == "meter":
                last = house.meter_readings.get(name)
                return last.t_s if last is not None else None
            report = self.chargers[name].reading()
            return report.t_s if report is not None else None

        devices = self._supervisor.statuses(now_s, last_t_s, house.params.max_meter_age_s)
        site = house.site
        decision = house.decision
        grid_reading = house.meter_readings.get(self.setup.meters.grid_meter)
        return Snapshot(
            t_s=now_s,
            time=self._wall(),
            grid_w=site.grid_w if site is not None else None,
            pv_w=site.pv_w if site is not None else None,
            battery_w=site.battery_w if site is not None else None,
            battery_soc_pct=site.battery_soc_pct if site is not None else None,
            voltage_v=site.voltage_v if site is not None else None,
            surplus_w=decision.surplus_w if decision is not None else None,
            data_age_s=house.data_age_s(now_s),
            failsafe=house.failsafe(),
            loadpoints=house.loadpoint_snapshots(
                {lp: self._facts(lp, details[lp]) for lp in self.loadpoint_charger}
            ),
            devices=devices,
            decision=decision,
            grid_voltages_v=_phases(grid_reading.voltages_v) if grid_reading is not None else None,
            grid_currents_a=_phases(grid_reading.currents_a) if grid_reading is not None else None,
        )

    def _publish(self, snap: Snapshot) -> None:
        self._snapshot = snap
        for queue in self._queues:
            self._offer(queue, snap)
        for listener in self._listeners:
            try:
                listener(snap)
            except Exception:
                log.exception("snapshot listener failed")

    @staticmethod
    def _offer(queue: asyncio.Queue[Snapshot | None], item: Snapshot | None) -> None:
        """Put ``item`` in a one-slot queue, dropping what a slow reader has not taken yet."""
        if queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(item)


def _phases(values: Iterable[float | None] | None) -> tuple[float, ...] | None:
    """Per-phase values as a tuple of finite floats, or None when absent or broken."""
    if values is None:
        return None
    out = tuple(v for v in values if isinstance(v, int | float) and math.isfinite(v))
    return out or None


def _soc(details: dict[str, dict[str, object]]) -> dict[str, float | None]:
    """Each loadpoint's car state of charge as its charger driver reports it (``soc_pct`` in its details)."""
    out: dict[str, float | None] = {}
    for lp, facts in details.items():
        soc = facts.get("soc_pct")
        out[lp] = float(soc) if isinstance(soc, int | float) and not isinstance(soc, bool) else None
    return out


def _safe_details(charger: Charger) -> dict[str, object]:
    """The driver's details; a driver bug shows as an empty dict, not a failed step."""
    try:
        return dict(charger.details())
    except Exception:
        log.exception("charger %s: details() failed", charger.name)
        return {}
