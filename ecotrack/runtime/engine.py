"""The asynchronous runtime: meters in, the pure core in the middle, chargers out.

The engine is the only place that owns tasks. It builds the sources and chargers
named in the configuration through the registries, runs each under one
:class:`asyncio.TaskGroup` with a supervisor that restarts it with backoff when it
raises (a broken meter or charger never takes the process down; the core's
failsafe deals with the stale data), and drives the core:

* every new reading of the site's grid meter becomes a
  :class:`~ecotrack.core.model.SiteReading` (grid from the grid meter, PV summed
  over the PV meters, battery from the battery meter) followed by a
  ``Controller.step`` — event-driven, so the car reacts within one meter interval;
* a periodic tick (``control.tick_s``) steps the core too, for its timers and the
  stale-data failsafe;
* charger reports are fed to the core as they arrive.

Commands go to a charger only when the commanded current changes (one small
actuator task per loadpoint, so a hanging charger delays nobody else; a failed
command is retried with backoff while it is still wanted). After every step the
engine publishes an immutable :class:`Snapshot` for the API, MQTT and storage.

On :meth:`Engine.stop` (or SIGINT/SIGTERM under :meth:`Engine.run_until_signal`)
it stops deciding, sets every charger to its safe current while the drivers are
still running (so real protocols can deliver it), and only then cancels the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock, RealClock
from ecotrack.core.control import Controller, check_current_range
from ecotrack.core.model import (
    ChargerReading,
    Decision,
    LoadpointDecision,
    LoadpointParams,
    Mode,
    SiteReading,
)
from ecotrack.core.safety import build_limits
from ecotrack.core.site import combine
from ecotrack.meters.base import MeterReading, Source
from ecotrack.runtime.rules import ChargeNow, Rule, RuleContext, default_rules, evaluate
from ecotrack.runtime.sessions import Session, SessionTracker
from ecotrack.runtime.setup import SiteSetup
from ecotrack.runtime.snapshot import DeviceStatus, Event, LoadpointSnapshot, Snapshot
from ecotrack.runtime.surface import EventListener, ServiceFactory, SessionListener, SnapshotListener

__all__ = ["Engine"]

log = logging.getLogger(__name__)




@dataclass(slots=True)
class _DeviceState:
    kind: str
    failures: int = 0
    running: bool = False


class Engine:
    """Runs the sources, the core and the chargers of one configuration.

    ``clock`` defaults to :class:`~ecotrack.clock.RealClock`; the demo passes a
    :class:`~ecotrack.clock.ScaledClock`. The registries default to the global
    ones; tests pass their own to inject failing devices. ``base_dir`` resolves
    relative paths (trace files) in the configuration. ``data_dir`` is where
    services keep their files. ``wall`` gives the wall time stamped on snapshots
    and seen by the rules (the demo passes its simulated time of day).

    Timeouts (``command_timeout_s``, ``shutdown_timeout_s``) are wall seconds,
    because they guard real I/O; backoffs are clock seconds, because they pace
    the devices.
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
    ) -> None:
        self.setup = setup
        self.cut_confirm_timeout_s = cut_confirm_timeout_s
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
        self.loadpoint_charger: dict[str, str] = {}
        users: dict[str, str] = {}
        for lp_name, charger_name in setup.loadpoint_chargers.items():
            if charger_name not in self.chargers:
                raise ValueError(f"loadpoint {lp_name!r}: unknown charger {charger_name!r}")
            if charger_name in users:
                raise ValueError(
                    f"loadpoints {users[charger_name]!r} and {lp_name!r} both use charger {charger_name!r}"
                )
            users[charger_name] = lp_name
            self.loadpoint_charger[lp_name] = charger_name
        self._charger_loadpoint = users

        site = setup.params
        self.site_params = dataclasses.replace(
            site, loadpoints=tuple(self._with_driver_limits(lp) for lp in site.loadpoints)
        )
        self.controller = Controller(self.site_params)
        limits = build_limits(self.site_params)
        #: Loadpoints sharing a circuit or the wiring limit with each loadpoint (a raise waits for their cuts).
        self._sharing: dict[str, tuple[str, ...]] = {
            lp: tuple(
                other
                for other in self.loadpoint_charger
                if other != lp
                and (limits.wiring_limit_a is not None or set(limits.chain[lp]) & set(limits.chain[other]))
            )
            for lp in self.loadpoint_charger
        }

        self._devices: dict[tuple[str, str], _DeviceState] = {
            **{("meter", n): _DeviceState("meter") for n in self.sources},
            **{("charger", n): _DeviceState("charger") for n in self.chargers},
        }
        self._latest: dict[str, MeterReading] = {}
        self._site: SiteReading | None = None
        self._decision: Decision | None = None
        self._desired: dict[str, float] = dict.fromkeys(self.loadpoint_charger, 0.0)
        self._sent: dict[str, float | None] = dict.fromkeys(self.loadpoint_charger, None)
        self._command_error: dict[str, str | None] = dict.fromkeys(self.loadpoint_charger, None)
        self._wake: dict[str, asyncio.Event] = {lp: asyncio.Event() for lp in self.loadpoint_charger}
        self._logged: dict[str, tuple[float, str]] = {}
        self._snapshot: Snapshot | None = None
        self._queues: set[asyncio.Queue[Snapshot | None]] = set()
        self._listeners: list[SnapshotListener] = []
        self._stop_event = asyncio.Event()
        self._running = False
        self._deciding = False
        self._left_safe = False

        #: The rule list, evaluated in order on every step (see :mod:`ecotrack.runtime.rules`).
        self.rules: list[Rule] = list(rules) if rules is not None else default_rules()
        by_lp = {lp.name: lp for lp in self.site_params.loadpoints}
        self._user_mode: dict[str, Mode] = {lp: by_lp[lp].mode for lp in self.loadpoint_charger}
        self._limit_range: dict[str, tuple[float, float]] = {
            lp: (by_lp[lp].min_a, by_lp[lp].max_a) for lp in self.loadpoint_charger
        }
        self._user_range: dict[str, tuple[float, float]] = dict(self._limit_range)
        self._charge_now: dict[str, ChargeNow | None] = dict.fromkeys(self.loadpoint_charger)
        self._energy_limit_wh: dict[str, float | None] = dict.fromkeys(self.loadpoint_charger)
        self._active_rule: dict[str, str] = dict.fromkeys(self.loadpoint_charger, "manual")
        self._trackers: dict[str, SessionTracker] = {
            lp: SessionTracker(lp, ch) for lp, ch in self.loadpoint_charger.items()
        }
        self._session_listeners: list[SessionListener] = []
        self._event_listeners: list[EventListener] = []
        self._services: dict[str, ServiceFactory] = {}
        self._service_errors: dict[str, str | None] = {}
        self._was_failsafe = False
        self._faults: dict[str, str | None] = dict.fromkeys(self.loadpoint_charger)

        for charger in self.chargers.values():
            charger.add_listener(self._on_charger_reading)

    def _with_driver_limits(self, lp: LoadpointParams) -> LoadpointParams:
        """``lp`` limited by what its driver says the hardware does.

        The core never exceeds the lower of the configured and the driver's maximum, and uses the
        coarser of the loadpoint's and the driver's current step (a whole-amp charger is never sent
        tenths).
        """
        driver = self.chargers[self.loadpoint_charger[lp.name]]
        charger_max = driver.max_a if lp.charger_max_a is None else min(lp.charger_max_a, driver.max_a)
        return dataclasses.replace(lp, charger_max_a=charger_max, step_a=max(lp.step_a, driver.step_a))

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

    def wall(self) -> datetime:
        """The engine's wall time (aware): real time, or the demo's simulated time of day."""
        return self._wall()

    def set_mode(self, loadpoint: str, mode: Mode | str) -> None:
        """Change a loadpoint's mode (user intent); KeyError for an unknown loadpoint, ValueError for a bad mode.

        The mode in force follows at once unless a rule ranks above the user's choice (charge now, an
        energy limit reached, a schedule): :meth:`mode_of` tells the mode in force, :meth:`user_mode_of`
        the choice.
        """
        self._check(loadpoint)
        new = Mode(mode)
        old = self._user_mode[loadpoint]
        self._user_mode[loadpoint] = new
        if new != old:
            log.info("%s: mode %s -> %s", loadpoint, old.value, new.value)
            self._emit_event("mode", loadpoint, f"mode {old.value} -> {new.value}")
        self._changed()

    def mode_of(self, loadpoint: str) -> Mode:
        """The mode in force for ``loadpoint`` (KeyError when unknown)."""
        self._check(loadpoint)
        return self.controller.mode_of(loadpoint)

    def user_mode_of(self, loadpoint: str) -> Mode:
        """The mode the user chose for ``loadpoint`` (KeyError when unknown)."""
        self._check(loadpoint)
        return self._user_mode[loadpoint]

    def current_range(self, loadpoint: str) -> tuple[float, float]:
        """The user's ``(min_a, max_a)`` for ``loadpoint``."""
        self._check(loadpoint)
        return self._user_range[loadpoint]

    def set_current_range(self, loadpoint: str, min_a: float | None = None, max_a: float | None = None) -> None:
        """Set the user's minimum and/or maximum current (A) of a loadpoint.

        Only inside the configured range (the configuration is where the wiring's limits live);
        ValueError naming the bound otherwise, KeyError for an unknown loadpoint.
        """
        self._check(loadpoint)
        lo_cfg, hi_cfg = self._limit_range[loadpoint]
        lo_old, hi_old = self._user_range[loadpoint]
        lo = lo_old if min_a is None else float(min_a)
        hi = hi_old if max_a is None else float(max_a)
        if max_a is not None and min_a is None and lo > hi:
            lo = max(lo_cfg, hi)  # lowering the maximum below the minimum takes the minimum along
        if min_a is not None and max_a is None and lo > hi:
            hi = min(hi_cfg, lo)
        check_current_range(lo, hi, lo_cfg, hi_cfg)
        if (lo, hi) != (lo_old, hi_old):
            self._user_range[loadpoint] = (lo, hi)
            self._emit_event("current-range", loadpoint, f"current range {lo:g}-{hi:g} A")
        self._changed()

    def charge_now(self, loadpoint: str, amps: float | None = None, until: datetime | None = None) -> ChargeNow:
        """Charge at full power (or ``amps``, within the configured range) until ``until`` or cancelled.

        ``until`` must be timezone-aware and in the future. Returns the request in force.
        """
        self._check(loadpoint)
        lo_cfg, hi_cfg = self._limit_range[loadpoint]
        if amps is not None:
            amps = float(amps)
            if not math.isfinite(amps) or not lo_cfg - 1e-9 <= amps <= hi_cfg + 1e-9:
                raise ValueError(f"amps must be between {lo_cfg:g} and {hi_cfg:g} A, got {amps!r}")
        now = self._wall()
        if until is not None:
            if until.tzinfo is None:
                raise ValueError("until must carry a timezone")
            if until <= now:
                raise ValueError(f"until {until.isoformat()} is not in the future")
        request = ChargeNow(started=now, amps=amps, until=until)
        self._charge_now[loadpoint] = request
        what = f"{amps:g} A" if amps is not None else "full power"
        self._emit_event(
            "charge-now", loadpoint, f"charge now at {what}" + (f" until {until.isoformat()}" if until else "")
        )
        self._changed()
        return request

    def cancel_charge_now(self, loadpoint: str) -> bool:
        """End a charge-now request; False when there was none."""
        self._check(loadpoint)
        had = self._charge_now[loadpoint] is not None
        self._charge_now[loadpoint] = None
        if had:
            self._emit_event("charge-now", loadpoint, "charge now cancelled")
        self._changed()
        return had

    def set_energy_limit(self, loadpoint: str, kwh: float | None) -> None:
        """Stop the session's charge once it has taken ``kwh`` (None or 0: no limit)."""
        self._check(loadpoint)
        if kwh is not None and (not math.isfinite(kwh) or kwh < 0 or kwh > 1000):
            raise ValueError(f"energy limit must be between 0 and 1000 kWh, got {kwh!r}")
        wh = None if not kwh else float(kwh) * 1000.0
        if wh != self._energy_limit_wh[loadpoint]:
            self._energy_limit_wh[loadpoint] = wh
            self._emit_event(
                "energy-limit", loadpoint, "energy limit removed" if wh is None else f"energy limit {kwh:g} kWh"
            )
        self._changed()

    def add_session_listener(self, listener: SessionListener) -> None:
        """Call ``listener(kind, session)`` on session start, periodic update and end (keep it quick)."""
        self._session_listeners.append(listener)

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for mode/rule changes, faults, failsafe and charge-now (keep it quick)."""
        self._event_listeners.append(listener)

    def restore_session(self, session: Session) -> None:
        """Hand back an open session recorded before a restart (crash recovery by the store).

        It continues when the car is still connected at the next report, else it ends with the energy
        counted so far. ValueError for an ended session, KeyError for an unknown loadpoint.
        """
        self._check(session.loadpoint)
        self._trackers[session.loadpoint].restore(session)

    def session_of(self, loadpoint: str) -> Session | None:
        """The loadpoint's open session, or None."""
        self._check(loadpoint)
        return self._trackers[loadpoint].session

    def add_service(self, name: str, factory: ServiceFactory) -> None:
        """Run ``factory()`` alongside the devices (MQTT, HTTP, the store), restarted with backoff on failure.

        Services are cancelled when the engine stops, after every charger was left at its safe
        current, so they can still report that. Add them before :meth:`run`.
        """
        if self._running:
            raise RuntimeError("services must be added before the engine runs")
        if name in self._services:
            raise ValueError(f"a service called {name!r} exists already")
        self._services[name] = factory
        self._service_errors[name] = None
        self._devices[("service", name)] = _DeviceState("service")

    def report_service_error(self, name: str, error: str | None) -> None:
        """A running service tells its health (e.g. MQTT broker unreachable); shown in the devices."""
        if name not in self._service_errors:
            raise KeyError(name)
        self._service_errors[name] = error

    def _check(self, loadpoint: str) -> None:
        if loadpoint not in self.loadpoint_charger:
            raise KeyError(loadpoint)

    def _changed(self) -> None:
        """A user setting changed: decide again now (or on the next step when not running)."""
        if self._deciding:
            self._step(self.clock.now())
        else:
            self._apply_rules()

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
                    tg.create_task(self._supervise("service", n, f), name=f"service:{n}")
                    for n, f in self._services.items()
                ]
                charger_tasks = [
                    tg.create_task(self._supervise("charger", n, c.run), name=f"charger:{n}")
                    for n, c in self.chargers.items()
                ]
                control_tasks = [
                    tg.create_task(self._supervise("meter", n, self._meter_runner(s)), name=f"meter:{n}")
                    for n, s in self.sources.items()
                ]
                control_tasks += [
                    tg.create_task(self._actuate(lp), name=f"actuate:{lp}") for lp in self.loadpoint_charger
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

    async def _supervise(self, kind: str, name: str, start: Callable[[], Any]) -> None:
        """Run ``start()``; on an exception log it, mark the device in error and retry with backoff.

        A meter source that returns has nothing more to say (a replay that does not loop) and is left
        alone. A charger driver must run until cancelled: one that returns is treated like a failed one
        (the core is told the charger is lost, and the driver is restarted with backoff), so its last
        report never stays live.
        """
        state = self._devices[(kind, name)]
        backoff = self.backoff_initial_s
        while True:
            started = self.clock.now()
            state.running = True
            if kind == "service":
                self._service_errors[name] = None
            try:
                await start()
            except asyncio.CancelledError:
                state.running = False
                raise
            except Exception as exc:
                state.running = False
                self._set_error(kind, name, f"{type(exc).__name__}: {exc}")
                if self.clock.now() - started > 2 * self.backoff_max_s:
                    backoff = self.backoff_initial_s  # it had been working for a while
                log.error(
                    "%s %s failed (%s); retrying in %.0f s",
                    kind,
                    name,
                    self._error_of(kind, name),
                    backoff,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
            else:
                state.running = False
                if kind != "charger":
                    log.info("%s %s finished", kind, name)
                    return
                self._set_error(kind, name, "driver stopped (run() returned)")
                if self.clock.now() - started > 2 * self.backoff_max_s:
                    backoff = self.backoff_initial_s
                log.warning("charger %s stopped unexpectedly; restarting in %.0f s", name, backoff)
            state.failures += 1
            if kind == "charger":
                self._charger_lost(name)
            await self.clock.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)
            if kind == "charger" and (lp := self._charger_loadpoint.get(name)) is not None:
                # A restarted driver may have lost its state: send the command again.
                self._sent[lp] = None
                self._wake_actuators()

    def _error_of(self, kind: str, name: str) -> str | None:
        if kind == "service":
            return self._service_errors[name]
        return self.sources[name].error if kind == "meter" else self.chargers[name].error

    def _set_error(self, kind: str, name: str, error: str | None) -> None:
        if kind == "service":
            self._service_errors[name] = error
        elif kind == "meter":
            self.sources[name].error = error
        else:
            self.chargers[name].error = error

    async def _ticker(self) -> None:
        """Step the core every ``tick_s`` clock seconds (timers, stale-data failsafe)."""
        next_t = self.clock.now()
        while True:
            try:
                self._step(self.clock.now())
            except Exception:  # a bug here must not end the task group (and with it the engine)
                log.exception("engine tick failed; carrying on")
            next_t += self.tick_s
            now = self.clock.now()
            if next_t < now:  # fell behind (slow loop, high clock speed): do not try to catch up
                next_t = now + self.tick_s
            await self.clock.sleep(next_t - now)

    async def _actuate(self, loadpoint: str) -> None:
        """Send the wanted current to the loadpoint's charger whenever it differs from what was sent."""
        wake = self._wake[loadpoint]
        while True:
            try:
                await wake.wait()
                wake.clear()
                await self._send_wanted(loadpoint)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug around the command must not end the task group
                log.exception("actuator of %s failed; carrying on", loadpoint)
                wake.set()  # look at the wanted current again after a pause
                await self.clock.sleep(self.tick_s)

    async def _send_wanted(self, loadpoint: str) -> None:
        """Command the wanted current until it is the one sent; a failed command is retried with backoff."""
        charger = self.chargers[self.loadpoint_charger[loadpoint]]
        backoff = self.backoff_initial_s
        while (want := self._desired[loadpoint]) != self._sent[loadpoint]:
            if want > (self._sent[loadpoint] or 0.0) and not await self._cuts_confirmed(loadpoint):
                continue  # the wanted current changed while waiting: look again
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the task's own
                # cancellation when the command completes at the same moment, hanging shutdown.
                async with asyncio.timeout(self.command_timeout_s):
                    await charger.set_current(want)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                self._command_error[loadpoint] = f"setting {want:g} A failed: {reason}"
                log.warning(
                    "charger %s: setting %g A failed (%s); retrying in %.0f s",
                    charger.name,
                    want,
                    reason,
                    backoff,
                )
                await self._backoff(loadpoint, want, backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            self._sent[loadpoint] = want
            self._command_error[loadpoint] = None
            backoff = self.backoff_initial_s

    def _pending_cuts(self, loadpoint: str) -> list[str]:
        """Loadpoints sharing a limit with ``loadpoint`` that may still deliver more than they are now given.

        A cut counts as done once it was sent and the charger no longer reports offering more (chargers
        that step down in stages, or echo the offer a heartbeat later, report their real offer).
        """
        pending = []
        for other in self._sharing[loadpoint]:
            want = self._desired[other]
            sent = self._sent[other]
            reading = self.chargers[self.loadpoint_charger[other]].reading()
            offered = reading.offered_a if reading is not None and reading.online else None
            if (sent is not None and sent > want + 1e-9) or (
                offered is not None and math.isfinite(offered) and offered > want + 0.5
            ):
                pending.append(other)
        return pending

    async def _cuts_confirmed(self, loadpoint: str) -> bool:
        """Hold a raise until the loadpoints sharing its limits have carried out their cuts.

        The core's commands respect every circuit and the wiring limit, but a raise sent while another
        charger still delivers its old, higher current would exceed them for a moment. Returns True when
        the raise may go (cuts confirmed, or ``cut_confirm_timeout_s`` passed: a charger that ignores its
        cut is logged rather than starving the others), False when the wanted current changed meanwhile.
        """
        want = self._desired[loadpoint]
        deadline = self.clock.now() + self.cut_confirm_timeout_s
        while pending := self._pending_cuts(loadpoint):
            if self._desired[loadpoint] != want:
                return False
            if self.clock.now() >= deadline:
                log.warning(
                    "%s: raising to %g A although %s did not confirm a cut within %g s",
                    loadpoint,
                    want,
                    ", ".join(pending),
                    self.cut_confirm_timeout_s,
                )
                return True
            await self._sleep_or_wake(loadpoint, self.tick_s)
        return self._desired[loadpoint] == want

    async def _sleep_or_wake(self, loadpoint: str, seconds: float) -> bool:
        """Sleep ``seconds`` clock seconds or until the loadpoint's actuator is woken; True when slept out."""
        wake = self._wake[loadpoint]
        wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)
        return sleeper.done() and not sleeper.cancelled()

    async def _backoff(self, loadpoint: str, failed: float, seconds: float) -> None:
        """Wait ``seconds`` clock seconds after a failed command, or less if the wanted current changes.

        A cut, the failsafe or mode off must not wait out a long backoff. Wake-ups that leave the wanted
        current at ``failed`` (every tick sets the event while it is unsent) do not end the wait.
        """
        deadline = self.clock.now() + seconds
        while self._desired[loadpoint] == failed:
            remaining = deadline - self.clock.now()
            if remaining <= 0 or await self._sleep_or_wake(loadpoint, remaining):
                return

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
            lp = self._charger_loadpoint.get(charger.name)
            if lp is not None:
                self._sent[lp] = safe
                self._desired[lp] = safe
            log.info("charger %s left at %g A", charger.name, safe)

        await asyncio.gather(*(one(c) for c in self.chargers.values()))
        self._left_safe = True
        self._publish(self._build_snapshot(self.clock.now()))

    # ------------------------------------------------------------------ events
    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s, shutting down", sig.name)
        self.stop()

    def on_meter_reading(self, meter: str, reading: MeterReading) -> None:
        """A meter's reading (the engine is every meter's :class:`~ecotrack.meters.base.MeterSink`).

        A new grid reading becomes a SiteReading and a core step.
        """
        source = self.sources.get(meter)
        if source is None:
            log.warning("reading from unknown meter %r ignored", meter)
            return
        source.error = None
        self._devices[("meter", meter)].failures = 0
        self._latest[meter] = reading
        if meter != self.setup.meters.grid_meter or not self._deciding:
            return
        site = combine(reading, self._latest, self.setup.meters, self.site_params.max_meter_age_s)
        self._site = site
        try:
            self.controller.on_site_reading(site)
        except Exception:  # a core bug must not look like a meter failure
            log.exception("control core rejected %s", site)
        self._step(self.clock.now())

    def _on_charger_reading(self, charger: str, reading: ChargerReading) -> None:
        state = self._devices.get(("charger", charger))
        if state is not None:
            state.failures = 0
        lp = self._charger_loadpoint.get(charger)
        if lp is not None:
            self.controller.on_charger_reading(lp, reading)
            try:
                self._track_session(lp, reading)
            except Exception:  # bookkeeping must never look like a charger failure
                log.exception("%s: session accounting failed", lp)

    def _track_session(self, loadpoint: str, reading: ChargerReading) -> None:
        if not reading.online:  # an offline charger tells nothing about the car: keep the session open
            return
        charger = self.chargers[self.loadpoint_charger[loadpoint]]
        details = charger.details()
        vin = details.get("vin")
        lifetime = details.get("lifetime_kwh")
        site = self._site
        events = self._trackers[loadpoint].update(
            t_s=reading.t_s,
            now=self._wall(),
            connected=reading.connected,
            power_w=self._power_w(loadpoint, reading),
            grid_w=site.grid_w if site is not None else None,
            battery_w=site.battery_w if site is not None else None,
            vehicle=vin if isinstance(vin, str) and vin else None,
            meter_wh=float(lifetime) * 1000.0 if isinstance(lifetime, int | float) else None,
        )
        for kind, session in events:
            if kind != "update":
                log.info(
                    "%s: session %s %s (%.2f kWh, %.2f kWh solar)",
                    loadpoint,
                    session.id[:8],
                    "started" if kind == "start" else "ended",
                    session.energy_wh / 1000,
                    session.solar_wh / 1000,
                )
            for listener in self._session_listeners:
                try:
                    listener(kind, session)
                except Exception:
                    log.exception("session listener failed")

    def _power_w(self, loadpoint: str, reading: ChargerReading) -> float:
        """The charger's power: measured when it reports one, else amps x volts x phases."""
        if reading.power_w is not None and math.isfinite(reading.power_w):
            return max(0.0, reading.power_w)
        volts = reading.voltage_v if reading.voltage_v and math.isfinite(reading.voltage_v) else None
        amps = reading.actual_a if math.isfinite(reading.actual_a) else 0.0
        return max(0.0, amps) * (volts or self.site_params.voltage_v) * self.setup.loadpoint(loadpoint).phases

    def _charger_lost(self, charger: str) -> None:
        """Tell the core that a charger's driver is down, so it stops counting on its measurements."""
        lp = self._charger_loadpoint.get(charger)
        if lp is None:
            return
        last = self.chargers[charger].reading()
        self.controller.on_charger_reading(
            lp,
            ChargerReading(
                t_s=self.clock.now(),
                connected=last.connected if last is not None else False,
                charging=False,
                online=False,
            ),
        )

    # ------------------------------------------------------------------ stepping
    def _step(self, now_s: float) -> None:
        """One core step: remember the decision, log changes, wake actuators, publish a snapshot.

        The core is meant never to raise; if it does anyway (a bug), every charger is sent to its safe
        current rather than left at the last command, and the engine keeps running.
        """
        try:
            self._apply_rules()
        except Exception:  # a rule bug falls back to the modes already in force
            log.exception("applying the rules failed")
        try:
            decision = self.controller.step(now_s)
        except Exception:
            log.exception("control core failed; sending every charger to its safe current")
            for lp, ch in self.loadpoint_charger.items():
                self._desired[lp] = self.chargers[ch].safe_current_a
            self._wake_actuators()
            return
        self._decision = decision
        for lpd in decision.loadpoints:
            if lpd.name not in self._desired:
                continue
            self._desired[lpd.name] = lpd.current_a
            if lpd.current_a != self._sent[lpd.name]:
                self._wake[lpd.name].set()
        # Commands are on their way; a bug in logging or in the snapshot must not stop the next step
        # (nor, called from a meter's callback, look like a meter failure).
        try:
            for lpd in decision.loadpoints:
                if lpd.name in self._desired:
                    self._log_change(lpd, decision)
            snap = self._build_snapshot(now_s)
            self._watch_for_events(snap)
            self._publish(snap)
        except Exception:
            log.exception("publishing the step at %.1f s failed", now_s)

    def _apply_rules(self) -> None:
        """Evaluate the rule list for every loadpoint and hand the outcome to the core."""
        now = self._wall()
        for lp in self.loadpoint_charger:
            request = self._charge_now[lp]
            if request is not None and not request.active(now):
                self._charge_now[lp] = None
                request = None
                self._emit_event("charge-now", lp, "charge now ended")
            ctx = RuleContext(
                loadpoint=lp,
                now=now,
                user_mode=self._user_mode[lp],
                charge_now=request,
                session=self._trackers[lp].session,
                energy_limit_wh=self._energy_limit_wh[lp],
                soc_pct=self._soc_pct(lp),
            )
            outcome = evaluate(self.rules, ctx)
            lo_cfg, hi_cfg = self._limit_range[lp]
            lo, hi = self._user_range[lp]
            if outcome.max_a is not None and math.isfinite(outcome.max_a):
                hi = min(max(outcome.max_a, lo_cfg), hi_cfg)
                lo = min(lo, hi)
            self.controller.set_current_range(lp, lo, hi)
            if self.controller.mode_of(lp) is not outcome.mode:
                self.controller.set_mode(lp, outcome.mode)
            if outcome.rule != self._active_rule[lp]:
                log.info("%s: rule %s -> %s (%s)", lp, self._active_rule[lp], outcome.rule, outcome.mode.value)
                self._emit_event(
                    "rule", lp, f"rule {self._active_rule[lp]} -> {outcome.rule} ({outcome.mode.value})"
                )
                self._active_rule[lp] = outcome.rule

    def _soc_pct(self, loadpoint: str) -> float | None:
        """The car's state of charge as the charger driver reports it (``soc_pct`` in its details)."""
        soc = _safe_details(self.chargers[self.loadpoint_charger[loadpoint]]).get("soc_pct")
        return float(soc) if isinstance(soc, int | float) and not isinstance(soc, bool) else None

    def _watch_for_events(self, snap: Snapshot) -> None:
        """Turn failsafe and fault transitions into events."""
        if snap.failsafe != self._was_failsafe:
            self._was_failsafe = snap.failsafe
            self._emit_event(
                "failsafe", None, "failsafe: no recent grid reading" if snap.failsafe else "failsafe cleared"
            )
        for lp in snap.loadpoints:
            if lp.charger_error != self._faults.get(lp.name):
                old = self._faults.get(lp.name)
                self._faults[lp.name] = lp.charger_error
                if lp.charger_error is not None:
                    self._emit_event("fault", lp.name, f"charger {lp.charger}: {lp.charger_error}")
                elif old is not None:
                    self._emit_event("recovered", lp.name, f"charger {lp.charger} recovered")

    def _emit_event(self, kind: str, loadpoint: str | None, message: str) -> None:
        event = Event(self._wall(), kind, loadpoint, message)
        for listener in self._event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    def _wake_actuators(self) -> None:
        for lp, event in self._wake.items():
            if self._desired[lp] != self._sent[lp]:
                event.set()

    def _log_change(self, lpd: LoadpointDecision, decision: Decision) -> None:
        key = (lpd.current_a, lpd.status)
        if self._logged.get(lpd.name) == key:
            return
        self._logged[lpd.name] = key
        grid = self._site.grid_w if self._site is not None else None
        log.info(
            "%s [%s] grid %s, surplus %s -> %g A (%s: %s)",
            lpd.name,
            lpd.mode.value,
            _fmt_w(grid),
            _fmt_w(decision.surplus_w),
            lpd.current_a,
            lpd.status,
            lpd.reason,
        )

    # ------------------------------------------------------------------ snapshots
    def _build_snapshot(self, now_s: float) -> Snapshot:
        decision = self._decision
        by_name = {lp.name: lp for lp in decision.loadpoints} if decision is not None else {}
        lps = []
        for lp_name, ch_name in self.loadpoint_charger.items():
            charger = self.chargers[ch_name]
            reading = charger.reading()
            lpd = by_name.get(lp_name)
            online = (
                charger.error is None
                and self._command_error[lp_name] is None
                and self._devices[("charger", ch_name)].running
                and reading is not None
                and reading.online
            )
            actual = reading.actual_a if reading is not None else 0.0
            power = (
                reading.power_w
                if reading is not None and reading.power_w is not None
                else actual * self.site_params.voltage_v * self.setup.loadpoint(lp_name).phases
            )
            lps.append(
                LoadpointSnapshot(
                    name=lp_name,
                    charger=ch_name,
                    mode=lpd.mode if lpd is not None else self.controller.mode_of(lp_name),
                    status=lpd.status if lpd is not None else "starting",
                    reason=lpd.reason if lpd is not None else "no decision yet",
                    commanded_a=lpd.current_a if lpd is not None else 0.0,
                    sent_a=self._sent[lp_name],
                    offered_a=reading.offered_a if reading is not None else None,
                    actual_a=actual,
                    power_w=power,
                    connected=reading.connected if reading is not None else False,
                    charging=reading.charging if reading is not None else False,
                    charger_online=online,
                    charger_error=charger.error or self._command_error[lp_name],
                    user_mode=self._user_mode[lp_name],
                    active_rule=self._active_rule[lp_name],
                    min_a=self._user_range[lp_name][0],
                    max_a=self._user_range[lp_name][1],
                    limit_min_a=self._limit_range[lp_name][0],
                    limit_max_a=self._limit_range[lp_name][1],
                    phases=self.setup.loadpoint(lp_name).phases,
                    energy_limit_wh=self._energy_limit_wh[lp_name],
                    charge_now=self._charge_now[lp_name],
                    session=self._trackers[lp_name].session,
                    details=_safe_details(charger),
                )
            )
        devices = []
        for (kind, name), state in self._devices.items():
            if kind == "service":
                error = self._service_errors[name]
                devices.append(DeviceStatus(name, kind, state.running and error is None, error, None, state.failures))
                continue
            dev: Source | Charger = self.sources[name] if kind == "meter" else self.chargers[name]
            if kind == "meter":
                last = self._latest.get(name)
                last_t = last.t_s if last is not None else None
            else:
                cr = self.chargers[name].reading()
                last_t = cr.t_s if cr is not None else None
            devices.append(
                DeviceStatus(
                    name=name,
                    kind=kind,
                    online=state.running
                    and dev.error is None
                    and last_t is not None
                    and now_s - last_t <= self.site_params.max_meter_age_s,
                    error=dev.error,
                    last_t_s=last_t,
                    failures=state.failures,
                )
            )
        site = self._site
        grid_reading = self._latest.get(self.setup.meters.grid_meter)
        return Snapshot(
            t_s=now_s,
            time=self._wall(),
            grid_w=site.grid_w if site is not None else None,
            pv_w=site.pv_w if site is not None else None,
            battery_w=site.battery_w if site is not None else None,
            battery_soc_pct=site.battery_soc_pct if site is not None else None,
            voltage_v=site.voltage_v if site is not None else None,
            surplus_w=decision.surplus_w if decision is not None else None,
            data_age_s=max(0.0, now_s - site.t_s) if site is not None else None,
            failsafe=decision.failsafe if decision is not None else False,
            loadpoints=tuple(lps),
            devices=tuple(devices),
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


def _safe_details(charger: Charger) -> dict[str, object]:
    """The driver's details; a driver bug shows as an empty dict, not a failed step."""
    try:
        return dict(charger.details())
    except Exception:
        log.exception("charger %s: details() failed", charger.name)
        return {}


def _fmt_w(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.0f} W"
