"""The ``ocpp:`` section: where the central system listens and whom it lets in.

Light on purpose (pydantic only): :mod:`ecotrack.config` imports it for every configuration.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from ecotrack.config_base import ConfigModel

__all__ = ["CHARGE_POINT_ID_RE", "OcppConfig", "check_charge_point_id"]

#: What we accept as a charge point id in the URL: printable, no slash, at most 48 characters (the
#: ``chargeBoxIdentity`` limit of OCPP 1.6 is CiString48).
CHARGE_POINT_ID_RE = re.compile(r"[A-Za-z0-9._:\-+*@~]{1,48}")


def check_charge_point_id(value: str) -> str:
    """``value`` when it can be a charge point id in the URL, else ValueError saying why."""
    if not CHARGE_POINT_ID_RE.fullmatch(value):
        raise ValueError(
            "must be 1-48 characters of letters, digits and . _ : - + * @ ~ (it is the last part of the URL "
            "the wallbox connects to)"
        )
    return value


class OcppConfig(ConfigModel):
    """The OCPP 1.6J central system (one listener shared by every ``type: ocpp`` charger).

    Charge points connect to ``ws://HOST:PORT/PATH/<charge point id>`` (``wss://`` with ``tls_cert``)
    with the subprotocol ``ocpp1.6``.
    """

    host: str = Field("127.0.0.1", min_length=1, description="Address to listen on (0.0.0.0: every interface).")
    port: int = Field(8887, ge=0, le=65535, description="TCP port (0: any free port, for tests).")
    path: str = Field("/ocpp", description="URL path before the charge point id.")
    tls_cert: Path | None = Field(None, description="PEM certificate (chain) for wss:// (security profile 2).")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    accept_unknown: bool = Field(
        False,
        description="Let charge points in that no charger names (they are logged with their BootNotification "
        "so you can add them); off: their connection is refused with HTTP 404.",
    )
    passwords: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HTTP Basic auth password per charge point id (OCPP security profile 1, or 2 with TLS); a "
        "charge point listed here must send it, the user name being its id.",
    )
    id_tags: dict[str, str | None] = Field(
        default_factory=dict,
        description="RFID/id tags allowed to charge, each optionally naming a vehicle (shown as the session's "
        "vehicle); empty: every tag is accepted.",
    )
    max_message_bytes: int = Field(
        65_536, ge=1024, le=16 * 1024 * 1024, description="Larger websocket messages close the connection (1009)."
    )
    response_timeout_s: float = Field(
        10.0, gt=0, le=120, description="A charge point not answering a request within this long fails it (s)."
    )
    heartbeat_s: int = Field(300, ge=10, le=86_400, description="Heartbeat interval told in the BootNotification (s).")
    meter_interval_s: int = Field(
        10, ge=1, le=900, description="MeterValueSampleInterval set on every charge point that connects (s)."
    )
    profile_valid_s: int = Field(
        300,
        ge=30,
        le=86_400,
        description="Every charging profile ecotrack sends expires after this long unless renewed (it is renewed "
        "every third of it); when ecotrack dies the wallbox falls back to fallback_a within this time.",
    )
    fallback_a: float = Field(
        6.0,
        ge=0,
        le=80,
        description="The limit of the permanent base profile (stack level 0) the wallbox falls back to when "
        "ecotrack's profiles expire (A; 0: stop charging without ecotrack). Their sum under a circuit must fit it.",
    )

    @field_validator("path")
    @classmethod
    def _check_path(cls, v: str) -> str:
        path = "/" + v.strip("/")
        if not re.fullmatch(r"/[A-Za-z0-9._~/\-]*", path) or "//" in path:
            raise ValueError("must be a URL path such as /ocpp")
        return path.rstrip("/") or "/"

    @field_validator("passwords")
    @classmethod
    def _check_passwords(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for cp_id, password in v.items():
            check_charge_point_id(cp_id)
            secret = password.get_secret_value()
            if not 1 <= len(secret) <= 40:
                raise ValueError(f"{cp_id}: a password must be 1-40 characters (OCPP 1.6 security whitepaper)")
        return v

    @model_validator(mode="after")
    def _check_tls(self) -> OcppConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self

    @property
    def tls(self) -> bool:
        """Whether the listener speaks wss://."""
        return self.tls_cert is not None
