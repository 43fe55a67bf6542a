"""``ecotrack demo`` includes a simulated TWC on a pty pair, driven by the real master."""

from __future__ import annotations

from pathlib import Path

from ecotrack.chargers.simulated import SimulatedCharger
from ecotrack.chargers.twc.demo import DemoTwc
from ecotrack.chargers.twc.driver import TwcCharger
from ecotrack.demo import run_demo
from ecotrack.world.loads import SimulatedWorld


async def test_demo_twc_charges_from_the_surplus_and_is_left_safe(tmp_path: Path) -> None:
    trace = tmp_path / "sunny.csv"
    trace.write_text("timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,9000,400\n2024-06-21T10:01:00Z,9000,400\n")
    world = SimulatedWorld()
    engine = await run_demo(speed=100, trace=trace, data_dir=tmp_path, duration_s=2.0, world=world)
    twc, car = engine.chargers["twc"], engine.chargers["car"]
    assert isinstance(twc, TwcCharger) and isinstance(car, SimulatedCharger)
    assert 16.0 in car.commands  # the garage (higher priority) takes its maximum first
    sim = next(load for load in world.loads if isinstance(load, DemoTwc))
    # the rest of the surplus (8.6 kW - 3.7 kW) reached the TWC's car over the tty ...
    assert max(sim.slave.limits_seen) == 16.0
    assert twc.details()["lifetime_kwh"] == 924
    # ... and it was stopped on the way out (FC B2, as the demo configures)
    assert sim.slave.offer_a() == 0.0 and sim.slave.actual_a == 0.0
    assert engine.snapshot().loadpoint("driveway").sent_a == 0.0
