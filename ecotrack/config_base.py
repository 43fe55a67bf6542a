"""The base class of every configuration model.

Lives in its own module so that feature packages (a charger protocol, the MQTT or HTTP service, the
store) can define their configuration models next to their code and :mod:`ecotrack.config` can import
them without an import cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigModel"]


class ConfigModel(BaseModel):
    """Strict model: unknown keys are errors (a typo must not be silently ignored), no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)
