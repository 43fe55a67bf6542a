"""Prometheus exposition details: label escaping and missing values left out."""

from __future__ import annotations

from datetime import UTC, datetime

from ecotrack.services.web.metrics import render_metrics
from ecotrack.services.web.schemas import MeterState, SiteState, StateResponse


def test_unknown_values_are_left_out_and_labels_escaped() -> None:
    site = SiteState(
        grid_w=None, pv_w=None, battery_w=None, battery_soc_pct=None, house_w=None, cars_w=0, surplus_w=None,
        voltage_v=None, data_age_s=None, stale=True, failsafe=False,
    )  # fmt: skip
    state = StateResponse(
        time=datetime.now(UTC), site=site, loadpoints=[], chargers=[], meters=[], services=[]
    )
    state.meters.append(
        MeterState(id='odd "name"\\\n', online=False, error=None, last_reading_age_s=None, failures=3)
    )
    text = render_metrics(state)
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert not any(line.startswith("ecotrack_grid_power_watts") for line in samples)  # only HELP/TYPE
    assert "# TYPE ecotrack_grid_power_watts gauge" in text
    assert "ecotrack_data_stale 1.0" in text
    assert 'ecotrack_device_failures{device="odd \\"name\\"\\\\\\n",kind="meter"} 3.0' in text
