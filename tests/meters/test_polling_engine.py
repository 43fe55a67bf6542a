"""The poll loop's error state and backoff, and HTTP meters inside the real engine.

A source that fails keeps an error state and emits nothing (its last reading ages); it recovers by
itself; and a failing or hanging source blocks neither the other sources nor the control loop — the
core's failsafe takes over when the grid meter's data goes stale.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ecotrack.app import build_engine
from ecotrack.clock import RealClock, ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import parse_config
from ecotrack.meters.base import MeterReading, ReadingLog
from ecotrack.meters.http.fronius import PATH as FRONIUS
from ecotrack.meters.polling import PollingSource, PollSettings, SourceError
from ecotrack.services.web.metrics import render_metrics
from ecotrack.services.web.state import build_state

from .http_server import HANG_S, Reply, VendorServer
from .test_http_sources import FRONIUS_DAY, fronius_payload


class Flaky(PollingSource):
    """Fails while ``broken`` is set; counts attempts."""

    def __init__(self) -> None:
        super().__init__(
            "flaky",
            RealClock(),
            PollSettings(interval_s=0.02, timeout_s=0.2, retries=2, retry_delay_s=0.01, backoff_max_s=0.08),
        )
        self.broken = True
        self.attempts = 0

    async def fetch(self, t_s: float) -> MeterReading:
        self.attempts += 1
        if self.broken:
            raise SourceError("device says no")
        return MeterReading(t_s=t_s, grid_w=42.0)


async def test_poll_retries_then_error_state_then_recovery() -> None:
    source = Flaky()
    log = ReadingLog()
    task = asyncio.create_task(source.run(log))
    await wait_for(lambda: source.failures >= 2)
    assert log.values() == [] and source.error == "device says no"
    assert 3 * source.failures <= source.attempts < 3 * source.failures + 3  # 1 + 2 retries per poll
    source.broken = False
    await wait_for(lambda: log.values())
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert log.values() and all(r.grid_w == 42.0 for r in log.values())
    assert source.error is None and source.failures == 0


def test_backoff_doubles_up_to_the_maximum() -> None:
    s = PollSettings(interval_s=2, backoff_max_s=30)
    assert [s.backoff_s(n) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]
    with pytest.raises(ValueError, match="interval_s"):
        PollSettings(interval_s=0)


async def test_a_hanging_fetch_is_cut_by_the_timeout() -> None:
    class Hang(Flaky):
        async def fetch(self, t_s: float) -> MeterReading:
            await asyncio.sleep(10)
            raise AssertionError

    source = Hang()
    source.settings = PollSettings(timeout_s=0.05, retries=0)
    with pytest.raises(SourceError, match=r"no answer within 0\.05 s"):
        await source.poll()


async def test_a_parser_bug_is_an_error_state_not_a_dead_task() -> None:
    class Buggy(Flaky):
        async def fetch(self, t_s: float) -> MeterReading:
            return {}["boom"]  # type: ignore[no-any-return]

    with pytest.raises(SourceError, match="unexpected KeyError"):
        await Buggy().poll()


# --------------------------------------------------------------------------------------- engine


def engine_config(grid_url: str, pv_url: str) -> Config:
    # Timeouts are wall seconds: the grid meter's is not under test (any answer must beat it, whatever the
    # load); the roof's is, when its inverter hangs, and is still far above a loopback answer's time.
    poll = {"interval_s": 1, "retries": 0, "backoff_max_s": 2}
    return parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid", "roof"], "max_meter_age_s": 5},
            "meters": {
                "grid": {"type": "fronius", "url": grid_url, "timeout_s": 10, **poll},
                "roof": {"type": "url", "pv": {"url": pv_url}, "timeout_s": 1, **poll},
            },
            "chargers": {"car": {"type": "simulated", "max_a": 16, "report_interval_s": 1}},
            "loadpoints": {"garage": {"charger": "car", "mode": "pv", "min_a": 6, "max_a": 16}},
            "control": {"tick_s": 1},
        }
    )


async def wait_for(predicate: Any, timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def test_engine_sums_pv_keeps_running_with_a_hanging_source_and_fails_safe_on_a_dead_grid_meter(
    vendor_server: VendorServer,
) -> None:
    vendor_server.routes["GET", FRONIUS] = Reply.json(FRONIUS_DAY)  # grid -1500.25, PV 3000
    vendor_server.routes["GET", "/roof"] = Reply("1000", content_type="text/plain")
    engine = build_engine(
        engine_config(vendor_server.url, vendor_server.url + "/roof"),
        clock=ScaledClock(speed=10),
        services=False,
    )
    task = asyncio.create_task(engine.run())
    try:
        # PV from two inverters adds up; grid comes from the grid meter alone.
        await wait_for(lambda: engine.snapshot().pv_w == 4000.0)
        snap = engine.snapshot()
        assert snap.grid_w == -1500.25 and not snap.failsafe

        # The second inverter hangs: its own error state, the grid meter and the loop go on.
        vendor_server.routes["GET", "/roof"] = Reply("1000", content_type="text/plain", delay_s=HANG_S)
        await wait_for(lambda: engine.snapshot().device("roof", "meter").error is not None)
        assert "no answer within 1 s" in (engine.snapshot().device("roof", "meter").error or "")
        t0 = engine.snapshot().t_s
        await wait_for(lambda: engine.snapshot().t_s > t0 + 3)
        snap = engine.snapshot()
        assert snap.device("grid", "meter").online and not snap.failsafe
        await wait_for(lambda: engine.snapshot().pv_w == 3000.0)  # the stale PV dropped out of the sum

        # The grid meter fails: its last reading is not repeated; the failsafe takes over.
        vendor_server.routes["GET", FRONIUS] = Reply("Internal Server Error", 500, "text/plain")
        await wait_for(lambda: engine.snapshot().failsafe)
        snap = engine.snapshot()
        assert "HTTP 500" in (snap.device("grid", "meter").error or "")
        assert snap.loadpoint("garage").commanded_a == 0.0
        # ecotrack_device_failures counts a failing meter (it stayed 0: the poll loop never raises)
        await wait_for(lambda: engine.snapshot().device("grid", "meter").failures >= 2, timeout_s=5.0)
        state = build_state(engine, engine.snapshot())
        metrics = render_metrics(state)
        assert 'ecotrack_device_failures{device="grid",kind="meter"} 0.0' not in metrics
        assert next(m.failures for m in state.meters if m.id == "grid") >= 2
        # the failsafe reason tells the reading's age as it grows
        first = engine.snapshot().loadpoint("garage").reason
        await wait_for(lambda: engine.snapshot().loadpoint("garage").reason != first, timeout_s=5.0)
        assert "s old" in engine.snapshot().loadpoint("garage").reason

        # And it comes back by itself.
        vendor_server.routes["GET", FRONIUS] = Reply.json(fronius_payload({"P_Grid": 200.0, "P_PV": 10.0}))
        await wait_for(lambda: not engine.snapshot().failsafe and engine.snapshot().grid_w == 200.0)
        assert engine.snapshot().device("grid", "meter").failures == 0
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
