"""What the Prism drivers over MQTT and over ubus share.

The engine asks for a current; the driver turns it into the Prism's vocabulary:

* **0 A** (or anything below the Prism's 6 A minimum, which it cannot signal) → ``set_mode 3`` (pause);
* **6-32 A** → ``set_current_limit`` (one decimal) in **normal** mode (``set_mode 2`` when the Prism is in
  solar, hybrid or pause mode: its own solar mode would override the limit). Never above ``max_a``.
* **lower than now** → in stages (:func:`~ecotrack.chargers.prism.state.next_stage`) as the car follows,
  so it never draws more than 10 % above the limit; each new measurement moves to the next stage, and a
  stage that waited ``stage_timeout_s`` jumps to the target.

The Prism publishes only on change, but the engine treats a report older than ``max_charger_age_s`` as
lost; the driver re-reports its last state every ``reemit_s`` while it is not stale. After
``offline_after_s`` without any status (or while the transport is down) it reports ``online=False``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import abstractmethod

from ecotrack.chargers.base import Charger
from ecotrack.chargers.prism.config import PrismChargerConfig, PrismUbusChargerConfig
from ecotrack.chargers.prism.state import (
    PRISM_MIN_A,
    PrismMode,
    PrismStatus,
    next_stage,
)
from ecotrack.clock import Clock
from ecotrack.transport.mqtt.payloads import LogLimiter

__all__ = ["PrismChargerBase"]

#: Two measurements this close (A) after a raise: the car has stopped ramping.
_SETTLED_A = 0.5

log = logging.getLogger(__name__)

#: Resend ``set_mode`` when the Prism has not confirmed the mode after this long (s).
_MODE_RETRY_S = 5.0


class PrismChargerBase(Charger):
    """Target current, staging, mode handling and re-emission; subclasses move the bytes."""

    step_a = 0.1
    safe_current_a = 0.0

    def __init__(self, name: str, config: PrismChargerConfig | PrismUbusChargerConfig, clock: Clock) -> None:
        super().__init__(name)
        self.config = config
        self.clock = clock
        self.max_a = float(config.max_a)
        self.phases = int(config.phases)
        self.status = PrismStatus()
        #: What the engine asked for last (A); None before the first command.
        self.target_a: float | None = None
        #: The limit last sent to the Prism (A), None when unknown.
        self.limit_sent_a: float | None = None
        #: Every limit and mode sent, in order: ("limit", 9.6) / ("mode", 3). Bounded.
        self.sent: list[tuple[str, float]] = []
        self._mode_sent: tuple[int, float] | None = None
        self._stage_since: float | None = None
        #: When the limit was last raised, and when the last measurement of the current arrived.
        self._raised_at = -math.inf
        self._measured_at = -math.inf
        #: Measurements since the last raise; the car counts as ramping (possibly at the new limit) until
        #: two of them agree within :data:`_SETTLED_A` or one reaches the limit.
        self._since_raise: list[float] = []
        #: The limit of the last raise: what an unmeasured, ramping car may draw (stages do not lower it).
        self._raised_to_a: float | None = None
        self._last_status_s: float | None = None
        self._last_emit_s: float | None = None
        self._fault: str | None = None
        #: Fault changes are logged at most a few times a minute (a device or a stranger on the broker
        #: can change the fault text with every message).
        self._fault_log = LogLimiter(burst=5, window_s=60.0)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ transport
    @abstractmethod
    async def _send_limit(self, amps: float) -> None:
        """Send the current limit (already clamped and rounded)."""

    @abstractmethod
    async def _send_mode(self, mode: PrismMode) -> None:
        """Send ``set_mode``."""

    @abstractmethod
    def _transport_up(self) -> bool:
        """Whether commands can reach the Prism now."""

    # ------------------------------------------------------------------ engine interface
    def details(self) -> dict[str, object]:
        """Driver facts for the state view (energy counters, firmware, mode, fault)."""
        out = self.status.details()
        if self.limit_sent_a is not None:
            out["limit_a"] = self.limit_sent_a
        if self._fault:
            out["fault"] = self._fault
        return out

    async def set_current(self, amps: float) -> None:
        """Offer ``amps``: pause below 6 A, else the limit (staged when lower). ValueError for nonsense."""
        if isinstance(amps, bool) or not isinstance(amps, int | float) or not math.isfinite(amps) or amps < 0:
            raise ValueError(f"charger {self.name}: invalid current {amps!r}")
        value = min(float(amps), self.max_a)
        if 0.0 < value < PRISM_MIN_A:
            log.warning(
                "charger %s: %.1f A is below the Prism's minimum of %g A; pausing instead",
                self.name,
                value,
                PRISM_MIN_A,
            )
            value = 0.0
        self.target_a = round(value, 1)
        self._stage_since = self.clock.now()
        await self._apply()

    # ------------------------------------------------------------------ shared logic
    async def _apply(self) -> None:
        """Move the Prism one step towards the target (a stage, the limit, a mode)."""
        target = self.target_a
        if target is None:
            return
        async with self._lock:
            now = self.clock.now()
            if target <= 0.0:
                await self._ensure_mode(PrismMode.PAUSE, now)
                return
            status = self.status
            stage = target
            # Staged while the car may be drawing: charging, a current measured, or ramping after a raise
            # (a state report may lag the current: a jump from 16 to 6 A trips a slow car).
            may_draw = status.charging or status.actual_a > 0.0 or not self._settled()
            if self.config.staged_step_down and may_draw:
                stage = next_stage(
                    self.limit_sent_a, target, self._assumed_draw_a(), self.config.step_down_ratio
                )
                timed_out = (
                    self._stage_since is not None and now - self._stage_since >= self.config.stage_timeout_s
                )
                if stage > target and timed_out:
                    log.warning(
                        "charger %s: car still draws %.1f A after %.0f s; cutting to %.1f A",
                        self.name,
                        status.actual_a,
                        self.config.stage_timeout_s,
                        target,
                    )
                    stage = target
            if stage != self.limit_sent_a:
                if self.limit_sent_a is None or stage > self.limit_sent_a:
                    self._raised_at = now
                    self._since_raise = []
                    self._raised_to_a = stage
                if self.limit_sent_a is not None and stage < self.limit_sent_a and stage > target:
                    log.info(
                        "charger %s: stepping down %.1f -> %.1f A (car draws %.1f A, target %.1f A)",
                        self.name,
                        self.limit_sent_a,
                        stage,
                        status.actual_a,
                        target,
                    )
                await self._send_limit(stage)
                self.limit_sent_a = stage
                self._stage_since = now
                self._record("limit", stage)
            if status.mode not in (PrismMode.NORMAL, PrismMode.AUTOLIMIT):
                await self._ensure_mode(PrismMode.NORMAL, now)

    async def _ensure_mode(self, mode: PrismMode, now: float) -> None:
        if self.status.mode == mode:
            return
        if (
            self._mode_sent is not None
            and self._mode_sent[0] == mode
            and now - self._mode_sent[1] < _MODE_RETRY_S
        ):
            return  # sent recently; waiting for the Prism to report it
        await self._send_mode(mode)
        self._mode_sent = (int(mode), now)
        self._record("mode", float(mode))

    def _record(self, what: str, value: float) -> None:
        self.sent.append((what, value))
        if len(self.sent) > 1000:
            del self.sent[:100]

    def _staging(self) -> bool:
        """A cut is in progress (the limit sent is above the target)."""
        return (
            self.target_a is not None
            and self.target_a > 0.0
            and self.limit_sent_a is not None
            and self.limit_sent_a > self.target_a
        )

    def _set_fault(self, fault: str | None) -> None:
        """Enter or leave a fault (shown as the charger's error; the charger counts as offline)."""
        if fault == self._fault:
            return
        loggable = self._fault_log.allow(self.clock.now())
        if fault:
            if loggable:
                log.warning("charger %s: %s", self.name, fault)
            # Make sure the next command is really sent again.
            self.limit_sent_a = None
            self._mode_sent = None
        elif loggable:
            log.info("charger %s: fault cleared", self.name)
        self._fault = fault
        self.error = fault

    def _assumed_draw_a(self) -> float:
        """What the car may be drawing: the measurement, or the limit while the car may still be ramping.

        After a raise, a measurement may catch the car on its way up (10 A of a ramp to 16 A); staging a cut
        from it could cut so far below what the car draws a moment later that it trips the Prism. So until
        the car has settled (two measurements since the raise within :data:`_SETTLED_A` of each other, or
        one at the limit), the car counts as drawing up to the limit.
        """
        measured = self.status.actual_a
        ceiling = self._raised_to_a if self._raised_to_a is not None else self.limit_sent_a
        if ceiling is not None and not self._settled():
            return max(measured, ceiling)
        return measured

    def _settled(self) -> bool:
        seen = self._since_raise
        if self._measured_at < self._raised_at or not seen:
            return False
        if self.limit_sent_a is not None and seen[-1] >= self.limit_sent_a - _SETTLED_A:
            return True
        return len(seen) >= 2 and abs(seen[-1] - seen[-2]) <= _SETTLED_A

    def _measured(self) -> None:
        """A new measurement of the current arrived (the transport calls this)."""
        self._measured_at = self.clock.now()
        self._since_raise = [*self._since_raise[-1:], self.status.actual_a]

    def _status_changed(self) -> None:
        """Call after new status values arrived: report them and continue a cut in progress."""
        now = self.clock.now()
        self._last_status_s = now
        self._emit(now)
        if self._staging() or (self.target_a is not None and self._mode_wrong()):
            self._wake.set()

    def _mode_wrong(self) -> bool:
        mode = self.status.mode
        if self.target_a is None or mode is None:
            return False
        if self.target_a <= 0.0:
            return mode != PrismMode.PAUSE
        return mode not in (PrismMode.NORMAL, PrismMode.AUTOLIMIT)

    def _online(self, now: float) -> bool:
        return (
            self._transport_up()
            and self._last_status_s is not None
            and now - self._last_status_s <= self.config.offline_after_s
            and self._fault is None
            and not self.status.error
        )

    def _emit(self, now: float) -> None:
        self._last_emit_s = now
        self._publish(self.status.reading(now, self._online(now), self.phases))

    async def _housekeeping(self) -> None:
        """Re-report, go offline on silence, and continue cuts; runs beside the transport's own loop."""
        tick = min(1.0, self.config.reemit_s)
        was_online: bool | None = None
        while True:
            try:
                async with asyncio.timeout(tick):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            now = self.clock.now()
            online = self._online(now)
            if online != was_online and self._last_status_s is not None:
                if was_online is not None:
                    log.info("charger %s: %s", self.name, "online" if online else "offline")
                was_online = online
                self._emit(now)
            elif self._last_status_s is not None and (
                self._last_emit_s is None or now - self._last_emit_s >= self.config.reemit_s
            ):
                self._emit(now)
            if self._transport_up() and (self._staging() or self._mode_wrong()):
                try:
                    await self._apply()
                except Exception as e:  # the engine's next command retries; keep housekeeping alive
                    log.warning("charger %s: continuing the cut failed: %s", self.name, e)
