"""Configuration model of the charger type ``ocpp`` (one connector of an OCPP 1.6J charge point)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec, Problem
from ecotrack.transport.ocpp.config import check_charge_point_id

__all__ = ["DRIVERS", "OcppChargerConfig"]


class OcppChargerConfig(ConfigModel):
    """One connector of a charge point connecting to the ``ocpp:`` central system."""

    type: Literal["ocpp"] = Field(description="Charger type.")
    charge_point_id: str = Field(description="The id the wallbox connects with (the last part of its URL).")
    connector: int = Field(1, ge=1, le=16, description="Connector number (1 on single wallboxes).")
    max_a: float = Field(16.0, ge=6, le=80, description="Largest current this connector may be given (A).")
    phases: Literal[1, 2, 3] = Field(1, description="Phases the connector is wired for (numberPhases of profiles).")
    control: Literal["profile", "start-stop"] = Field(
        "profile",
        description="profile: SetChargingProfile in amps (falls back to start-stop when the wallbox rejects "
        "profiles); start-stop: RemoteStart/RemoteStopTransaction only, charging at the wallbox's own limit, "
        "which must then be max_a: ecotrack starts only when it may give max_a.",
    )
    id_tag: str = Field(
        "ecotrack", min_length=1, max_length=20, description="The id tag RemoteStartTransaction starts with."
    )
    reemit_s: float = Field(
        10.0, gt=0, le=60, description="Re-report the last state this often (s) between messages of the wallbox."
    )
    offline_after_s: float = Field(
        660.0,
        gt=0,
        le=86_400,
        description="No message from the wallbox for this long (s): offline. Connected wallboxes send a heartbeat "
        "every ocpp.heartbeat_s (300 s) and meter values every ocpp.meter_interval_s while charging.",
    )

    @field_validator("charge_point_id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        return check_charge_point_id(v)


def _check(entries: Mapping[str, Any], base_dir: Path | None) -> Iterator[Problem]:
    """Two chargers on one connector of one charge point."""
    seen: dict[tuple[str, int], str] = {}
    for name, entry in entries.items():
        key = (entry.charge_point_id, entry.connector)
        if key in seen:
            yield (name, "connector"), (
                f"connector {entry.connector} of charge point {entry.charge_point_id!r} is already charger {seen[key]!r}"
            )
        else:
            seen[key] = name


#: The OCPP driver (see :mod:`ecotrack.devices.registry`): needs the ``ocpp:`` central system.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "charger",
        "ocpp",
        OcppChargerConfig,
        "ecotrack.chargers.ocpp.driver:OcppCharger.from_config",
        transports=frozenset({"ocpp"}),
        check=_check,
    ),
)
