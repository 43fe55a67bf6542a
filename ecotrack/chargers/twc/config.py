"""Configuration of a Tesla Wall Connector Gen2 charger (``type: twc``).

One entry per TWC. Entries with the same ``port`` share one RS485 bus and one master; the bus-wide
settings (``bus_max_a``, ``master_id``) should agree, and when ``bus_max_a`` differs the smallest wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec, Problem

__all__ = ["DRIVERS", "TwcChargerConfig", "check_buses"]

_HEX_ID = r"^[0-9A-Fa-f]{4}$"


class TwcChargerConfig(ConfigModel):
    """A Gen2 Tesla Wall Connector (rotary switch on F) that ecotrack masters over RS485."""

    type: Literal["twc"] = Field(description="Charger type.")
    port: str = Field(
        description="Serial port of the USB-RS485 adapter, e.g. /dev/serial/by-id/usb-FTDI_...-port0 "
        "(a by-id path survives replugging), or socket://host:port for a serial-to-Ethernet converter in "
        "raw TCP mode (9600 8N1 set on the converter). Chargers with the same port share the bus.",
        min_length=1,
    )

    @field_validator("port")
    @classmethod
    def _check_port(cls, v: str) -> str:
        if "://" not in v:
            return v
        parts = urlsplit(v)
        if parts.scheme != "socket":
            raise ValueError(f"only socket://host:port URLs are supported, got {parts.scheme}://")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or not 1 <= port <= 65535 or parts.path not in ("", "/"):
            raise ValueError(f"expected socket://host:port with a port 1-65535, got {v!r}")
        return v
    twc_id: str | None = Field(
        None,
        pattern=_HEX_ID,
        description="The TWC's 4-hex-digit ID (shown by 'ecotrack twc sniff' and in the log when it links). "
        "Null: the first TWC that links and is not pinned by another charger.",
    )
    max_a: float = Field(
        32.0,
        gt=0,
        le=80,
        description="Wiring limit of this TWC (A): the most it is ever offered, whatever the controller asks.",
    )
    bus_max_a: float | None = Field(
        None,
        gt=0,
        le=240,
        description="Wiring limit of all TWCs on this port together (A); null: only each TWC's max_a.",
    )
    phases: Literal[1, 3] = Field(1, description="Phases the car charges on (for the power figure).")
    voltage_v: float = Field(
        230.0, ge=100, le=480, description="Voltage per phase used until the TWC reports its own (V)."
    )
    stop_method: Literal["fc-b2", "withhold-heartbeat", "none", "vehicle"] = Field(
        "withhold-heartbeat",
        description="How to stop a protocol-2 TWC, which ignores 0 A: 'withhold-heartbeat' (default: stop "
        "sending heartbeats for withhold_s so the TWC falls back to its own safe state; no command that "
        "could fault the car), 'fc-b2' (send the stop command; the car may fault unless DIP switch 2 is "
        "down), 'vehicle' (the loadpoint's car is told charge_stop/charge_start; needs a vehicle that can "
        "be commanded) or 'none' (it keeps charging at 6 A until the car stops).",
    )
    withhold_s: float = Field(
        60.0, ge=15, le=600, description="How long heartbeats are withheld to stop (s)."
    )
    spike: bool = Field(
        False,
        description="Work around Tesla firmware stuck at 6 A: briefly offer 21 A (80 A units) or 16 A, "
        "never above max_a or bus_max_a. The offer then exceeds the controller's command for ~5 s, so only "
        "enable it when the circuit feeding the TWC carries max_a.",
    )
    master_id: str = Field(
        "7777", pattern=_HEX_ID, description="ID ecotrack uses as the master (4 hex digits)."
    )
    report_interval_s: float = Field(
        10.0, gt=0, le=60, description="The state is re-reported to the controller at least this often (s)."
    )


def check_buses(entries: Mapping[str, Any], base_dir: Path | None = None) -> Iterator[Problem]:
    """TWCs on one port share one master: they must name the same ``master_id`` and pin distinct TWCs.

    The bus refuses both when the chargers are built; checked here so ``config check`` reports them.
    """
    first: dict[str, tuple[str, str]] = {}  # port -> (charger, master_id)
    pinned: dict[tuple[str, str], str] = {}  # (port, twc_id) -> charger
    for name, cfg in entries.items():
        if not isinstance(cfg, TwcChargerConfig):
            continue
        port = cfg.port
        if port not in first:
            first[port] = (name, cfg.master_id)
        elif int(cfg.master_id, 16) != int(first[port][1], 16):
            other, master = first[port]
            yield (
                (name, "master_id"),
                f"chargers on {port} must share one master ID: {cfg.master_id} here, {master} for {other!r}",
            )
        if cfg.twc_id is not None:
            key = (port, cfg.twc_id.upper())
            if key in pinned:
                yield (
                    (name, "twc_id"),
                    f"TWC {cfg.twc_id} on {port} is already pinned by charger {pinned[key]!r}",
                )
            else:
                pinned[key] = name


#: The TWC driver (see :mod:`ecotrack.devices.registry`); pyserial loads only when one is built.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "charger",
        "twc",
        TwcChargerConfig,
        "ecotrack.chargers.twc.driver:TwcCharger.from_config",
        check=check_buses,
    ),
)
