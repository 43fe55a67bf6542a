"""Build the simulator's :class:`SimSettings` from a configuration file.

The simulator runs one loadpoint (one charger with its car) against a day trace. From a
:class:`~ecotrack.config.Config` it takes:

* the loadpoint (the first one, or the one named): min/max current, phases, current step and the start/stop
  hysteresis, exactly as the engine would build them (:meth:`Config.to_site_params`), in ``pv`` mode (the
  simulator measures surplus tracking, whatever mode the file starts the loadpoint in);
* its effective maximum: the lowest of the loadpoint's ``max_a``, the charger's own maximum, every circuit
  above it and the site's wiring limit (with a single loadpoint these all bound the same current);
* the site's voltage and residual margin, and the control tuning;
* the meter interval from the grid meter when it has one (``interval_s`` of a replay meter);
* the car from the simulated charger (``car_max_a``, ``start_delay_s``, ``ramp_a_per_s``) when the
  loadpoint's charger is of type ``simulated``; otherwise the default :class:`~ecotrack.world.car.CarParams`.
"""

from __future__ import annotations

from dataclasses import replace

from ecotrack.chargers.simulated_config import SimulatedChargerConfig
from ecotrack.config import Config
from ecotrack.core.model import LoadpointParams, Mode, SiteParams
from ecotrack.sim.strategies import SimSettings
from ecotrack.world.car import CarParams

__all__ = ["sim_settings_from_config"]


def _effective_max_a(site: SiteParams, lp: LoadpointParams) -> float:
    """The loadpoint's max, capped by its charger, its circuit chain and the wiring limit."""
    limit = lp.max_a
    if lp.charger_max_a is not None:
        limit = min(limit, lp.charger_max_a)
    circuits = {c.name: c for c in site.circuits}
    seen: set[str] = set()
    name = lp.circuit
    while name is not None and name in circuits and name not in seen:
        seen.add(name)
        limit = min(limit, circuits[name].max_a)
        name = circuits[name].parent
    if site.wiring_limit_a is not None:
        limit = min(limit, site.wiring_limit_a)
    return limit


def sim_settings_from_config(config: Config, loadpoint: str | None = None) -> SimSettings:
    """The :class:`SimSettings` for simulating ``loadpoint`` (default: the first one) of ``config``.

    Raises :class:`ValueError` naming the known loadpoints when ``loadpoint`` is not in the config.
    """
    site = config.to_site_params()
    if not site.loadpoints:
        raise ValueError("the configuration has no loadpoints to simulate")
    by_name = {lp.name: lp for lp in site.loadpoints}
    name = loadpoint if loadpoint is not None else site.loadpoints[0].name
    if name not in by_name:
        raise ValueError(f"unknown loadpoint {name!r}; known: {', '.join(by_name)}")
    lp = by_name[name]
    lp = replace(lp, mode=Mode.PV, max_a=_effective_max_a(site, lp), circuit=None)

    defaults = SimSettings()
    car = CarParams()
    charger = config.chargers.get(config.loadpoints[name].charger)
    if isinstance(charger, SimulatedChargerConfig):
        car = replace(
            car,
            max_a=charger.car_max_a,
            start_delay_s=charger.start_delay_s,
            ramp_a_per_s=charger.ramp_a_per_s,
        )

    meter_interval_s = defaults.meter_interval_s
    grid_meter = config.meters.get(config.site.grid_meter)
    interval = getattr(grid_meter, "interval_s", None)
    if isinstance(interval, int | float) and interval > 0:
        meter_interval_s = float(interval)

    return SimSettings(
        meter_interval_s=meter_interval_s,
        voltage_v=site.voltage_v,
        loadpoint=lp,
        car=car,
        residual_w=site.residual_w,
        tuning=site.tuning,
    )
