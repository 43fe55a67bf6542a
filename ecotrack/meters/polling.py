"""The poll loop every request/response meter shares: interval, timeout, retries, backoff, error state.

A vendor source (HTTP, Modbus) only says how to take *one* reading (:meth:`PollingSource.fetch`);
this module decides when, how long to wait for it, how often to try again and what the user sees
when it keeps failing. Keeping that policy in one place means every vendor behaves the same way:

* each poll is bounded by ``timeout_s`` (wall seconds: it guards real I/O);
* a failed attempt is retried ``retries`` times within the poll, after ``retry_delay_s``, doubling;
* only when every attempt failed does the source enter its error state (``Source.error``, shown by
  the engine's snapshot and ``ecotrack meters read``), logged once per distinct message rather than
  on every poll; recovery is logged too;
* after a failed poll the next one waits ``interval_s`` doubled per consecutive failure, at most
  ``backoff_max_s``, so a dead device is not hammered; the engine's failsafe handles the stale data;
* a failed poll emits nothing: the last good reading simply ages, nothing is made up.

The loop itself never raises (except on cancellation): a bug in a vendor's parser becomes an error
state with a logged traceback, not a dead task.
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import abstractmethod
from dataclasses import dataclass

from ecotrack.clock import Clock
from ecotrack.core.bounds import meter_reading_problem
from ecotrack.meters.base import MeterReading, MeterSink, Source

__all__ = ["PollSettings", "PollingSource", "SourceError", "check_reading"]

log = logging.getLogger(__name__)


class SourceError(Exception):
    """A source could not produce a reading. The message is for the user: it says what and where."""


@dataclass(frozen=True, slots=True)
class PollSettings:
    """How often and how patiently a source polls its device."""

    #: Seconds between two polls (clock seconds).
    interval_s: float = 5.0
    #: Longest wait for one attempt (wall seconds).
    timeout_s: float = 5.0
    #: Extra attempts within one poll before it counts as failed.
    retries: int = 1
    #: Pause before the first retry (clock seconds); doubles for each further retry.
    retry_delay_s: float = 0.5
    #: Longest pause between polls while the device keeps failing (clock seconds).
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("interval_s", "timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries!r}")
        if not self.retry_delay_s >= 0:
            raise ValueError(f"retry_delay_s must be >= 0, got {self.retry_delay_s!r}")
        if not self.backoff_max_s > 0:
            raise ValueError(f"backoff_max_s must be > 0, got {self.backoff_max_s!r}")

    def backoff_s(self, failures: int) -> float:
        """Pause after ``failures`` consecutive failed polls (>= 1)."""
        return min(self.interval_s * 2.0 ** max(0, failures - 1), max(self.backoff_max_s, self.interval_s))

    @classmethod
    def from_config(cls, config: object) -> PollSettings:
        """Settings from any config model with (some of) the same field names."""
        defaults = cls()
        return cls(
            **{
                name: type(getattr(defaults, name))(getattr(config, name, getattr(defaults, name)))
                for name in ("interval_s", "timeout_s", "retries", "retry_delay_s", "backoff_max_s")
            }
        )


def check_reading(reading: MeterReading) -> MeterReading:
    """``reading`` unchanged, or :class:`SourceError` when a value is NaN, infinite or implausible.

    Vendors' parsers convert numbers one by one; this is the last gate before the engine so that no
    NaN that slipped through (``float("nan")`` parses fine) can reach the core as a value, and no
    absurd but finite one either (:func:`~ecotrack.core.bounds.meter_reading_problem`: ``-1e12`` W is
    a broken device, not a site).
    """
    values: dict[str, float | None] = {
        "grid_w": reading.grid_w,
        "pv_w": reading.pv_w,
        "battery_w": reading.battery_w,
        "battery_soc_pct": reading.battery_soc_pct,
        "voltage_v": reading.voltage_v,
    }
    for i, v in enumerate(reading.voltages_v or ()):
        values[f"voltages_v[{i}]"] = v
    for i, v in enumerate(reading.currents_a or ()):
        values[f"currents_a[{i}]"] = v
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise SourceError(f"{name} is {value!r}, not a finite number")
    problem = meter_reading_problem(reading)
    if problem is not None:
        raise SourceError(problem)
    return reading


class PollingSource(Source):
    """A source that asks its device for a reading every ``settings.interval_s``.

    Subclasses implement :meth:`fetch` (one attempt; raise :class:`SourceError` with a clear message
    when the device's answer is unusable) and, when they hold a connection, :meth:`close` and
    :meth:`reset`.
    """

    def __init__(self, name: str, clock: Clock, settings: PollSettings | None = None) -> None:
        super().__init__(name)
        self.clock = clock
        self.settings = settings if settings is not None else PollSettings()
        #: The last good reading (for status displays); None before the first.
        self.last_reading: MeterReading | None = None
        #: Consecutive failed polls.
        self.failures = 0
        self._logged_error: str | None = None

    # ------------------------------------------------------------------ for subclasses
    @abstractmethod
    async def fetch(self, t_s: float) -> MeterReading:
        """Take one reading stamped ``t_s`` (the clock time the request was sent)."""

    async def reset(self) -> None:
        """Drop a connection after a failed attempt so the next one starts afresh (default: nothing)."""

    async def close(self) -> None:
        """Release connections when the source stops (default: nothing)."""

    def describe(self) -> str:
        """Where the device is (host, URL, port), for messages."""
        return self.name

    # ------------------------------------------------------------------ the loop
    async def poll(self) -> MeterReading:
        """One poll: up to ``1 + retries`` attempts, each bounded by ``timeout_s``.

        Returns the reading or raises :class:`SourceError` with the last attempt's reason.
        """
        s = self.settings
        error = SourceError("no attempt made")
        for attempt in range(s.retries + 1):
            if attempt:
                await self.clock.sleep(s.retry_delay_s * 2.0 ** (attempt - 1))
            t_s = self.clock.now()
            try:
                async with asyncio.timeout(s.timeout_s):
                    return check_reading(await self.fetch(t_s))
            except TimeoutError:
                error = SourceError(f"{self.describe()}: no answer within {s.timeout_s:g} s")
            except SourceError as e:
                error = e
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a parser bug or an unexpected library error: never kill the loop
                log.debug("meter %s: unexpected error", self.name, exc_info=True)
                error = SourceError(f"{self.describe()}: unexpected {type(e).__name__}: {e}")
            try:
                await self.reset()
            except Exception:
                log.debug("meter %s: reset failed", self.name, exc_info=True)
        raise error

    async def read_once(self) -> MeterReading:
        """One poll and close: what ``ecotrack meters read`` does. Raises :class:`SourceError`."""
        try:
            return await self.poll()
        finally:
            await self.close()

    async def run(self, sink: MeterSink) -> None:
        """Poll until cancelled; emit good readings; keep an error state while polls fail."""
        try:
            while True:
                started = self.clock.now()
                try:
                    reading = await self.poll()
                except SourceError as e:
                    self._failed(str(e))
                    wait = self.settings.backoff_s(self.failures)
                else:
                    self._succeeded()
                    self.last_reading = reading
                    sink.on_meter_reading(self.name, reading)
                    wait = self.settings.interval_s - (self.clock.now() - started)
                await self.clock.sleep(max(0.0, wait))
        finally:
            try:
                await self.close()
            except Exception:
                log.debug("meter %s: close failed", self.name, exc_info=True)

    def _failed(self, message: str) -> None:
        self.failures += 1
        self.error = message
        if message != self._logged_error:
            self._logged_error = message
            log.warning(
                "meter %s: %s (retrying in %.0f s)",
                self.name,
                message,
                self.settings.backoff_s(self.failures),
            )

    def _succeeded(self) -> None:
        if self.failures:
            log.info("meter %s: reading again after %d failed polls", self.name, self.failures)
        self.failures = 0
        self.error = None
        self._logged_error = None
