"""Request and response bodies of the REST API (pydantic, so ``/docs`` describes them and bad bodies get 422).

Request models are strict about unknown keys (a typo such as ``{"mdoe": "pv"}`` is an error naming the
field, not a silent no-op), about types (``{"kwh": true}`` or ``{"min_a": "7"}`` is a 422, not 1 kWh or
7 A: a number must be a JSON number, and an integer may stand for a float but a boolean never does), and
reject NaN, infinity and values outside a plausible range. Units are in the field names, as everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from ecotrack.core.model import Mode

__all__ = [
    "ChargeNowBody",
    "ChargeNowState",
    "ChargerState",
    "CurrentBody",
    "EnergyLimitBody",
    "HealthResponse",
    "HistoryResponse",
    "LoadpointState",
    "MeterState",
    "ModeBody",
    "PhasesBody",
    "ServiceState",
    "SessionState",
    "SessionsResponse",
    "SiteState",
    "StateResponse",
    "TwcChargeNowBody",
]


#: A JSON number (int or float), never a string or a boolean.
Number = Annotated[float, Strict()]
#: A JSON integer, never a string, a boolean or a float.
Integer = Annotated[int, Strict()]


def _iso_text(value: object) -> object:
    """Only text may become a time (a bare number would be read as Unix seconds, a bool as 1970)."""
    if value is not None and not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time with a time zone, as a string")
    return value


#: An ISO 8601 time with a time zone, given as a string.
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
#: The largest current any request may name (A); the loadpoint's configured limits are checked after.
MAX_REQUEST_A = 200.0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ModeBody(_Body):
    """``POST /api/loadpoints/{id}/mode``."""

    mode: Mode = Field(description="off, pv (surplus only), minpv (minimum plus surplus) or now (maximum).")


class CurrentBody(_Body):
    """``POST /api/loadpoints/{id}/current``: the user's current range, within the configured limits."""

    min_a: Number | None = Field(None, gt=0, le=MAX_REQUEST_A, description="Lowest current to charge with (A).")
    max_a: Number | None = Field(None, gt=0, le=MAX_REQUEST_A, description="Highest current to charge with (A).")

    @model_validator(mode="after")
    def _one_given(self) -> CurrentBody:
        if self.min_a is None and self.max_a is None:
            raise ValueError("give min_a, max_a or both")
        return self


class ChargeNowBody(_Body):
    """``POST /api/loadpoints/{id}/charge-now``: charge at full speed for a while, whatever the sun does."""

    amps: Number | None = Field(
        None, gt=0, le=MAX_REQUEST_A, description="Current (A); null: the loadpoint's maximum."
    )
    until: IsoTime | None = Field(
        None,
        description="When to stop (ISO 8601 with a time zone); null with no duration_s: until cancelled.",
    )
    duration_s: Number | None = Field(
        None, gt=0, le=7 * 86400, description="Alternative to until: for this many seconds from now."
    )

    @model_validator(mode="after")
    def _not_both(self) -> ChargeNowBody:
        if self.until is not None and self.duration_s is not None:
            raise ValueError("give until or duration_s, not both")
        return self


class EnergyLimitBody(_Body):
    """``POST /api/loadpoints/{id}/energy-limit``: stop the session after this much energy."""

    kwh: Number | None = Field(
        description="Session energy limit (kWh); null removes the limit.", ge=0, le=1000
    )


class PhasesBody(_Body):
    """``POST /api/loadpoints/{id}/phases``: fix the phases (1 or 3) or let the loadpoint switch (auto)."""

    phases: Literal[1, 3, "auto"] = Field(
        description="1 or 3: fixed; auto: 1 phase while the surplus is below the 3-phase minimum, else 3."
    )


class VehicleBody(_Body):
    """``POST /api/loadpoints/{id}/vehicle``: which car is on the loadpoint."""

    vehicle: str | None = Field(
        max_length=100, description="Name of a configured vehicle; null: automatic (the TWC's VIN, else the default)."
    )


class TwcChargeNowBody(BaseModel):
    """TWCManager's ``POST /api/chargeNow`` body (its field names; extra keys ignored, as TWCManager did)."""

    model_config = ConfigDict(allow_inf_nan=False)

    chargeNowRate: Integer = Field(gt=0, le=int(MAX_REQUEST_A), description="Amps.")
    chargeNowDuration: Integer = Field(gt=0, le=7 * 86400, description="Seconds.")


# ------------------------------------------------------------------------------------------ responses


class SiteState(BaseModel):
    """The house: meters and what the controller makes of them. Power sign: grid + import, battery + discharge."""

    grid_w: float | None
    pv_w: float | None
    battery_w: float | None
    battery_soc_pct: float | None
    #: Household consumption without the cars: grid + PV + battery - cars.
    house_w: float | None
    cars_w: float
    surplus_w: float | None
    voltage_v: float | None
    #: Per-phase voltages (V) and currents (A, + import) at the grid connection, when the meter gives them.
    voltages_v: list[float] | None = None
    currents_a: list[float] | None = None
    #: Age of the last grid reading (s); None before the first.
    data_age_s: float | None
    #: The grid reading is older than the configured max_meter_age_s (or there is none).
    stale: bool
    failsafe: bool


class ChargeNowState(BaseModel):
    """An active charge-now."""

    amps: float | None
    until: datetime | None


class SessionState(BaseModel):
    """One charging session (car connected to disconnected)."""

    id: str
    loadpoint: str
    charger: str
    started: datetime
    ended: datetime | None
    energy_wh: float
    solar_wh: float
    grid_wh: float
    #: solar_wh / energy_wh (0..1), None before any energy.
    solar_share: float | None
    max_power_w: float
    vehicle: str | None
    #: The same times and energies as the history store and ``ecotrack sessions list --json`` name them.
    start: datetime
    end: datetime | None
    energy_kwh: float
    solar_kwh: float
    grid_kwh: float
    #: What the energy cost (grid at the import price, solar at the feed-in price); None without a
    #: tariff or without the history store.
    cost: float | None = None
    savings: float | None = None
    currency: str | None = None


class VehicleInfo(BaseModel):
    """The car on a loadpoint, as its source (TeslaMate, the Fleet API, ...) last reported it."""

    name: str
    soc_pct: float | None = None
    charge_limit_pct: float | None = None
    min_soc_pct: float | None = None
    plugged_in: bool | None = None
    charging: bool | None = None
    at_home: bool | None = None
    range_km: float | None = None
    capacity_kwh: float | None = None
    #: When the source last reported a valid value (ISO 8601), None before the first.
    updated_at: str | None = None
    #: Requests made to a billed vehicle API (Tesla Fleet API) so far; None for other sources.
    api_requests: int | None = None
    #: True when a user chose this car (POST .../vehicle), False when automatic (TWC VIN or the default).
    chosen: bool = False


class LoadpointState(BaseModel):
    """One charger with its car."""

    id: str
    charger: str
    #: The mode in force (after rules such as charge-now).
    mode: Mode
    #: The mode the user chose.
    user_mode: Mode
    #: The rule that decided the mode (e.g. manual, charge-now, energy-limit).
    active_rule: str
    status: str
    reason: str
    commanded_a: float
    sent_a: float | None
    offered_a: float | None
    actual_a: float
    power_w: float
    connected: bool
    charging: bool
    charger_online: bool
    charger_error: str | None
    #: The user's current range (A).
    min_a: float
    max_a: float
    #: The configured bounds of that range (A).
    limit_min_a: float
    limit_max_a: float
    #: Phases the charger uses now.
    phases: int
    #: The user's phase choice (``1``, ``3`` or ``auto``); None when the charger cannot switch.
    phases_choice: str | None = None
    #: Where a switch is (``steady``, ``pausing``: waiting for 0 A, ``switching``: waiting for the new
    #: count); None when the charger cannot switch.
    phase_switching: str | None = None
    #: Phase switches since the start.
    phase_switches: int = 0
    energy_limit_wh: float | None
    charge_now: ChargeNowState | None
    session: SessionState | None
    #: The car on the loadpoint (``vehicles:`` section), None without one.
    vehicle: VehicleInfo | None = None
    #: Times the charger's stop method was run because it kept drawing current after 0 A
    #: (``status`` is ``fault`` while it still does).
    stop_escalations: int = 0


class ChargerState(BaseModel):
    """Health of a charger driver, with what the driver knows about the device."""

    id: str
    loadpoint: str | None
    online: bool
    error: str | None
    #: Seconds since its last report (engine clock), None before the first.
    last_report_age_s: float | None
    failures: int
    details: dict[str, object]


class MeterState(BaseModel):
    """Health of a meter source."""

    id: str
    online: bool
    error: str | None
    last_reading_age_s: float | None
    failures: int


class ServiceState(BaseModel):
    """Health of a service the daemon runs (web server, MQTT, history store)."""

    id: str
    online: bool
    error: str | None
    failures: int


class StateResponse(BaseModel):
    """``GET /api/state`` and every WebSocket message's ``data``."""

    time: datetime
    site: SiteState
    loadpoints: list[LoadpointState]
    chargers: list[ChargerState]
    meters: list[MeterState]
    services: list[ServiceState]
    #: The configured vehicles (``vehicles:``), for choosing the car on a loadpoint.
    vehicles: list[str] = []
    #: True while no loadpoint is configured (a fresh install): the dashboard then shows what to do next
    #: (``ecotrack init``, ``ecotrack import twcmanager``) instead of empty cards.
    first_run: bool = False


class HealthResponse(BaseModel):
    """``GET /healthz``: the status for everyone; the problems and data age only for clients that may read."""

    status: Literal["ok", "degraded", "down"]
    problems: list[str] | None = None
    data_age_s: float | None = None


class HistoryResponse(BaseModel):
    """``GET /api/history``: columns of equal length, ready for a chart. Times are Unix seconds.

    ``source`` is ``store`` when the history store answered, ``memory`` for the in-memory buffer
    (lost on restart).
    """

    source: Literal["memory", "store"]
    step_s: float
    t: list[float]
    pv_w: list[float | None]
    house_w: list[float | None]
    car_w: list[float | None]
    grid_w: list[float | None]
    battery_w: list[float | None]


class SessionsResponse(BaseModel):
    """``GET /api/sessions``: open sessions first, then newest first (``source`` as for the history)."""

    source: Literal["memory", "store"]
    sessions: list[SessionState]
