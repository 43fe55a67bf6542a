"""The failsafe reason tells the stale reading's current age, step after step (issue 12: it stayed at
"grid reading 11 s old" while the reading was 85 s old)."""

from __future__ import annotations

from datetime import UTC, datetime

from ecotrack.core.model import ChargerReading, LoadpointParams, MeterReading, Mode, SiteParams
from ecotrack.core.site import MeterRoles
from ecotrack.runtime.house import DriverLimits, House
from ecotrack.runtime.setup import SiteSetup


def test_the_failsafe_reason_follows_the_age_of_the_reading() -> None:
    params = SiteParams(loadpoints=(LoadpointParams("garage", mode=Mode.PV),), max_meter_age_s=10.0)
    house = House(
        SiteSetup(params, MeterRoles("grid"), {"garage": "car"}),
        {"car": DriverLimits(16.0)},
        wall=lambda: datetime(2026, 6, 21, tzinfo=UTC),
    )
    house.on_meter_reading("grid", MeterReading(t_s=0.0, grid_w=-2000.0))
    reasons = []
    for t in (5.0, 11.0, 12.0, 40.0, 85.0):
        house.on_charger_reading("car", ChargerReading(t_s=t, connected=True, charging=False), {})
        decision = house.step(t)
        assert decision is not None
        reasons.append(decision.loadpoints[0].reason)
    assert "old" not in reasons[0]
    assert reasons[1:] == [
        "grid reading 11 s old: solar charging stopped",
        "grid reading 12 s old: solar charging stopped",
        "grid reading 40 s old: solar charging stopped",
        "grid reading 85 s old: solar charging stopped",
    ]
