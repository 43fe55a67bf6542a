"""Turning what devices send (JSON fields, text with units, paths) into checked floats in watts.

Every vendor module goes through these helpers so that a wrong answer is rejected the same way
everywhere: a :class:`~ecotrack.meters.polling.SourceError` naming the field and the value, never a
``KeyError`` traceback and never a guessed number. ``None`` is returned only where the caller asked
for it (``optional=True``), for fields a vendor documents as null (PV at night, no battery).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ecotrack.meters.base import MeterReading
from ecotrack.meters.polling import SourceError

__all__ = [
    "MAX_POWER_W",
    "ROLES",
    "bounded",
    "field",
    "json_path",
    "parse_quantity",
    "power_w",
    "pv_nonnegative",
    "reading_from_roles",
    "role_value",
    "soc_pct",
    "to_float",
]

_MISSING = object()

#: Power units and their factor to watts (case-sensitive where it matters: mW is not MW).
_POWER_UNITS: dict[str, float] = {"W": 1.0, "w": 1.0, "kW": 1000.0, "kw": 1000.0, "KW": 1000.0, "MW": 1e6}

_QUANTITY_RE = re.compile(r"^\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


def to_float(value: object, what: str) -> float:
    """``value`` (a number or a numeric string) as a finite float; :class:`SourceError` otherwise."""
    if isinstance(value, bool) or value is None:
        raise SourceError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise SourceError(f"{what}: expected a number, got {_short(value)!r}") from None
    else:
        raise SourceError(f"{what}: expected a number, got {type(value).__name__} {_short(value)!r}")
    if not math.isfinite(result):
        raise SourceError(f"{what}: {value!r} is not a finite number")
    return result


def field(obj: object, path: str, *, optional: bool = False) -> float | None:
    """The number at ``path`` in ``obj`` (see :func:`json_path`).

    ``optional``: a missing field or a JSON null gives None (the vendor documents it as "not
    measured"); otherwise both are a :class:`SourceError`.
    """
    value = json_path(obj, path, default=None if optional else _MISSING)
    if value is None and optional:
        return None
    return to_float(value, path)


def json_path(obj: object, path: str, *, default: object = _MISSING) -> Any:
    """Follow a dotted path with optional list indices: ``Body.Data.Site.P_PV``, ``production[1].wNow``.

    A path segment that is an integer also indexes a list (``production.1.wNow``). An empty path is
    the whole object. A missing key raises :class:`SourceError` naming the path, unless ``default``
    is given.
    """
    node: Any = obj
    if not path:
        return node
    walked: list[str] = []
    for part in _split_path(path):
        walked.append(str(part))
        try:
            if isinstance(node, Mapping):
                node = node[str(part)]
            elif isinstance(node, Sequence) and not isinstance(node, str | bytes) and isinstance(part, int):
                node = node[part]
            else:
                raise LookupError
        except (LookupError, TypeError):
            if default is not _MISSING:
                return default
            where = ".".join(walked)
            raise SourceError(f"{path}: no {where!r} in the answer") from None
    return node


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for segment in path.split("."):
        if not segment:
            raise SourceError(f"bad path {path!r}: empty segment")
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", segment)
        if m is None:
            raise SourceError(f"bad path {path!r} at {segment!r}")
        name, indices = m.groups()
        if name:
            parts.append(int(name) if name.isdigit() else name)
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", indices))
    return parts


def parse_quantity(text: str, what: str) -> tuple[float, str | None]:
    """``"1234.5 W"`` -> ``(1234.5, "W")``; ``"42"`` -> ``(42.0, None)``.

    Accepts a decimal comma (some openHAB locales). Anything else is a :class:`SourceError` quoting
    the text, e.g. openHAB's ``NULL``/``UNDEF`` or Home Assistant's ``unavailable``.
    """
    m = _QUANTITY_RE.match(text)
    if m is None:
        raise SourceError(f"{what}: expected a number, got {_short(text)!r}")
    number, unit = m.groups()
    return to_float(number.replace(",", "."), what), (unit.strip() if unit else None)


def power_w(value: float, unit: str | None, what: str, *, default_unit: str | None = None) -> float:
    """``value`` in ``unit`` (W, kW, MW; None means ``default_unit``) converted to watts."""
    chosen = unit if unit else default_unit
    if chosen is None:
        raise SourceError(f"{what}: the value has no unit; set the unit (W or kW) in the configuration")
    factor = _POWER_UNITS.get(chosen)
    if factor is None:
        raise SourceError(f"{what}: unit {chosen!r} is not a power unit (expected W or kW)")
    return value * factor


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def reading_from_roles(t_s: float, values: Mapping[str, float | None]) -> MeterReading:
    """A reading from ``{"grid": w, "pv": w, "battery": w, "battery_soc": pct}`` (missing roles are None)."""
    return MeterReading(
        t_s=t_s,
        grid_w=values.get("grid"),
        pv_w=values.get("pv"),
        battery_w=values.get("battery"),
        battery_soc_pct=values.get("battery_soc"),
    )


def soc_pct(value: float, what: str) -> float:
    """A state of charge, which must lie in 0..100 % (a little slack for rounding)."""
    if not -0.5 <= value <= 100.5:
        raise SourceError(f"{what}: state of charge {value:g} % is outside 0..100 %")
    return min(100.0, max(0.0, value))


#: The largest power a house meter plausibly reports (W): a large farm or small business connection.
#: A bigger number is a unit mix-up (mW, Wh counters) or a corrupt answer, not a reading.
MAX_POWER_W = 500_000.0


def bounded(
    value: float, what: str, *, low: float = -MAX_POWER_W, high: float = MAX_POWER_W, unit: str = "W"
) -> float:
    """``value`` when it lies in ``low..high``; :class:`SourceError` (logged by the poll loop) otherwise.

    Vendors' APIs sometimes send counters, milliwatts or a sentinel (65535, -32768) where a power
    belongs; one such number steering the chargers would be worse than a missed reading.
    """
    if not low <= value <= high:
        raise SourceError(f"{what}: {value:g} {unit} is outside the plausible range {low:g}..{high:g} {unit}")
    return value


def pv_nonnegative(value: float) -> float:
    """PV power >= 0: inverters report their own night-time standby draw as a few negative watts.

    That draw is real but it is house load, which the grid meter already sees; as PV it would only
    turn "no sun" into a small negative production.
    """
    return max(0.0, value)


#: The values a mapped source can fill, in reading order.
ROLES: tuple[str, ...] = ("grid", "pv", "battery", "battery_soc")


def role_value(
    role: str,
    value: float,
    unit: str | None,
    what: str,
    *,
    invert: bool = False,
    scale: float = 1.0,
    default_unit: str | None = "W",
) -> float:
    """``value`` with ``unit`` as role ``role`` wants it: watts for powers, % for ``battery_soc``.

    The user's ``scale`` and ``invert`` apply to the converted value; PV is then kept >= 0 and a
    state of charge checked to lie in 0..100 %.
    """
    if role == "battery_soc":
        if unit not in (None, "%"):
            raise SourceError(f"{what}: unit {unit!r} is not a state of charge (expected %)")
        return soc_pct(value * scale, what)
    watts = power_w(value, unit, what, default_unit=default_unit) * scale
    watts = -watts if invert else watts
    return pv_nonnegative(watts) if role == "pv" else watts
