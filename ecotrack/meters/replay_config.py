"""Configuration model and driver spec of the replay meter (light: no trace or modelled-day import)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec, Problem

__all__ = ["DRIVERS", "ReplayMeterConfig", "check_traces", "trace_path"]


class ReplayMeterConfig(ConfigModel):
    """Replays a recorded (or the modelled) day as grid/PV/load readings."""

    type: Literal["replay"] = Field(description="Meter type.")
    trace: Path | None = Field(
        None,
        description="CSV file with columns timestamp,pv_w,load_w. Relative paths are relative to the config "
        "file. Empty (null) replays the built-in modelled day.",
    )
    modelled_kind: Literal["sunny", "cloudy", "overcast"] = Field(
        "cloudy", description="Weather of the modelled day replayed when trace is null (ignored otherwise)."
    )
    seed: int = Field(
        1,
        ge=0,
        le=2**31 - 1,
        description="Random seed of the modelled day's clouds and household load (ignored with a trace).",
    )
    interval_s: float = Field(2.0, gt=0, le=3600, description="Seconds between two readings.")
    start_time: str = Field(
        "07:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time of day (HH:MM) at which the replay starts.",
    )
    loop: bool = Field(True, description="Start again at the beginning of the day when the trace ends.")
    pv_scale: float = Field(1.0, ge=0, le=100, description="Factor applied to the PV power of the trace.")
    load_scale: float = Field(1.0, ge=0, le=100, description="Factor applied to the house load of the trace.")


def trace_path(trace: Path, base_dir: Path | None) -> Path:
    """Where ``trace`` is: ``~`` expanded, a relative path taken from ``base_dir`` (the config's directory)."""
    path = Path(trace).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def check_traces(entries: Mapping[str, Any], base_dir: Path | None = None) -> Iterator[Problem]:
    """A replay trace file must exist: building the meter reads it, so a missing one stops start-up."""
    for name, cfg in entries.items():
        if isinstance(cfg, ReplayMeterConfig) and cfg.trace is not None:
            path = trace_path(cfg.trace, base_dir)
            if not path.is_file():
                yield (name, "trace"), f"trace file {str(path)!r} does not exist"


#: The replay meter (see :mod:`ecotrack.devices.registry`).
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "meter",
        "replay",
        ReplayMeterConfig,
        "ecotrack.meters.replay:ReplayMeter.from_config",
        check=check_traces,
    ),
)
