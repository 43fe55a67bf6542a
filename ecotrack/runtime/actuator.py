"""One loadpoint's actuator: the small task that sends its charger what the house allows.

One per loadpoint, so a charger that hangs delays nobody else. It sleeps until woken (the engine wakes it
after every step in which the wanted current differs from what was sent), asks
:meth:`~ecotrack.runtime.house.House.next_command` what may go now, and sends it with a timeout. A failed
command is retried with exponential backoff while it is still wanted; a cut, the failsafe or mode off do
not wait out a long backoff. A raise the house holds (cuts of loadpoints sharing a limit not carried out
yet, or a decision that is not fresh) is looked at again every tick or whenever the engine wakes it.
"""

from __future__ import annotations

import asyncio
import logging

from ecotrack.chargers.base import Charger
from ecotrack.clock import Clock
from ecotrack.runtime.house import House

__all__ = ["Actuator"]

log = logging.getLogger(__name__)


class Actuator:
    """Sends one loadpoint's charger the currents the house allows (see the module docstring).

    ``command_timeout_s`` is wall seconds (it guards real I/O); ``tick_s`` and the backoffs are clock
    seconds (they pace the device).
    """

    def __init__(
        self,
        house: House,
        loadpoint: str,
        charger: Charger,
        clock: Clock,
        *,
        tick_s: float,
        command_timeout_s: float,
        backoff_initial_s: float,
        backoff_max_s: float,
    ) -> None:
        self.house = house
        self.loadpoint = loadpoint
        self.charger = charger
        self.clock = clock
        self.tick_s = tick_s
        self.command_timeout_s = command_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._wake = asyncio.Event()

    def wake_if_needed(self) -> None:
        """Wake the task when the wanted current differs from what was sent, or a stop must be escalated."""
        if self.house.needs_command(self.loadpoint) or self.house.loadpoint(self.loadpoint).escalation_due:
            self._wake.set()

    async def run(self) -> None:
        """Until cancelled: wait to be woken, then send until the wanted current is the one sent."""
        while True:
            try:
                await self._wake.wait()
                self._wake.clear()
                await self._escalate_if_due()
                await self._send_wanted()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug around the command must not end the engine's task group
                log.exception("actuator of %s failed; carrying on", self.loadpoint)
                self._wake.set()  # look at the wanted current again after a pause
                await self.clock.sleep(self.tick_s)

    async def _send_wanted(self) -> None:
        lp = self.house.loadpoint(self.loadpoint)
        backoff = self.backoff_initial_s
        while self.house.needs_command(self.loadpoint):
            phases = self.house.next_phase_command(self.loadpoint)
            if phases is not None:
                if await self._switch_phases(phases):
                    backoff = self.backoff_initial_s
                else:
                    await self._sleep_or_wake(backoff)
                    backoff = min(backoff * 2, self.backoff_max_s)
                continue
            want = self.house.next_command(self.loadpoint, self.clock.now())
            if want is None:
                await self._sleep_or_wake(self.tick_s)
                continue
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the task's own
                # cancellation when the command completes at the same moment, hanging shutdown.
                async with asyncio.timeout(self.command_timeout_s):
                    await self.charger.set_current(want)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                lp.command_failed(want, reason)
                log.warning(
                    "charger %s: setting %g A failed (%s); retrying in %.0f s",
                    self.charger.name,
                    want,
                    reason,
                    backoff,
                )
                await self._backoff(want, backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            lp.command_delivered(want)
            backoff = self.backoff_initial_s

    async def _switch_phases(self, phases: int) -> bool:
        """Tell the charger to use ``phases`` (the house checked it is at 0 A); True when acknowledged."""
        lp = self.house.loadpoint(self.loadpoint)
        try:
            async with asyncio.timeout(self.command_timeout_s):
                await self.charger.set_phases(phases)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            lp.phases_failed(phases, reason)
            log.warning("charger %s: switching to %d phase(s) failed (%s)", self.charger.name, phases, reason)
            return False
        lp.phases_delivered(phases)
        log.info("charger %s: switched to %d phase(s)", self.charger.name, phases)
        return True

    async def _escalate_if_due(self) -> None:
        """Run the charger's stop method once when the house asks (it kept drawing current after 0 A)."""
        lp = self.house.loadpoint(self.loadpoint)
        if not lp.escalation_due:
            return
        lp.escalation_due = False
        try:
            async with asyncio.timeout(self.command_timeout_s):
                await self.charger.stop_charging()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            log.error("charger %s: its stop method failed (%s)", self.charger.name, reason)
            return
        log.warning("charger %s: stop method run (it kept drawing current after 0 A)", self.charger.name)

    async def _sleep_or_wake(self, seconds: float) -> bool:
        """Sleep ``seconds`` clock seconds or until woken; True when slept out."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)
        return sleeper.done() and not sleeper.cancelled()

    async def _backoff(self, failed: float, seconds: float) -> None:
        """Wait ``seconds`` after a failed command, or less when the wanted current changes.

        Wake-ups that leave the wanted current at ``failed`` (every step wakes the task while it is unsent)
        do not end the wait.
        """
        lp = self.house.loadpoint(self.loadpoint)
        deadline = self.clock.now() + seconds
        while lp.desired_a == failed:
            remaining = deadline - self.clock.now()
            if remaining <= 0 or await self._sleep_or_wake(remaining):
                return
