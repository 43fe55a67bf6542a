"""Supervision of every long-running task: meters, charger drivers and services, with their health.

A task that raises is logged, marked in error and restarted with exponential backoff (``backoff_initial_s``
doubling up to ``backoff_max_s`` clock seconds; back to the start after it had worked for a while), so a
broken meter or charger never takes the process down: the core's failsafe deals with the stale data. A
meter that returns has nothing more to say (a replay that does not loop) and is left alone; a charger
driver must run until cancelled, so one that returns is treated like a failed one. The engine is told when
a charger goes down (its last report must not stay live) and when it was restarted (its command must be
sent again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock
from ecotrack.meters.base import Source
from ecotrack.runtime.snapshot import DeviceStatus

__all__ = ["Supervisor", "TaskKind"]

log = logging.getLogger(__name__)

TaskKind = Literal["meter", "charger", "service"]


@dataclass(slots=True)
class _TaskState:
    failures: int = 0
    running: bool = False


class Supervisor:
    """Runs tasks under restart-with-backoff and keeps each device's and service's health."""

    def __init__(
        self,
        clock: Clock,
        sources: Mapping[str, Source],
        chargers: Mapping[str, Charger],
        *,
        backoff_initial_s: float,
        backoff_max_s: float,
        on_charger_down: Callable[[str], None],
        on_charger_restarted: Callable[[str], None],
    ) -> None:
        self.clock = clock
        self.sources = sources
        self.chargers = chargers
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._on_charger_down = on_charger_down
        self._on_charger_restarted = on_charger_restarted
        self._states: dict[tuple[TaskKind, str], _TaskState] = {
            **{("meter", n): _TaskState() for n in sources},
            **{("charger", n): _TaskState() for n in chargers},
        }
        self._service_errors: dict[str, str | None] = {}

    # ------------------------------------------------------------------ services
    def add_service(self, name: str) -> None:
        """Track a service called ``name`` (ValueError when one exists already)."""
        if name in self._service_errors:
            raise ValueError(f"a service called {name!r} exists already")
        self._service_errors[name] = None
        self._states[("service", name)] = _TaskState()

    def report_service_error(self, name: str, error: str | None) -> None:
        """A running service tells its health (KeyError for an unknown service)."""
        if name not in self._service_errors:
            raise KeyError(name)
        self._service_errors[name] = error

    # ------------------------------------------------------------------ health
    def running(self, kind: TaskKind, name: str) -> bool:
        """The task runs right now."""
        state = self._states.get((kind, name))
        return state is not None and state.running

    def alive(self, kind: TaskKind, name: str) -> None:
        """The device just delivered something: its failure count starts over."""
        state = self._states.get((kind, name))
        if state is not None:
            state.failures = 0

    def statuses(
        self, now_s: float, last_t_s: Callable[[TaskKind, str], float | None], max_age_s: float
    ) -> tuple[DeviceStatus, ...]:
        """Every device's and service's health; a device is online while it runs, without error, and has
        reported within ``max_age_s``."""
        out = []
        for (kind, name), state in self._states.items():
            if kind == "service":
                error = self._service_errors[name]
                out.append(
                    DeviceStatus(name, kind, state.running and error is None, error, None, state.failures)
                )
                continue
            device: Source | Charger = self.sources[name] if kind == "meter" else self.chargers[name]
            last = last_t_s(kind, name)
            online = state.running and device.error is None and last is not None and now_s - last <= max_age_s
            # a meter that keeps running while its reads fail counts its failures itself
            failures = state.failures + (device.failures if isinstance(device, Source) else 0)
            out.append(DeviceStatus(name, kind, online, device.error, last, failures))
        return tuple(out)

    # ------------------------------------------------------------------ running
    async def run(self, kind: TaskKind, name: str, start: Callable[[], Any]) -> None:
        """Run ``start()`` until cancelled (a meter or service may also finish); see the module docstring."""
        state = self._states[(kind, name)]
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
                self._on_charger_down(name)
            await self.clock.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max_s)
            if kind == "charger":
                self._on_charger_restarted(name)

    def _error_of(self, kind: TaskKind, name: str) -> str | None:
        if kind == "service":
            return self._service_errors[name]
        return self.sources[name].error if kind == "meter" else self.chargers[name].error

    def _set_error(self, kind: TaskKind, name: str, error: str | None) -> None:
        if kind == "service":
            self._service_errors[name] = error
        elif kind == "meter":
            self.sources[name].error = error
        else:
            self.chargers[name].error = error
