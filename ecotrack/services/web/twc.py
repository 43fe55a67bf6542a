"""TWCManager-compatible endpoints, so scripts written for TWCManager keep working.

Same paths, field names and value formats as TWCManager's HTTP control (numbers as ``"%.2f"`` strings
where it used them), mapped onto ecotrack's state:

* ``GET /api/getStatus`` — site totals; ``consumption`` is the house including the cars (what an
  energy meter reports), ``generation`` the PV power, amps = watts / (site voltage x phases);
* ``GET /api/getSlaveTWCs`` — one entry per charger, keyed by its TWC id when the driver reports one
  (``details["twc_id"]``), else by the charger's name, plus ``total``;
* ``POST /api/chargeNow {chargeNowRate, chargeNowDuration}`` — charge-now on every loadpoint at
  ``min(rate, loadpoint max)`` A for the duration (s); a rate below a loadpoint's minimum is refused (422);
* ``POST /api/cancelChargeNow`` — ends charge-now everywhere.

Differences, on purpose: the POSTs need the bearer token like every write, and a bad body is a 422
naming the field (TWCManager answered 400).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from ecotrack.core.model import Mode
from ecotrack.services.web.api import Read, Write
from ecotrack.services.web.schemas import StateResponse, TwcChargeNowBody
from ecotrack.services.web.state import build_state

__all__ = ["router"]

router = APIRouter(tags=["TWCManager compatible"])


def _f2(value: float | None) -> str:
    return f"{(value or 0.0):.2f}"


def _policy(state: StateResponse) -> str:
    """TWCManager's policy name closest to what ecotrack does now."""
    lps = state.loadpoints
    if any(lp.charge_now is not None for lp in lps) or any(lp.mode == Mode.NOW for lp in lps):
        return "Charge Now"
    if any(lp.mode in (Mode.PV, Mode.MINPV) for lp in lps):
        return "Track Green Energy"
    return "Non Scheduled Charging"


@router.get("/api/getStatus")
async def get_status(ctx: Read) -> dict[str, Any]:
    """TWCManager's status summary."""
    state = build_state(ctx.engine, ctx.engine.snapshot())
    setup = ctx.engine.setup
    volts = (state.site.voltage_v or setup.params.voltage_v) * setup.phases
    cars_w = state.site.cars_w
    consumption = (state.site.house_w + cars_w) if state.site.house_w is not None else None
    policy = _policy(state)
    return {
        "carsCharging": sum(1 for lp in state.loadpoints if lp.charging),
        "chargerLoadWatts": _f2(cars_w),
        "chargerLoadAmps": _f2(cars_w / volts),
        "currentPolicy": policy,
        "maxAmpsToDivideAmongSlaves": _f2(sum(lp.commanded_a for lp in state.loadpoints)),
        "consumptionWatts": _f2(consumption),
        "consumptionAmps": _f2((consumption or 0.0) / volts),
        "generationWatts": _f2(state.site.pv_w),
        "generationAmps": _f2((state.site.pv_w or 0.0) / volts),
        "isGreenPolicy": "Yes" if policy == "Track Green Energy" else "No",
    }


@router.get("/api/getSlaveTWCs")
async def get_slave_twcs(ctx: Read) -> dict[str, Any]:
    """TWCManager's per-charger ("slave") view, plus ``total``."""
    state = build_state(ctx.engine, ctx.engine.snapshot())
    chargers = {c.id: c for c in state.chargers}
    out: dict[str, Any] = {}
    total = {
        "carsCharging": 0,
        "lastAmpsOffered": 0.0,
        "lifetimekWh": 0.0,
        "maxAmps": 0.0,
        "reportedAmpsActual": 0.0,
    }
    for lp in state.loadpoints:
        ch = chargers.get(lp.charger)
        details = ch.details if ch is not None else {}
        twcid = str(details.get("twc_id") or lp.charger)
        volts = details.get("voltages_v")
        volts_list = list(volts) if isinstance(volts, list) else []
        lifetime = details.get("lifetime_kwh")
        lifetime_kwh = float(lifetime) if isinstance(lifetime, int | float) else 0.0
        vin = details.get("vin")
        offered = lp.offered_a if lp.offered_a is not None else (lp.sent_a or 0.0)
        out[twcid] = {
            "TWCID": twcid,
            "carsCharging": int(lp.charging),
            "chargerLoadInW": round(lp.power_w),
            "currentVIN": vin if isinstance(vin, str) else "",
            "lastAmpsOffered": round(offered, 2),
            "lastHeartbeat": round(ch.last_report_age_s, 2)
            if ch is not None and ch.last_report_age_s is not None
            else None,
            "lastVIN": vin if isinstance(vin, str) else "",
            "lifetimekWh": lifetime_kwh,
            "maxAmps": float(lp.limit_max_a),
            "reportedAmpsActual": round(lp.actual_a, 2),
            "state": details.get("state") or lp.status,
            "version": details.get("protocol") or 0,
            "voltsPhaseA": volts_list[0] if len(volts_list) > 0 else 0,
            "voltsPhaseB": volts_list[1] if len(volts_list) > 1 else 0,
            "voltsPhaseC": volts_list[2] if len(volts_list) > 2 else 0,
            "chargeTime": "--:--:--",
        }
        total["carsCharging"] += int(lp.charging)
        total["lastAmpsOffered"] += offered
        total["lifetimekWh"] += lifetime_kwh
        total["maxAmps"] = lp.limit_max_a if total["maxAmps"] == 0 else min(total["maxAmps"], lp.limit_max_a)
        total["reportedAmpsActual"] += lp.actual_a
    out["total"] = {
        **total,
        "lastAmpsOffered": round(total["lastAmpsOffered"], 2),
        "reportedAmpsActual": round(total["reportedAmpsActual"], 2),
        "TWCID": "total",
    }
    return out


@router.post("/api/chargeNow")
async def charge_now(body: TwcChargeNowBody, ctx: Write) -> dict[str, Any]:
    """Charge every loadpoint at ``chargeNowRate`` A (capped at each one's maximum) for ``chargeNowDuration`` s."""
    state = build_state(ctx.engine, ctx.engine.snapshot())
    too_low = [lp.id for lp in state.loadpoints if body.chargeNowRate < lp.limit_min_a]
    if too_low:
        lowest = min(lp.limit_min_a for lp in state.loadpoints if lp.id in too_low)
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "chargeNowRate"),
                    "msg": f"below the minimum current {lowest:g} A of {', '.join(too_low)}",
                    "input": body.chargeNowRate,
                }
            ]
        )
    until = ctx.engine.wall() + timedelta(seconds=body.chargeNowDuration)
    for lp in state.loadpoints:
        ctx.engine.charge_now(lp.id, amps=min(float(body.chargeNowRate), lp.limit_max_a), until=until)
    return {"status": "success", "rate": body.chargeNowRate, "duration": body.chargeNowDuration}


@router.post("/api/cancelChargeNow")
async def cancel_charge_now(ctx: Write) -> dict[str, Any]:
    """End charge-now on every loadpoint."""
    for lp in ctx.engine.loadpoint_charger:
        ctx.engine.cancel_charge_now(lp)
    return {"status": "success"}
