"""Staged step-down from a car that is still ramping after a raise (found by a flaky end-to-end test).

After a raise to 16 A the Prism's first current report may still show the car on its way up, or there may
be none yet; a cut staged from that figure (or not staged at all, when the charging state has not arrived)
set the limit far below what the car drew a moment later and tripped a slow car. Until the car has settled
the driver stages from the limit of the raise.
"""

from __future__ import annotations

from ecotrack.chargers.prism.base import PrismChargerBase
from ecotrack.chargers.prism.config import PrismChargerConfig
from ecotrack.chargers.prism.state import PrismMode, PrismState
from ecotrack.clock import ScaledClock


class InMemoryPrism(PrismChargerBase):
    """The driver's logic with the transport replaced by a list of what was sent."""

    async def _send_limit(self, amps: float) -> None:
        self.status.limit_a = amps

    async def _send_mode(self, mode: PrismMode) -> None:
        self.status.mode = int(mode)

    def _transport_up(self) -> bool:
        return True

    async def run(self) -> None:  # not used: the test drives it
        raise NotImplementedError


def prism() -> InMemoryPrism:
    cfg = PrismChargerConfig.model_validate({"type": "prism", "base_topic": "prism"})
    p = InMemoryPrism("p", cfg, ScaledClock(1.0))
    p.status.mode = int(PrismMode.NORMAL)
    return p


def measure(p: InMemoryPrism, amps: float, charging: bool = True) -> None:
    p.status.amp_ma = amps * 1000.0
    if charging:
        p.status.state = int(PrismState.CHARGING)
    p._measured()


def limits(p: InMemoryPrism) -> list[float]:
    return [v for kind, v in p.sent if kind == "limit"]


async def test_a_cut_right_after_a_raise_is_staged_from_the_raised_limit() -> None:
    p = prism()
    await p.set_current(16.0)
    measure(p, 9.0)  # caught on its way up to 16 A
    await p.set_current(6.0)
    first = limits(p)[-1]
    assert first >= 16.0 / p.config.step_down_ratio - 0.1, limits(p)  # not 9 / 1.1: the car may be at 16


async def test_a_cut_before_any_report_of_charging_is_staged_too() -> None:
    p = prism()
    await p.set_current(16.0)  # no state, no current reported yet
    await p.set_current(6.0)
    assert limits(p)[-1] > 6.0, limits(p)


async def test_a_settled_car_is_staged_from_its_measurement() -> None:
    p = prism()
    await p.set_current(16.0)
    measure(p, 10.0)
    measure(p, 10.2)  # the car settled at 10 A (its own maximum)
    await p.set_current(6.0)
    assert limits(p)[-1] < 16.0 / p.config.step_down_ratio, limits(p)  # no need to start from 16
