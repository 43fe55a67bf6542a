"""Configuration of the one MQTT connection: broker address, login, TLS, reconnect and topic root.

The ``mqtt:`` section of the configuration file extends this with what the MQTT service publishes and
accepts (:class:`ecotrack.services.mqtt.config.MqttConfig`); the connection only needs these settings.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ecotrack.config_base import ConfigModel
from ecotrack.transport.mqtt.topics import validate_topic

__all__ = ["MqttConnectionConfig", "MqttTlsConfig", "check_topic_prefix"]


def check_topic_prefix(v: str) -> str:
    """A topic prefix: a valid topic without a trailing slash."""
    return validate_topic(v.rstrip("/"))


class MqttTlsConfig(ConfigModel):
    """TLS to the broker. Off by default; set ``enabled: true`` (and usually port 8883)."""

    enabled: bool = Field(False, description="Connect with TLS.")
    ca_certs: Path | None = Field(
        None, description="CA bundle (PEM) to verify the broker with; null: the system's CAs."
    )
    certfile: Path | None = Field(None, description="Client certificate (PEM) for certificate login.")
    keyfile: Path | None = Field(None, description="Private key (PEM) of the client certificate.")
    insecure: bool = Field(
        False, description="Do not verify the broker's certificate or host name (testing only)."
    )

    @model_validator(mode="after")
    def _key_needs_cert(self) -> MqttTlsConfig:
        if self.keyfile is not None and self.certfile is None:
            raise ValueError("keyfile needs certfile")
        return self


class MqttConnectionConfig(ConfigModel):
    """The MQTT broker: where it is, how to log in, and the root of ecotrack's own topics."""

    host: str = Field("localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (1883; 8883 with TLS).")
    username: str | None = Field(None, description="User name; null: anonymous.")
    password: str | None = Field(None, description="Password (better set by ECOTRACK__MQTT__PASSWORD).")
    client_id: str = Field(
        "ecotrack",
        min_length=1,
        max_length=128,
        description="MQTT client id; must be unique on the broker (two clients with one id kick each other off).",
    )
    keepalive_s: int = Field(
        30, ge=5, le=3600, description="Keep-alive interval (s); the last will fires after 1.5x."
    )
    tls: MqttTlsConfig = Field(default_factory=MqttTlsConfig, description="TLS settings.")
    topic_prefix: str = Field(
        "ecotrack",
        description="Root of ecotrack's own topics: <prefix>/status (online/offline), <prefix>/site/..., "
        "<prefix>/loadpoints/<id>/... with setters on .../<key>/set.",
    )
    reconnect_min_s: float = Field(0.5, gt=0, le=5, description="First wait before reconnecting (s); doubles.")
    reconnect_max_s: float = Field(
        4.0,
        gt=0,
        le=5,
        description="Longest wait between reconnects (s): at most 5, so control over MQTT is back within "
        "about that long after the broker is (a reconnect attempt to a local broker costs next to nothing).",
    )

    _check_prefix = field_validator("topic_prefix")(check_topic_prefix)

    @model_validator(mode="after")
    def _check_backoff(self) -> MqttConnectionConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self

    @property
    def availability_topic(self) -> str:
        """``<topic_prefix>/status``: ``online`` (retained) while connected, ``offline`` as last will."""
        return f"{self.topic_prefix}/status"
