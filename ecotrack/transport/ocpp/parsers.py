"""Pure functions over OCPP 1.6J messages: frames, connector status, meter values, charging profiles.

No I/O, no clock: the session feeds them what arrived and gets values or a reason. Table tests in
``tests/ocpp/test_parsers.py``. Every number from a charge point is checked against a plausible range;
a value outside it is dropped with a reason, never passed on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "CALL",
    "CALLERROR",
    "CALLRESULT",
    "ConnectorFlags",
    "Frame",
    "FrameError",
    "Measurement",
    "call_error_frame",
    "charging_profile",
    "connector_flags",
    "parse_frame",
    "parse_meter_values",
]

CALL = 2
CALLRESULT = 3
CALLERROR = 4

#: Plausible ranges of measured values (inclusive); beyond them a value is dropped.
CURRENT_RANGE_A = (0.0, 125.0)
POWER_RANGE_W = (-1_000.0, 400_000.0)
ENERGY_RANGE_WH = (0.0, 1e10)
VOLTAGE_RANGE_V = (0.0, 500.0)
SOC_RANGE_PCT = (0.0, 100.0)

#: Longest unique id of a message (OCPP-J: maximum 36 characters).
MAX_UNIQUE_ID = 36


@dataclass(frozen=True, slots=True)
class Frame:
    """One well-formed OCPP-J message: a call (``action`` and ``payload``), a result or an error."""

    kind: int
    unique_id: str
    action: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_description: str | None = None


@dataclass(frozen=True, slots=True)
class FrameError:
    """A message that cannot be used, with the CallError code OCPP 1.6J names for it.

    ``unique_id`` is the message's id when it could be read (the CallError must carry it), else ``"-1"``.
    ``answer`` is False for a broken CallResult/CallError: those are never answered.
    """

    unique_id: str
    code: Literal["FormationViolation", "ProtocolError", "NotImplemented", "NotSupported", "TypeConstraintViolation"]
    reason: str
    answer: bool = True


def parse_frame(raw: str | bytes) -> Frame | FrameError:
    """The message in the websocket text ``raw``, or why it is none.

    Binary frames and broken JSON are ``FormationViolation``; JSON that is not an OCPP-J array of the
    right arity is ``ProtocolError``.
    """
    if isinstance(raw, bytes):
        return FrameError("-1", "FormationViolation", "binary frame; OCPP-J uses text frames")
    try:
        msg = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return FrameError("-1", "FormationViolation", "not valid JSON")
    if not isinstance(msg, list) or not msg:
        return FrameError("-1", "ProtocolError", "not an OCPP-J message array")
    kind = msg[0]
    uid = msg[1] if len(msg) > 1 and isinstance(msg[1], str) and 0 < len(msg[1]) <= MAX_UNIQUE_ID else None
    if uid is None:
        return FrameError("-1", "ProtocolError", "missing or invalid unique id (a string of 1-36 characters)")
    if isinstance(kind, bool) or kind not in (CALL, CALLRESULT, CALLERROR):
        return FrameError(uid, "ProtocolError", f"unknown message type {preview(kind)}")
    if kind == CALL:
        if len(msg) != 4:
            return FrameError(uid, "ProtocolError", "a call has 4 elements")
        action, payload = msg[2], msg[3]
        if not isinstance(action, str) or not 0 < len(action) <= 64:
            return FrameError(uid, "FormationViolation", "the action must be a name")
        if not isinstance(payload, dict):
            return FrameError(uid, "FormationViolation", "the payload must be a JSON object")
        return Frame(CALL, uid, action, payload)
    if kind == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict):
            return FrameError(uid, "ProtocolError", "a call result has 3 elements, the last an object", answer=False)
        return Frame(CALLRESULT, uid, payload=msg[2])
    if len(msg) != 5 or not isinstance(msg[2], str) or not isinstance(msg[3], str):
        return FrameError(uid, "ProtocolError", "a call error has 5 elements", answer=False)
    details = msg[4] if isinstance(msg[4], dict) else {}
    return Frame(CALLERROR, uid, payload=details, error_code=msg[2][:64], error_description=msg[3][:255])


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def call_error_frame(unique_id: str, code: str, description: str) -> str:
    """The CallError text answering ``unique_id``."""
    return json.dumps([CALLERROR, unique_id, code, description[:255], {}])


def preview(value: object, limit: int = 60) -> str:
    """A short printable rendering of ``value`` for log lines."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------ connector status

#: StatusNotification status values of OCPP 1.6.
STATUSES = frozenset(
    {"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable", "Faulted"}
)


@dataclass(frozen=True, slots=True)
class ConnectorFlags:
    """What a connector status means for the engine."""

    connected: bool
    charging: bool
    fault: bool
    usable: bool


def connector_flags(status: str) -> ConnectorFlags:
    """The flags of an OCPP 1.6 connector status (ValueError for a status 1.6 does not have).

    A car is connected from Preparing to Finishing; only Charging draws current; Faulted is a fault;
    Unavailable (switched off by the operator or a local switch) cannot be charged from.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown connector status {preview(status)}")
    connected = status in ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing")
    return ConnectorFlags(
        connected=connected,
        charging=status == "Charging",
        fault=status == "Faulted",
        usable=status not in ("Faulted", "Unavailable"),
    )


# ------------------------------------------------------------------------------------------ meter values

_PHASES = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}
_POWER_UNITS = {"W": 1.0, "kW": 1000.0}
_ENERGY_UNITS = {"Wh": 1.0, "kWh": 1000.0}


@dataclass(frozen=True, slots=True)
class Measurement:
    """The latest values of one MeterValues message (None: not sent, or dropped as implausible)."""

    currents_a: tuple[float | None, float | None, float | None] = (None, None, None)
    current_a: float | None = None
    power_w: float | None = None
    energy_wh: float | None = None
    voltage_v: float | None = None
    soc_pct: float | None = None
    problems: tuple[str, ...] = ()

    @property
    def max_current_a(self) -> float | None:
        """The highest phase current (or the current without a phase), None when none was sent."""
        values = [c for c in (*self.currents_a, self.current_a) if c is not None]
        return max(values) if values else None


def _number(text: object) -> float | None:
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def parse_meter_values(meter_value: object) -> Measurement:
    """The newest sampled values of a MeterValues ``meterValue`` list (or a StopTransaction's ``transactionData``).

    Samples are read in order, a later one overriding an earlier one. Signed data, unknown measurands,
    unknown units and values outside the plausible ranges are skipped, each with a reason in
    ``problems``. A value without ``measurand`` is the energy register (the 1.6 default).
    """
    currents: list[float | None] = [None, None, None]
    current: float | None = None
    power = energy = voltage = soc = None
    problems: list[str] = []
    if not isinstance(meter_value, list):
        return Measurement(problems=("meterValue is not a list",))

    def bad(what: str, raw: object) -> None:
        if len(problems) < 10:
            problems.append(f"{what} {preview(raw, 30)}")

    for entry in meter_value[:16]:
        samples = entry.get("sampledValue") if isinstance(entry, dict) else None
        if not isinstance(samples, list):
            bad("meterValue entry without sampledValue:", entry)
            continue
        for sample in samples[:64]:
            if not isinstance(sample, dict):
                bad("sampledValue is not an object:", sample)
                continue
            if sample.get("format") == "SignedData":
                continue
            if sample.get("context") in ("Interruption.Begin", "Interruption.End"):
                continue
            measurand = sample.get("measurand", "Energy.Active.Import.Register")
            unit = sample.get("unit")
            value = _number(sample.get("value"))
            if value is None:
                bad(f"{measurand}: not a number:", sample.get("value"))
                continue
            phase = sample.get("phase")
            if measurand == "Current.Import":
                if unit not in (None, "A"):
                    bad("Current.Import in unit", unit)
                elif not _in(value, CURRENT_RANGE_A):
                    bad("implausible current (A):", value)
                elif phase is None:
                    current = value
                elif phase in ("L1", "L2", "L3"):
                    currents[_PHASES[phase]] = value
            elif measurand == "Power.Active.Import":
                factor = _POWER_UNITS.get(unit or "W")
                if factor is None:
                    bad("Power.Active.Import in unit", unit)
                elif phase is not None:
                    continue  # the total without phase is what we use
                elif not _in(value * factor, POWER_RANGE_W):
                    bad("implausible power (W):", value * factor)
                else:
                    power = value * factor
            elif measurand == "Energy.Active.Import.Register":
                factor = _ENERGY_UNITS.get(unit or "Wh")
                if factor is None:
                    bad("Energy.Active.Import.Register in unit", unit)
                elif phase is not None:
                    continue
                elif not _in(value * factor, ENERGY_RANGE_WH):
                    bad("implausible energy (Wh):", value * factor)
                else:
                    energy = value * factor
            elif measurand == "Voltage":
                if unit not in (None, "V"):
                    bad("Voltage in unit", unit)
                elif phase in ("L1-L2", "L2-L3", "L3-L1"):
                    continue  # line-to-line: not the per-phase voltage the power rule uses
                elif not _in(value, VOLTAGE_RANGE_V):
                    bad("implausible voltage (V):", value)
                elif voltage is None or phase in (None, "L1", "L1-N"):
                    voltage = value
            elif measurand == "SoC":
                if unit not in (None, "Percent"):
                    bad("SoC in unit", unit)
                elif not _in(value, SOC_RANGE_PCT):
                    bad("implausible SoC (%):", value)
                else:
                    soc = value
    return Measurement(
        currents_a=(currents[0], currents[1], currents[2]),
        current_a=current,
        power_w=power,
        energy_wh=energy,
        voltage_v=voltage,
        soc_pct=soc,
        problems=tuple(problems),
    )


# ------------------------------------------------------------------------------------- charging profiles

ProfilePurpose = Literal["TxDefaultProfile", "TxProfile"]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def charging_profile(
    *,
    profile_id: int,
    stack_level: int,
    purpose: ProfilePurpose,
    limit_a: float,
    phases: int,
    start: datetime,
    valid_to: datetime | None,
    transaction_id: int | None = None,
) -> dict[str, Any]:
    """A ``csChargingProfiles`` object (wire names) limiting the current to ``limit_a`` from ``start``.

    The rate unit is A (per phase) and ``numberPhases`` the loadpoint's phases; ``valid_to`` None is a
    permanent profile. ``limit_a`` is rounded down to 0.1 A so rounding never raises it.
    """
    if not math.isfinite(limit_a) or limit_a < 0:
        raise ValueError(f"invalid limit {limit_a!r}")
    if phases not in (1, 2, 3):
        raise ValueError(f"invalid number of phases {phases!r}")
    if purpose == "TxProfile" and transaction_id is None:
        raise ValueError("a TxProfile needs the transaction id")
    profile: dict[str, Any] = {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "startSchedule": _iso(start),
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": math.floor(limit_a * 10 + 1e-9) / 10, "numberPhases": phases}
            ],
        },
    }
    if valid_to is not None:
        profile["validTo"] = _iso(valid_to)
        profile["chargingSchedule"]["duration"] = max(1, int((valid_to - start).total_seconds()))
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    return profile
