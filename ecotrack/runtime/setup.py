"""What the runtime knows about the site, taken from the configuration once at start.

The engine never reads the configuration file's model: :meth:`ecotrack.config.Config.site_setup` turns it
into this plain value, so the runtime sits below the configuration and services below neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ecotrack.core.model import LoadpointParams, SiteParams
from ecotrack.core.site import MeterRoles

__all__ = ["SiteSetup"]


@dataclass(frozen=True, slots=True)
class SiteSetup:
    """The site as the runtime sees it: core parameters, meter roles and which charger each loadpoint uses."""

    params: SiteParams
    meters: MeterRoles
    #: Loadpoint name -> charger name (each charger serves at most one loadpoint).
    loadpoint_chargers: Mapping[str, str] = field(default_factory=dict)
    #: The site's default number of phases (loadpoints may differ).
    phases: int = 1
    #: Period of the engine's timer tick (clock seconds).
    tick_s: float = 1.0
    #: A charger still drawing current this long after it acknowledged 0 A is escalated (clock seconds).
    stop_escalation_s: float = 30.0
    #: One line naming meters, chargers and loadpoints, for the start-up log.
    summary: str = ""

    def loadpoint(self, name: str) -> LoadpointParams:
        """The configured parameters of loadpoint ``name`` (KeyError when unknown)."""
        for lp in self.params.loadpoints:
            if lp.name == name:
                return lp
        raise KeyError(name)
