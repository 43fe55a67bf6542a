"""Messages as plain dicts and one-line text, for ``ecotrack twc decode|sniff`` and logs.

Keys (stable, scripts rely on them): ``code`` (4 hex digits), ``type``, ``master_id`` / ``slave_id``
(4 hex digits, when the message carries them), ``protocol`` (when its length tells), and the decoded
fields ``state`` (+ ``state_name``), ``command``, ``amps``, ``max_amps``, ``actual_amps``,
``lifetime_kwh``, ``volts``, ``vin_part`` (+ ``vin_text``), ``sign``, ``info``.
"""

from __future__ import annotations

from typing import Any

from ecotrack.chargers.twc.codec import (
    InfoQuery,
    InfoReply,
    MasterHeartbeat,
    MasterIdle,
    MasterLinkReady1,
    MasterLinkReady2,
    Message,
    PowerQuery,
    PowerReport,
    SlaveHeartbeat,
    SlaveLinkReady,
    StartCharging,
    StopCharging,
    UnknownMessage,
    VinQuery,
    VinReply,
)
from ecotrack.chargers.twc.master import STATE_NAMES

__all__ = ["describe", "one_line"]

_COMMANDS = {0: "no-change", 2: "error", 5: "limit", 6: "raise-2a", 7: "lower-2a", 8: "ack-stop", 9: "limit"}


def _hex(v: int) -> str:
    return f"{v:04X}"


def describe(msg: Message) -> dict[str, Any]:
    """The message as a JSON-friendly dict (see the module docstring)."""
    out: dict[str, Any] = {"code": _hex(msg.code), "type": type(msg).__name__}
    if isinstance(msg, MasterLinkReady1 | MasterLinkReady2):
        out |= {"master_id": _hex(msg.master_id), "sign": f"{msg.sign:02X}"}
    elif isinstance(msg, SlaveLinkReady):
        out |= {
            "slave_id": _hex(msg.slave_id),
            "sign": f"{msg.sign:02X}",
            "protocol": msg.protocol,
            "max_amps": msg.max_amps,
        }
    elif isinstance(msg, MasterHeartbeat):
        out |= {
            "master_id": _hex(msg.master_id),
            "slave_id": _hex(msg.slave_id),
            "command": f"{msg.command:02X}",
            "command_name": _COMMANDS.get(msg.command, "unknown"),
            "amps": msg.amps,
            "car_at_master": msg.car_at_master,
        }
        if msg.size == 13 or msg.command == 0x05:
            out["protocol"] = 1
        elif msg.command == 0x09:
            out["protocol"] = 2
    elif isinstance(msg, SlaveHeartbeat):
        out |= {
            "slave_id": _hex(msg.slave_id),
            "master_id": _hex(msg.master_id),
            "protocol": msg.protocol,
            "state": f"{msg.state:02X}",
            "state_name": STATE_NAMES.get(msg.state, "unknown"),
            "max_amps": msg.max_amps,
            "actual_amps": msg.actual_amps,
        }
    elif isinstance(msg, PowerQuery | StartCharging | StopCharging):
        out |= {"master_id": _hex(msg.master_id), "slave_id": _hex(msg.slave_id)}
    elif isinstance(msg, VinQuery):
        out |= {"master_id": _hex(msg.master_id), "slave_id": _hex(msg.slave_id), "vin_part": msg.part}
    elif isinstance(msg, InfoQuery):
        out |= {"master_id": _hex(msg.master_id), "slave_id": _hex(msg.slave_id), "info": msg.what}
    elif isinstance(msg, PowerReport):
        out |= {
            "slave_id": _hex(msg.slave_id),
            "lifetime_kwh": msg.lifetime_kwh,
            "volts": [msg.volts_a, msg.volts_b, msg.volts_c],
        }
    elif isinstance(msg, VinReply):
        out |= {"slave_id": _hex(msg.slave_id), "vin_part": msg.part, "vin_text": msg.text}
    elif isinstance(msg, InfoReply):
        out |= {"slave_id": _hex(msg.slave_id), "info": msg.what, "text": msg.text}
    elif isinstance(msg, MasterIdle):
        out |= {"data": msg.data.hex(" ").upper()}
    elif isinstance(msg, UnknownMessage):
        out |= {"payload": msg.payload.hex(" ").upper()}
    return out


def one_line(msg: Message) -> str:
    """A compact human line: the type then ``key=value`` pairs."""
    d = describe(msg)
    kind = d.pop("type")
    d.pop("code")
    return f"{msg.code:04X} {kind} " + " ".join(f"{k}={v}" for k, v in d.items())
