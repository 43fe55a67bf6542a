"""Which car is on which loadpoint, and that car's facts for the engine.

A loadpoint names a default vehicle in the configuration. A charger that reports the car's VIN (a
Wall Connector) selects the vehicle with that ``vin``; a user's choice in the API or the dashboard
overrides both until it is cleared. The garage hands the engine the chosen car's facts, merged into
the loadpoint's details (``soc_pct`` for the rules, the rest for the API, MQTT and the dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping

from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.model import state_facts

__all__ = ["Garage"]

#: Longest VIN-like text remembered from a charger.
_MAX_VIN = 32


class Garage:
    """Vehicles by name and the loadpoints they may be on (see the module docstring)."""

    def __init__(self, vehicles: Mapping[str, Vehicle], defaults: Mapping[str, str | None]) -> None:
        self.vehicles: dict[str, Vehicle] = dict(vehicles)
        for lp, name in defaults.items():
            if name is not None and name not in self.vehicles:
                raise ValueError(f"loadpoint {lp!r}: unknown vehicle {name!r}")
        self._defaults: dict[str, str | None] = dict(defaults)
        self._chosen: dict[str, str | None] = {}
        self._seen_vin: dict[str, str] = {}
        self._by_vin = {v.vin: n for n, v in self.vehicles.items() if v.vin is not None}

    def loadpoints(self) -> list[str]:
        """The loadpoints the garage knows."""
        return list(self._defaults)

    def choose(self, loadpoint: str, vehicle: str | None) -> None:
        """The user's choice of car for ``loadpoint`` (None: back to automatic, VIN then default).

        KeyError naming the known vehicles or loadpoints when either is unknown.
        """
        if loadpoint not in self._defaults:
            raise KeyError(f"unknown loadpoint {loadpoint!r}")
        if vehicle is None:
            self._chosen.pop(loadpoint, None)
            return
        if vehicle not in self.vehicles:
            known = ", ".join(sorted(self.vehicles)) or "none configured"
            raise KeyError(f"unknown vehicle {vehicle!r} (known: {known})")
        self._chosen[loadpoint] = vehicle

    def chosen(self, loadpoint: str) -> str | None:
        """The user's choice for ``loadpoint`` (None when automatic)."""
        return self._chosen.get(loadpoint)

    def saw_vin(self, loadpoint: str, vin: object) -> None:
        """A charger reported ``vin`` on ``loadpoint`` (ignored unless it is a short string)."""
        if isinstance(vin, str) and 0 < len(vin) <= _MAX_VIN:
            self._seen_vin[loadpoint] = vin.strip().upper()
        elif vin is None:
            self._seen_vin.pop(loadpoint, None)

    def vehicle_name(self, loadpoint: str) -> str | None:
        """The car on ``loadpoint``: the user's choice, else the one whose VIN the charger reports, else the default."""
        chosen = self._chosen.get(loadpoint)
        if chosen is not None:
            return chosen
        by_vin = self._by_vin.get(self._seen_vin.get(loadpoint, ""))
        if by_vin is not None:
            return by_vin
        return self._defaults.get(loadpoint)

    def vehicle_of(self, loadpoint: str) -> Vehicle | None:
        """The :class:`Vehicle` on ``loadpoint``, or None."""
        name = self.vehicle_name(loadpoint)
        return self.vehicles.get(name) if name is not None else None

    def details(self, loadpoint: str, charger_details: Mapping[str, object]) -> dict[str, object]:
        """The charger's details with the chosen car's facts merged in (the car's SoC wins over the charger's)."""
        self.saw_vin(loadpoint, charger_details.get("vin"))
        out = dict(charger_details)
        name = self.vehicle_name(loadpoint)
        vehicle = self.vehicles.get(name) if name is not None else None
        if vehicle is None:
            return out
        facts = state_facts(name or "", vehicle.state)
        if facts["soc_pct"] is None and isinstance(out.get("soc_pct"), int | float):
            facts.pop("soc_pct")  # the charger knows the SoC, the car's source does not (yet)
        out.update(facts)
        out["min_soc_pct"] = vehicle.min_soc_pct
        out["vehicle_chosen"] = loadpoint in self._chosen
        requests = getattr(vehicle, "request_count", None)
        if isinstance(requests, int):
            out["vehicle_api_requests"] = requests
        return out
