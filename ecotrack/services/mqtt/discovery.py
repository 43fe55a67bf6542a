"""Home Assistant MQTT discovery: one device for the site, one per loadpoint.

:func:`discovery_messages` builds ``{config topic: payload}`` for the configuration (pure). Topics are
``<ha prefix>/<component>/<node_id>/<object_id>/config``; every entity's availability is ecotrack's
``<prefix>/status`` topic (``online``/``offline`` with the last will), so Home Assistant greys them out
when ecotrack is gone.

Cleanup: :func:`stale_topics` compares the retained config topics found under this ``node_id`` (from an
earlier run) with the ones built now; the service publishes an empty retained payload to each stale one,
which makes Home Assistant remove the entity — a loadpoint deleted from the configuration disappears.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ecotrack import __version__
from ecotrack.services.mqtt.commands import topic_id
from ecotrack.services.mqtt.config import MqttConfig

__all__ = ["discovery_filter", "discovery_messages", "stale_topics"]

_OBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _object_id(name: str) -> str:
    return _OBJECT_UNSAFE.sub("_", name)


def discovery_filter(config: MqttConfig) -> str:
    """Filter matching every discovery config topic of this ecotrack instance."""
    ha = config.homeassistant
    return f"{ha.prefix}/+/{ha.node_id}/+/config"


def discovery_messages(
    config: MqttConfig,
    loadpoints: dict[str, tuple[float, float, float]],
    *,
    battery: bool = False,
    vehicles: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Config topic → JSON payload for the site and each loadpoint.

    ``loadpoints`` maps a name to its configured ``(min_a, max_a, step_a)`` (the number entities' range);
    ``vehicles`` names the loadpoints with a car (they get a state-of-charge sensor).
    """
    ha = config.homeassistant
    prefix = config.topic_prefix
    node = ha.node_id
    site_device = {
        "identifiers": [f"{node}_site"],
        "name": ha.site_name,
        "manufacturer": "ecotrack",
        "model": "solar-surplus charging controller",
        "sw_version": __version__,
    }
    common = {
        "availability_topic": config.availability_topic,
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    out: dict[str, str] = {}

    def add(component: str, object_id: str, device: dict[str, Any], entity: dict[str, Any]) -> None:
        payload = {
            **entity,
            **common,
            "unique_id": f"{node}_{object_id}",
            "object_id": f"{node}_{object_id}",
            "device": device,
        }
        out[f"{ha.prefix}/{component}/{node}/{object_id}/config"] = json.dumps(payload, sort_keys=True)

    def power(name: str, topic: str) -> dict[str, Any]:
        return {
            "name": name,
            "state_topic": topic,
            "device_class": "power",
            "unit_of_measurement": "W",
            "state_class": "measurement",
        }

    add("sensor", "site_grid_w", site_device, power("Grid power", f"{prefix}/site/grid_w"))
    add("sensor", "site_pv_w", site_device, power("PV power", f"{prefix}/site/pv_w"))
    add("sensor", "site_surplus_w", site_device, power("Surplus", f"{prefix}/site/surplus_w"))
    add(
        "binary_sensor",
        "site_failsafe",
        site_device,
        {
            "name": "Failsafe",
            "state_topic": f"{prefix}/site/failsafe",
            "payload_on": "true",
            "payload_off": "false",
            "device_class": "problem",
        },
    )
    if battery:
        add("sensor", "site_battery_w", site_device, power("Battery power", f"{prefix}/site/battery_w"))
        add(
            "sensor",
            "site_battery_soc_pct",
            site_device,
            {
                "name": "Battery",
                "state_topic": f"{prefix}/site/battery_soc_pct",
                "device_class": "battery",
                "unit_of_measurement": "%",
                "state_class": "measurement",
            },
        )

    for name, (min_a, max_a, step_a) in loadpoints.items():
        tid = topic_id(name)
        oid = f"lp_{_object_id(name)}"
        base = f"{prefix}/loadpoints/{tid}"
        device = {
            "identifiers": [f"{node}_{oid}"],
            "name": f"{ha.site_name} {name}",
            "manufacturer": "ecotrack",
            "model": "loadpoint",
            "via_device": f"{node}_site",
        }
        add("sensor", f"{oid}_power_w", device, power("Charge power", f"{base}/power_w"))
        add(
            "sensor",
            f"{oid}_actual_a",
            device,
            {
                "name": "Charge current",
                "state_topic": f"{base}/actual_a",
                "device_class": "current",
                "unit_of_measurement": "A",
                "state_class": "measurement",
            },
        )
        add(
            "sensor",
            f"{oid}_session_energy_wh",
            device,
            {
                "name": "Session energy",
                "state_topic": f"{base}/session_energy_wh",
                "device_class": "energy",
                "unit_of_measurement": "Wh",
                "state_class": "total_increasing",
            },
        )
        if name in vehicles:
            add(
                "sensor",
                f"{oid}_vehicle_soc_pct",
                device,
                {
                    "name": "Vehicle state of charge",
                    "state_topic": f"{base}/vehicle_soc_pct",
                    "device_class": "battery",
                    "unit_of_measurement": "%",
                    "state_class": "measurement",
                },
            )
        add("sensor", f"{oid}_status", device, {"name": "State", "state_topic": f"{base}/status", "icon": "mdi:ev-station"})
        add("sensor", f"{oid}_active_rule", device, {"name": "Active rule", "state_topic": f"{base}/active_rule"})
        add(
            "select",
            f"{oid}_mode",
            device,
            {
                "name": "Mode",
                "state_topic": f"{base}/mode",
                "command_topic": f"{base}/mode/set",
                "options": ["off", "now", "minpv", "pv"],
                "icon": "mdi:solar-power",
            },
        )
        for key, label in (("min_a", "Minimum current"), ("max_a", "Maximum current")):
            add(
                "number",
                f"{oid}_{key}",
                device,
                {
                    "name": label,
                    "state_topic": f"{base}/{key}",
                    "command_topic": f"{base}/{key}/set",
                    "min": min_a,
                    "max": max_a,
                    "step": step_a,
                    "unit_of_measurement": "A",
                    "device_class": "current",
                    "mode": "slider",
                },
            )
        add(
            "number",
            f"{oid}_energy_limit_kwh",
            device,
            {
                "name": "Session energy limit",
                "state_topic": f"{base}/energy_limit_kwh",
                "command_topic": f"{base}/energy_limit_kwh/set",
                "min": 0,
                "max": 200,
                "step": 0.5,
                "unit_of_measurement": "kWh",
                "mode": "box",
                "icon": "mdi:battery-charging-high",
            },
        )
    return out


def stale_topics(found: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """Config topics published by an earlier run that the current configuration no longer has."""
    keep = set(wanted)
    return sorted(t for t in set(found) if t not in keep)
