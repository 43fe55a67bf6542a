"""The ``http:`` section of the configuration: where the dashboard and API listen and who may use them.

Lives beside the web code (not in :mod:`ecotrack.config`) so the web layer owns its settings;
:class:`ecotrack.config.Config` only has one ``http`` field of this type.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel

__all__ = ["HttpConfig"]


class HttpConfig(ConfigModel):
    """The web dashboard, REST API and WebSocket served by the daemon."""

    enabled: bool = Field(True, description="Serve the dashboard and the API.")
    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to listen on. 127.0.0.1 keeps it on this machine; 0.0.0.0 (or ::) "
        "opens it to the network, where every request needs the token unless open_reads is 'everyone'.",
    )
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0: any free port, for tests).")
    token: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        pattern=r"^[A-Za-z0-9._~+/=-]+$",
        description="Bearer token every request that changes something must carry "
        "(Authorization: Bearer TOKEN). Null: one is generated on first run, stored in the data "
        "directory as http-token (mode 0600); the log names the file, never the token.",
    )
    open_reads: Literal["localhost", "everyone", "nobody"] = Field(
        "localhost",
        description="Who may read (dashboard, GET /api/..., /ws, /metrics) without the token: clients on "
        "this machine (localhost), everyone, or nobody. Writes always need the token.",
    )
    ws_min_interval_s: float = Field(
        0.5,
        ge=0.05,
        le=60,
        description="Shortest time between two state pushes to one WebSocket client (s).",
    )
    history_points: int = Field(
        1440,
        ge=10,
        le=100_000,
        description="Chart samples kept in memory (one per history_step_s; 1440 x 60 s = 24 h).",
    )
    history_step_s: float = Field(60.0, ge=1, le=3600, description="Seconds of engine time per chart sample.")
    request_timeout_s: float = Field(
        5.0,
        ge=0.5,
        le=120,
        description="A client must send a request's headers, and then its body, within this many seconds "
        "each, or the connection is closed (slow or stalled clients cannot hold connections).",
    )
    max_connections: int = Field(
        100,
        ge=4,
        le=10_000,
        description="Connections served at once (WebSockets included); beyond it requests get 503.",
    )

    @field_validator("host")
    @classmethod
    def _check_host(cls, v: str) -> str:
        """An IP address or a plain host name (no scheme, port or path: a common copy-paste mistake)."""
        try:
            ipaddress.ip_address(v)
        except ValueError:
            if any(c in v for c in "/: ") or v.startswith("-"):
                raise ValueError("must be an IP address or a host name, without scheme or port") from None
        return v
