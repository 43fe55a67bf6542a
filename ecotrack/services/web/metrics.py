"""``GET /metrics``: the state in Prometheus' text exposition format (version 0.0.4).

Written by hand (a dozen gauges do not justify a dependency). Missing values (no PV meter, no reading
yet) are left out rather than exported as 0, so a dashboard shows a gap instead of a false zero.
Label values are escaped as the format requires (backslash, double quote, newline).
"""

from __future__ import annotations

from collections.abc import Iterable

from ecotrack.core.model import Mode
from ecotrack.services.web.schemas import StateResponse

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._declared: set[str] = set()

    def gauge(
        self,
        name: str,
        help_: str,
        samples: Iterable[tuple[dict[str, str], float | bool | None]],
        kind: str = "gauge",
    ) -> None:
        rows = [(labels, value) for labels, value in samples if value is not None]
        if name not in self._declared:
            self._declared.add(name)
            self.lines.append(f"# HELP {name} {help_}")
            self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            self.lines.append(f"{name}{_labels(labels)} {float(value)!r}")


def render_metrics(state: StateResponse, extra: dict[str, tuple[str, str, float]] | None = None) -> str:
    """The exposition text for ``state``; ``extra`` adds ``{name: (kind, help, value)}`` (web-layer counters)."""
    w = _Writer()
    s = state.site
    w.gauge("ecotrack_grid_power_watts", "Grid power, + import / - export.", [({}, s.grid_w)])
    w.gauge("ecotrack_pv_power_watts", "PV generation.", [({}, s.pv_w)])
    w.gauge("ecotrack_battery_power_watts", "Home battery power, + discharge.", [({}, s.battery_w)])
    w.gauge("ecotrack_battery_soc_percent", "Home battery state of charge.", [({}, s.battery_soc_pct)])
    w.gauge("ecotrack_house_power_watts", "Household consumption without the cars.", [({}, s.house_w)])
    w.gauge(
        "ecotrack_surplus_watts",
        "Surplus available to the cars as the controller sees it.",
        [({}, s.surplus_w)],
    )
    w.gauge("ecotrack_data_age_seconds", "Age of the last grid meter reading.", [({}, s.data_age_s)])
    w.gauge("ecotrack_data_stale", "1 when the grid reading is too old to control on.", [({}, s.stale)])
    w.gauge("ecotrack_failsafe", "1 while the controller is in its failsafe.", [({}, s.failsafe)])

    lps = state.loadpoints
    lab = [{"loadpoint": lp.id} for lp in lps]
    w.gauge(
        "ecotrack_loadpoint_power_watts",
        "Charging power.",
        [(la, lp.power_w) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_current_amps",
        "Measured charging current per phase.",
        [(la, lp.actual_a) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_commanded_amps",
        "Current the controller decided.",
        [(la, lp.commanded_a) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_offered_amps",
        "Current the charger says it offers.",
        [(la, lp.offered_a) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_max_amps",
        "The user's maximum current.",
        [(la, lp.max_a) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_connected",
        "1 when a car is plugged in.",
        [(la, lp.connected) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_charging",
        "1 while the car charges.",
        [(la, lp.charging) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_charger_online",
        "1 when the charger answers.",
        [(la, lp.charger_online) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_fault",
        "1 while the loadpoint is in fault (its charger kept drawing current after 0 A).",
        [(la, lp.status == "fault") for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_stop_escalations_total",
        "Times the charger's stop method was run because 0 A did not stop it.",
        [(la, lp.stop_escalations) for la, lp in zip(lab, lps, strict=True)],
        kind="counter",
    )
    w.gauge(
        "ecotrack_loadpoint_mode",
        "1 for the mode in force, 0 for the others.",
        [({"loadpoint": lp.id, "mode": m.value}, lp.mode == m) for lp in lps for m in Mode],
    )
    w.gauge(
        "ecotrack_loadpoint_session_energy_watthours",
        "Energy of the current session.",
        [(la, lp.session.energy_wh if lp.session else None) for la, lp in zip(lab, lps, strict=True)],
    )
    w.gauge(
        "ecotrack_loadpoint_session_solar_watthours",
        "Solar part of the current session's energy.",
        [(la, lp.session.solar_wh if lp.session else None) for la, lp in zip(lab, lps, strict=True)],
    )
    cars = [(lp.vehicle, {"loadpoint": lp.id, "vehicle": lp.vehicle.name}) for lp in lps if lp.vehicle is not None]
    w.gauge("ecotrack_vehicle_soc_percent", "State of charge of the car on a loadpoint.", [(la, v.soc_pct) for v, la in cars])
    w.gauge(
        "ecotrack_vehicle_api_requests_total",
        "Requests made to a billed vehicle API (Tesla Fleet API).",
        [(la, v.api_requests) for v, la in cars],
        kind="counter",
    )
    w.gauge(
        "ecotrack_device_online",
        "1 when a meter or charger driver runs and reports.",
        [({"device": d.id, "kind": "charger"}, d.online) for d in state.chargers]
        + [({"device": d.id, "kind": "meter"}, d.online) for d in state.meters],
    )
    w.gauge(
        "ecotrack_device_failures",
        "Consecutive failures of a device's task.",
        [({"device": d.id, "kind": "charger"}, d.failures) for d in state.chargers]
        + [({"device": d.id, "kind": "meter"}, d.failures) for d in state.meters],
    )
    for name, (kind, help_, value) in (extra or {}).items():
        w.gauge(name, help_, [({}, value)], kind=kind)
    return "\n".join(w.lines) + "\n"
