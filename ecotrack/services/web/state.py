"""Turn an engine :class:`~ecotrack.runtime.snapshot.Snapshot` into the API's :class:`StateResponse`.

One function, used by ``GET /api/state``, the WebSocket and the TWCManager-compatible endpoints, so
every client sees the same numbers. Ages are computed against the engine's clock at conversion time,
so a snapshot that stopped coming (engine stuck, meter gone) shows growing ages rather than frozen ones.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ecotrack.services.web.schemas import (
    ChargeNowState,
    ChargerState,
    LoadpointState,
    MeterState,
    ServiceState,
    SessionState,
    SiteState,
    StateResponse,
    VehicleInfo,
)

if TYPE_CHECKING:
    from ecotrack.runtime.sessions import Session
    from ecotrack.runtime.snapshot import LoadpointSnapshot, Snapshot
    from ecotrack.runtime.surface import EngineSurface
    from ecotrack.services.store.records import SessionRecord

__all__ = ["build_state", "house_w", "record_state", "session_state"]


def _finite(value: float | None) -> float | None:
    """None for None, NaN and infinity (JSON has no NaN; a broken meter value must not break the page)."""
    return value if value is not None and math.isfinite(value) else None


def house_w(snap: Snapshot) -> float | None:
    """Household consumption without the cars: grid + PV + battery - cars (None without a grid value)."""
    grid = _finite(snap.grid_w)
    if grid is None:
        return None
    cars = sum(lp.power_w for lp in snap.loadpoints if math.isfinite(lp.power_w))
    return grid + (_finite(snap.pv_w) or 0.0) + (_finite(snap.battery_w) or 0.0) - cars


def session_state(session: Session | SessionRecord) -> SessionState:
    """The API's view of an :class:`ecotrack.runtime.sessions.Session` (or of its stored form)."""
    share = session.solar_wh / session.energy_wh if session.energy_wh > 0 else None
    return SessionState(
        id=session.id,
        loadpoint=session.loadpoint,
        charger=session.charger,
        started=session.started,
        ended=session.ended,
        energy_wh=session.energy_wh,
        solar_wh=session.solar_wh,
        grid_wh=session.grid_wh,
        solar_share=None if share is None else min(1.0, max(0.0, share)),
        max_power_w=session.max_power_w,
        vehicle=session.vehicle,
        start=session.started,
        end=session.ended,
        energy_kwh=round(session.energy_wh / 1000, 4),
        solar_kwh=round(session.solar_wh / 1000, 4),
        grid_kwh=round(session.grid_wh / 1000, 4),
    )


def record_state(rec: SessionRecord) -> SessionState:
    """The API's view of a session from the history store (with its cost when a tariff is configured)."""
    state = session_state(rec)
    state.cost = round(rec.cost, 4) if rec.cost is not None else None
    state.savings = round(rec.savings, 4) if rec.savings is not None else None
    state.currency = rec.currency
    return state


def _loadpoint(lp: LoadpointSnapshot) -> LoadpointState:
    cn = lp.charge_now
    return LoadpointState(
        id=lp.name,
        charger=lp.charger,
        mode=lp.mode,
        user_mode=lp.user_mode,
        active_rule=lp.active_rule,
        status=lp.status,
        reason=lp.reason,
        commanded_a=lp.commanded_a,
        sent_a=lp.sent_a,
        offered_a=_finite(lp.offered_a),
        actual_a=lp.actual_a if math.isfinite(lp.actual_a) else 0.0,
        power_w=lp.power_w if math.isfinite(lp.power_w) else 0.0,
        connected=lp.connected,
        charging=lp.charging,
        charger_online=lp.charger_online,
        charger_error=lp.charger_error,
        min_a=lp.min_a,
        max_a=lp.max_a,
        limit_min_a=lp.limit_min_a,
        limit_max_a=lp.limit_max_a,
        phases=lp.phases,
        phases_choice=lp.phases_choice,
        phase_switching=lp.phase_switching,
        phase_switches=lp.phase_switches,
        energy_limit_wh=lp.energy_limit_wh,
        charge_now=ChargeNowState(amps=cn.amps, until=cn.until) if cn is not None else None,
        session=session_state(lp.session) if lp.session is not None else None,
        stop_escalations=lp.escalations,
        vehicle=vehicle_info(lp.details),
    )


def vehicle_info(details: dict[str, object]) -> VehicleInfo | None:
    """The car's facts the engine merged into a loadpoint's details (None when no car is named)."""
    name = details.get("vehicle")
    if not isinstance(name, str):
        return None

    def number(key: str) -> float | None:
        v = details.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None

    def flag(key: str) -> bool | None:
        v = details.get(key)
        return v if isinstance(v, bool) else None

    updated = details.get("vehicle_updated_at")
    requests = details.get("vehicle_api_requests")
    return VehicleInfo(
        name=name,
        soc_pct=number("soc_pct"),
        charge_limit_pct=number("charge_limit_pct"),
        min_soc_pct=number("min_soc_pct"),
        plugged_in=flag("vehicle_plugged_in"),
        charging=flag("vehicle_charging"),
        at_home=flag("vehicle_at_home"),
        range_km=number("range_km"),
        capacity_kwh=number("capacity_kwh"),
        updated_at=updated if isinstance(updated, str) else None,
        api_requests=requests if isinstance(requests, int) and not isinstance(requests, bool) else None,
        chosen=details.get("vehicle_chosen") is True,
    )


def build_state(engine: EngineSurface, snap: Snapshot) -> StateResponse:
    """The whole state as the API shows it."""
    now_s = engine.clock.now()
    max_age = engine.setup.params.max_meter_age_s
    age = None if snap.data_age_s is None else snap.data_age_s + max(0.0, now_s - snap.t_s)
    cars = sum(lp.power_w for lp in snap.loadpoints if math.isfinite(lp.power_w))
    site = SiteState(
        grid_w=_finite(snap.grid_w),
        pv_w=_finite(snap.pv_w),
        battery_w=_finite(snap.battery_w),
        battery_soc_pct=_finite(snap.battery_soc_pct),
        house_w=_finite(house_w(snap)),
        cars_w=cars,
        surplus_w=_finite(snap.surplus_w),
        voltage_v=_finite(snap.voltage_v),
        voltages_v=list(snap.grid_voltages_v) if snap.grid_voltages_v else None,
        currents_a=list(snap.grid_currents_a) if snap.grid_currents_a else None,
        data_age_s=age,
        stale=age is None or age > max_age,
        failsafe=snap.failsafe,
    )
    by_charger = {lp.charger: lp for lp in snap.loadpoints}
    chargers: list[ChargerState] = []
    meters: list[MeterState] = []
    services: list[ServiceState] = []
    for dev in snap.devices:
        dev_age = None if dev.last_t_s is None else max(0.0, now_s - dev.last_t_s)
        if dev.kind == "charger":
            lp = by_charger.get(dev.name)
            chargers.append(
                ChargerState(
                    id=dev.name,
                    loadpoint=lp.name if lp is not None else None,
                    online=dev.online,
                    error=dev.error,
                    last_report_age_s=dev_age,
                    failures=dev.failures,
                    details=_jsonable(lp.details) if lp is not None else {},
                )
            )
        elif dev.kind == "service":
            services.append(
                ServiceState(id=dev.name, online=dev.online, error=dev.error, failures=dev.failures)
            )
        else:
            meters.append(
                MeterState(
                    id=dev.name,
                    online=dev.online,
                    error=dev.error,
                    last_reading_age_s=dev_age,
                    failures=dev.failures,
                )
            )
    return StateResponse(
        time=snap.time,
        site=site,
        loadpoints=[_loadpoint(lp) for lp in snap.loadpoints],
        chargers=chargers,
        meters=meters,
        services=services,
        vehicles=list(getattr(engine, "vehicle_names", list)()),
        first_run=not engine.loadpoint_charger,
    )


def _jsonable(details: object) -> dict[str, object]:
    """A driver's details as plain JSON values (a driver bug must not break the state endpoint)."""
    if not isinstance(details, dict):
        return {}
    out: dict[str, object] = {}
    for key, value in details.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[str(key)] = None
        elif isinstance(value, str | int | float | bool) or value is None:
            out[str(key)] = value
        elif isinstance(value, list | tuple):
            out[str(key)] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[str(key)] = str(value)
    return out
