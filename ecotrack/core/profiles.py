"""Charging profiles: named sets of the start/stop hysteresis a user can pick per loadpoint.

Each profile sets some :class:`~ecotrack.core.model.LoadpointParams` fields; a key written in the
loadpoint's configuration wins over the profile. The figures of each profile over the recorded days are
in ``docs/benchmarks.md`` (``bench/tracking.py``):

* ``balanced`` (default): close to the clairvoyant start/grid frontier without giving up solar;
* ``no-grid``: the least grid energy into the car, paid for in starts;
* ``fewer-starts``: rides most dips at the car's minimum, gentle on relays and the car, paid for in grid
  energy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, Literal

from ecotrack.core.model import LoadpointParams

__all__ = ["DEFAULT_PROFILE", "PROFILES", "ProfileName", "apply_profile"]

ProfileName = Literal["balanced", "no-grid", "fewer-starts"]

DEFAULT_PROFILE: ProfileName = "balanced"

#: Profile name -> the loadpoint fields it sets (the others keep the core's defaults, which are
#: ``balanced``). Values measured with ``python bench/tracking.py`` over the recorded days.
PROFILES: Mapping[str, Mapping[str, float | None]] = MappingProxyType(
    {
        "balanced": MappingProxyType({}),
        # No grid energy bet on any dip; the solar credit alone keeps shallow dips; quick restarts.
        "no-grid": MappingProxyType(
            {"disable_energy_wh": 0.0, "disable_solar_credit": 0.2, "enable_energy_wh": 2.0}
        ),
        # A 15 Wh bet that grows fast with solar, and a full start delay for every start.
        "fewer-starts": MappingProxyType(
            {"disable_energy_wh": 15.0, "disable_solar_credit": 0.4, "enable_energy_wh": None}
        ),
    }
)


def apply_profile(
    params: LoadpointParams, profile: str, keep: frozenset[str] = frozenset()
) -> LoadpointParams:
    """``params`` with the fields of ``profile`` set, except those named in ``keep`` (set by the user).

    Raises ValueError naming the known profiles for an unknown one.
    """
    try:
        fields = PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}") from None
    changes: dict[str, Any] = {k: v for k, v in fields.items() if k not in keep}
    return replace(params, **changes)
