"""Tesla Wall Connector Gen2 load-sharing messages: typed classes, checksum, SLIP framing.

Pure: no I/O, no clock. Every message of ``specs/twc-gen2.md`` is a frozen dataclass with an
``encode_payload()`` method and is parsed back by :func:`decode_payload`, so
``decode_payload(m.encode_payload()) == m`` holds for every message (a hypothesis test checks it).
Amps travel as unsigned 16-bit big-endian centiamps; the classes keep them as integer centiamps
(``*_ca``) so a round trip is exact, with float ``amps`` properties for people.

Padding bytes the spec calls zero are written as zero and ignored when read (real firmware is not
always tidy); anything that makes a frame meaningless (wrong length, checksum, escape) raises
:class:`FrameError` whose message names the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

__all__ = [
    "FORBIDDEN_CODES",
    "PAYLOAD_SIZES",
    "FrameError",
    "InfoQuery",
    "InfoReply",
    "MasterHeartbeat",
    "MasterIdle",
    "MasterLinkReady1",
    "MasterLinkReady2",
    "Message",
    "PowerQuery",
    "PowerReport",
    "SlaveHeartbeat",
    "SlaveLinkReady",
    "StartCharging",
    "StopCharging",
    "UnknownMessage",
    "VinQuery",
    "VinReply",
    "checksum",
    "decode_frame",
    "decode_payload",
    "encode_frame",
    "escape",
    "frame_payload",
    "unescape",
]

END = 0xC0
ESC = 0xDB
ESC_END = 0xDC
ESC_ESC = 0xDD

#: Payload sizes (without checksum) on the wire: protocol 1 (13), protocol 2 (15), firmware 4.5.3's long
#: replies (19), and 14: the kWh/VIN queries as TWCManager sends them (the spec's VIN-query vector is one).
PAYLOAD_SIZES = (13, 14, 15, 19)
Size: TypeAlias = Literal[13, 15, 19]
RequestSize: TypeAlias = Literal[14, 15]

#: Codes that must never be sent: ``FC 19``/``FC 1A`` reportedly disable a TWC for good, ``FB E8`` crashes it.
FORBIDDEN_CODES = frozenset({0xFC19, 0xFC1A, 0xFBE8})

# Message codes.
MASTER_LINKREADY1 = 0xFCE1
MASTER_LINKREADY2 = 0xFBE2
SLAVE_LINKREADY = 0xFDE2
MASTER_HEARTBEAT = 0xFBE0
SLAVE_HEARTBEAT = 0xFDE0
POWER_QUERY = 0xFBEB
POWER_REPORT = 0xFDEB
VinPart: TypeAlias = Literal[1, 2, 3]
InfoKind: TypeAlias = Literal["serial", "model", "firmware"]
VIN_QUERIES: dict[VinPart, int] = {1: 0xFBEE, 2: 0xFBEF, 3: 0xFBF1}
VIN_REPLIES: dict[VinPart, int] = {1: 0xFDEE, 2: 0xFDEF, 3: 0xFDF1}
START_CHARGING = 0xFCB1
STOP_CHARGING = 0xFCB2
INFO_QUERIES: dict[InfoKind, int] = {"serial": 0xFB19, "model": 0xFB1A, "firmware": 0xFB1B}
INFO_REPLIES: dict[InfoKind, int] = {"serial": 0xFD19, "model": 0xFD1A, "firmware": 0xFD1B}
MASTER_IDLE = 0xFC1D


class FrameError(ValueError):
    """A frame or payload that cannot be a TWC message; the message says why."""


# --------------------------------------------------------------------------- checksum and framing


def checksum(payload: bytes) -> int:
    """Sum of the payload bytes from index 1 on (the first byte is skipped), low 8 bits."""
    return sum(payload[1:]) & 0xFF


def escape(data: bytes) -> bytes:
    """SLIP-escape ``data``: ``C0`` -> ``DB DC``, ``DB`` -> ``DB DD``."""
    return data.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")


def unescape(data: bytes) -> bytes:
    """Undo :func:`escape`; FrameError for a ``C0`` inside, a dangling ``DB`` or ``DB`` + other byte."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == END:
            raise FrameError(f"unescaped C0 at byte {i} inside a frame")
        if b != ESC:
            out.append(b)
            i += 1
            continue
        if i + 1 >= n:
            raise FrameError("frame ends in the middle of an escape (DB)")
        nxt = data[i + 1]
        if nxt == ESC_END:
            out.append(END)
        elif nxt == ESC_ESC:
            out.append(ESC)
        else:
            raise FrameError(f"bad escape DB {nxt:02X} at byte {i}")
        i += 2
    return bytes(out)


def frame_payload(payload: bytes) -> bytes:
    """``C0`` + escaped(payload + checksum) + ``C0``."""
    return bytes([END]) + escape(payload + bytes([checksum(payload)])) + bytes([END])


def encode_frame(message: Message) -> bytes:
    """The framed bytes of ``message`` ready for the wire (FrameError for a forbidden code)."""
    payload = message.encode_payload()
    code = int.from_bytes(payload[:2], "big")
    if code in FORBIDDEN_CODES:
        raise FrameError(f"refusing to encode {code:04X}: it is reported to damage or crash a TWC")
    return frame_payload(payload)


def decode_frame(content: bytes) -> Message:
    """Decode the escaped bytes between two ``C0`` (delimiters may be included) into a message.

    Checks escaping, length (payload+checksum of 14, 16 or 20 bytes) and the checksum.
    """
    raw = unescape(content.strip(b"\xc0"))
    if len(raw) - 1 not in PAYLOAD_SIZES:
        raise FrameError(
            f"bad length: {len(raw)} bytes after unescaping (expected 14, 15, 16 or 20 with the checksum)"
        )
    payload, got = raw[:-1], raw[-1]
    want = checksum(payload)
    if got != want:
        raise FrameError(f"bad checksum: frame says {got:02X}, payload sums to {want:02X}")
    return decode_payload(payload)


# --------------------------------------------------------------------------------- helpers


def _u16(data: bytes, i: int) -> int:
    return int.from_bytes(data[i : i + 2], "big")


def _pad(body: bytes, size: int) -> bytes:
    if len(body) > size:
        raise FrameError(f"message body of {len(body)} bytes does not fit in {size}")
    return body + bytes(size - len(body))


def _check_u16(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise FrameError(f"{name} {value} does not fit in 16 bits")


def _check_u8(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise FrameError(f"{name} {value} does not fit in 8 bits")


def _protocol_of(size: int) -> int:
    return 1 if size == 13 else 2


# --------------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class MasterLinkReady1:
    """``FC E1``: first link-ready announcement of a master (sent 5 times at start)."""

    master_id: int
    sign: int
    code: ClassVar[int] = MASTER_LINKREADY1

    def encode_payload(self) -> bytes:
        """13-byte payload."""
        _check_u16("master_id", self.master_id)
        _check_u8("sign", self.sign)
        return _pad(self.code.to_bytes(2, "big") + self.master_id.to_bytes(2, "big") + bytes([self.sign]), 13)


@dataclass(frozen=True, slots=True)
class MasterLinkReady2:
    """``FB E2``: second link-ready announcement; an unlinked slave answers with a burst of ``FD E2``."""

    master_id: int
    sign: int
    code: ClassVar[int] = MASTER_LINKREADY2

    def encode_payload(self) -> bytes:
        """13-byte payload."""
        _check_u16("master_id", self.master_id)
        _check_u8("sign", self.sign)
        return _pad(self.code.to_bytes(2, "big") + self.master_id.to_bytes(2, "big") + bytes([self.sign]), 13)


@dataclass(frozen=True, slots=True)
class SlaveLinkReady:
    """``FD E2``: a slave announces itself; its length tells the protocol, ``max_amps`` the unit (US 80 / EU 32)."""

    slave_id: int
    sign: int
    max_amps_ca: int
    size: Literal[13, 15] = 15
    code: ClassVar[int] = SLAVE_LINKREADY

    @property
    def protocol(self) -> int:
        """1 for the 13-byte form, 2 for the 15-byte form."""
        return _protocol_of(self.size)

    @property
    def max_amps(self) -> float:
        """The unit's maximum in amps."""
        return self.max_amps_ca / 100

    def encode_payload(self) -> bytes:
        """13 (protocol 1) or 15 (protocol 2) bytes."""
        _check_u16("slave_id", self.slave_id)
        _check_u8("sign", self.sign)
        _check_u16("max_amps_ca", self.max_amps_ca)
        body = (
            self.code.to_bytes(2, "big")
            + self.slave_id.to_bytes(2, "big")
            + bytes([self.sign])
            + self.max_amps_ca.to_bytes(2, "big")
        )
        return _pad(body, self.size)


@dataclass(frozen=True, slots=True)
class MasterHeartbeat:
    """``FB E0``: the master's heartbeat to one slave; always 9 data bytes (protocol 1 slaves accept it).

    ``command``: 00 no change, 02 error (``amps_ca`` high byte is the blink bitmap), 05 limit (p1),
    06 +2 A, 07 -2 A, 08 ack stop, 09 limit (p2). ``car_at_master``: the master's own outlet has a car.
    """

    master_id: int
    slave_id: int
    command: int = 0
    amps_ca: int = 0
    car_at_master: bool = False
    size: Literal[13, 15] = 15
    code: ClassVar[int] = MASTER_HEARTBEAT

    @property
    def amps(self) -> float:
        """``amps_ca`` in amps."""
        return self.amps_ca / 100

    def encode_payload(self) -> bytes:
        """15 bytes (13: the 7-data-byte form of a protocol-1 master, decoded when sniffing)."""
        _check_u16("master_id", self.master_id)
        _check_u16("slave_id", self.slave_id)
        _check_u8("command", self.command)
        _check_u16("amps_ca", self.amps_ca)
        body = (
            self.code.to_bytes(2, "big")
            + self.master_id.to_bytes(2, "big")
            + self.slave_id.to_bytes(2, "big")
            + bytes([self.command])
            + self.amps_ca.to_bytes(2, "big")
            + bytes([1 if self.car_at_master else 0])
        )
        return _pad(body, self.size)


@dataclass(frozen=True, slots=True)
class SlaveHeartbeat:
    """``FD E0``: a slave's answer: state, the limit it honours (echo), the current its car draws."""

    slave_id: int
    master_id: int
    state: int
    max_amps_ca: int
    actual_amps_ca: int
    size: Size = 15
    code: ClassVar[int] = SLAVE_HEARTBEAT

    @property
    def protocol(self) -> int:
        """1 for 7 data bytes, 2 for 9 (or the long 4.5.3 form)."""
        return _protocol_of(self.size)

    @property
    def max_amps(self) -> float:
        """Limit the slave honours (A)."""
        return self.max_amps_ca / 100

    @property
    def actual_amps(self) -> float:
        """Current drawn (A)."""
        return self.actual_amps_ca / 100

    def encode_payload(self) -> bytes:
        """13, 15 or 19 bytes."""
        _check_u16("slave_id", self.slave_id)
        _check_u16("master_id", self.master_id)
        _check_u8("state", self.state)
        _check_u16("max_amps_ca", self.max_amps_ca)
        _check_u16("actual_amps_ca", self.actual_amps_ca)
        body = (
            self.code.to_bytes(2, "big")
            + self.slave_id.to_bytes(2, "big")
            + self.master_id.to_bytes(2, "big")
            + bytes([self.state])
            + self.max_amps_ca.to_bytes(2, "big")
            + self.actual_amps_ca.to_bytes(2, "big")
        )
        return _pad(body, self.size)


def _addressed(code: int, master_id: int, slave_id: int, size: int) -> bytes:
    """A master request that carries only the two IDs (queries, start/stop), zero-padded to ``size``."""
    _check_u16("master_id", master_id)
    _check_u16("slave_id", slave_id)
    return _pad(code.to_bytes(2, "big") + master_id.to_bytes(2, "big") + slave_id.to_bytes(2, "big"), size)


@dataclass(frozen=True, slots=True)
class PowerQuery:
    """``FB EB``: ask lifetime kWh and phase voltages (14 bytes, the form proven in the field)."""

    master_id: int
    slave_id: int
    size: RequestSize = 14
    code: ClassVar[int] = POWER_QUERY

    def encode_payload(self) -> bytes:
        """14- or 15-byte payload."""
        return _addressed(self.code, self.master_id, self.slave_id, self.size)


@dataclass(frozen=True, slots=True)
class PowerReport:
    """``FD EB``: lifetime energy (kWh) and the three phase voltages."""

    slave_id: int
    lifetime_kwh: int
    volts_a: int
    volts_b: int
    volts_c: int
    size: Literal[15, 19] = 19
    code: ClassVar[int] = POWER_REPORT

    def encode_payload(self) -> bytes:
        """15 or 19 bytes."""
        _check_u16("slave_id", self.slave_id)
        if not 0 <= self.lifetime_kwh <= 0xFFFFFFFF:
            raise FrameError(f"lifetime_kwh {self.lifetime_kwh} does not fit in 32 bits")
        for name, v in (("volts_a", self.volts_a), ("volts_b", self.volts_b), ("volts_c", self.volts_c)):
            _check_u16(name, v)
        body = (
            self.code.to_bytes(2, "big")
            + self.slave_id.to_bytes(2, "big")
            + self.lifetime_kwh.to_bytes(4, "big")
            + self.volts_a.to_bytes(2, "big")
            + self.volts_b.to_bytes(2, "big")
            + self.volts_c.to_bytes(2, "big")
        )
        return _pad(body, self.size)


@dataclass(frozen=True, slots=True)
class VinQuery:
    """``FB EE`` / ``FB EF`` / ``FB F1``: ask part 1, 2 or 3 of the connected car's VIN (14 bytes by default)."""

    master_id: int
    slave_id: int
    part: VinPart
    size: RequestSize = 14

    @property
    def code(self) -> int:
        """The message code of this part."""
        return VIN_QUERIES[self.part]

    def encode_payload(self) -> bytes:
        """14- or 15-byte payload."""
        return _addressed(self.code, self.master_id, self.slave_id, self.size)


@dataclass(frozen=True, slots=True)
class VinReply:
    """``FD EE`` / ``FD EF`` / ``FD F1``: up to 7 ASCII characters of the VIN (7+7+3); all zero = no VIN."""

    slave_id: int
    part: VinPart
    chars: bytes
    size: Literal[15, 19] = 19

    @property
    def code(self) -> int:
        """The message code of this part."""
        return VIN_REPLIES[self.part]

    @property
    def text(self) -> str:
        """The characters as text, NULs removed, non-ASCII replaced."""
        return self.chars.rstrip(b"\x00").decode("ascii", errors="replace")

    def encode_payload(self) -> bytes:
        """15 or 19 bytes."""
        _check_u16("slave_id", self.slave_id)
        if len(self.chars) != 7:
            raise FrameError(f"a VIN part carries exactly 7 bytes, not {len(self.chars)}")
        return _pad(self.code.to_bytes(2, "big") + self.slave_id.to_bytes(2, "big") + self.chars, self.size)


@dataclass(frozen=True, slots=True)
class StartCharging:
    """``FC B1``: start charging (firmware >= 4.5.3)."""

    master_id: int
    slave_id: int
    size: RequestSize = 15
    code: ClassVar[int] = START_CHARGING

    def encode_payload(self) -> bytes:
        """15-byte payload (14 accepted)."""
        return _addressed(self.code, self.master_id, self.slave_id, self.size)


@dataclass(frozen=True, slots=True)
class StopCharging:
    """``FC B2``: stop charging (firmware >= 4.5.3); opens the relay abruptly."""

    master_id: int
    slave_id: int
    size: RequestSize = 15
    code: ClassVar[int] = STOP_CHARGING

    def encode_payload(self) -> bytes:
        """15-byte payload (14 accepted)."""
        return _addressed(self.code, self.master_id, self.slave_id, self.size)


@dataclass(frozen=True, slots=True)
class InfoQuery:
    """``FB 19`` / ``FB 1A`` / ``FB 1B``: ask serial number, model or firmware version."""

    master_id: int
    slave_id: int
    what: InfoKind
    size: RequestSize = 14

    @property
    def code(self) -> int:
        """The message code of this query."""
        return INFO_QUERIES[self.what]

    def encode_payload(self) -> bytes:
        """14- or 15-byte payload."""
        return _addressed(self.code, self.master_id, self.slave_id, self.size)


@dataclass(frozen=True, slots=True)
class InfoReply:
    """``FD 19`` / ``FD 1A`` / ``FD 1B``: serial number or model (ASCII) or firmware (3 bytes).

    ``data`` is every byte after the slave ID, trailing zeros removed.
    """

    slave_id: int
    what: InfoKind
    data: bytes
    size: Size = 19

    @property
    def code(self) -> int:
        """The message code of this reply."""
        return INFO_REPLIES[self.what]

    @property
    def text(self) -> str:
        """``data`` as text (ASCII for serial/model, dotted numbers for the firmware)."""
        if self.what == "firmware":
            return ".".join(str(b) for b in self.data[:3])
        return self.data.decode("ascii", errors="replace")

    def encode_payload(self) -> bytes:
        """13, 15 or 19 bytes."""
        _check_u16("slave_id", self.slave_id)
        if self.data != self.data.rstrip(b"\x00"):
            raise FrameError("info reply data must not end in zero bytes (they are padding)")
        return _pad(self.code.to_bytes(2, "big") + self.slave_id.to_bytes(2, "big") + self.data, self.size)


@dataclass(frozen=True, slots=True)
class MasterIdle:
    """``FC 1D``: a real master's idle notice; decoded for sniffing, otherwise ignored.

    ``data`` is every byte after the code, trailing zeros removed.
    """

    data: bytes
    size: Size = 15
    code: ClassVar[int] = MASTER_IDLE

    def encode_payload(self) -> bytes:
        """13, 15 or 19 bytes."""
        if self.data != self.data.rstrip(b"\x00"):
            raise FrameError("idle notice data must not end in zero bytes (they are padding)")
        return _pad(self.code.to_bytes(2, "big") + self.data, self.size)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A well-formed frame with a code this module does not know; kept whole for sniffing."""

    payload: bytes

    @property
    def code(self) -> int:
        """The first two bytes."""
        return _u16(self.payload, 0)

    def encode_payload(self) -> bytes:
        """The payload as received."""
        if len(self.payload) not in (13, 14, 15, 19):
            raise FrameError(f"payload of {len(self.payload)} bytes (expected 13, 15 or 19)")
        if len(self.payload) == 14:
            raise FrameError("only master requests come as 14 bytes")
        return self.payload


Message: TypeAlias = (
    MasterLinkReady1
    | MasterLinkReady2
    | SlaveLinkReady
    | MasterHeartbeat
    | SlaveHeartbeat
    | PowerQuery
    | PowerReport
    | VinQuery
    | VinReply
    | StartCharging
    | StopCharging
    | InfoQuery
    | InfoReply
    | MasterIdle
    | UnknownMessage
)

_VIN_QUERY_PART: dict[int, VinPart] = {v: k for k, v in VIN_QUERIES.items()}
_VIN_REPLY_PART: dict[int, VinPart] = {v: k for k, v in VIN_REPLIES.items()}
_INFO_QUERY_KIND: dict[int, InfoKind] = {v: k for k, v in INFO_QUERIES.items()}
_INFO_REPLY_KIND: dict[int, InfoKind] = {v: k for k, v in INFO_REPLIES.items()}


def _size(n: int) -> Size:
    return 13 if n == 13 else 15 if n == 15 else 19


def _reply_size(n: int) -> Literal[15, 19]:
    return 15 if n == 15 else 19


def decode_payload(payload: bytes) -> Message:
    """Parse an unframed payload (without checksum) of 13, 15 or 19 bytes into its message class.

    A known code with a length that cannot carry its fields raises :class:`FrameError`; an unknown code
    becomes :class:`UnknownMessage`.
    """
    size = len(payload)
    if size not in PAYLOAD_SIZES:
        raise FrameError(f"bad length: payload of {size} bytes (expected 13, 14, 15 or 19)")
    code = _u16(payload, 0)
    if code in (MASTER_LINKREADY1, MASTER_LINKREADY2):
        cls = MasterLinkReady1 if code == MASTER_LINKREADY1 else MasterLinkReady2
        return cls(master_id=_u16(payload, 2), sign=payload[4])
    if code == SLAVE_LINKREADY:
        if size == 19:
            raise FrameError("slave linkready must be 13 (protocol 1) or 15 (protocol 2) bytes, not 19")
        return SlaveLinkReady(
            slave_id=_u16(payload, 2),
            sign=payload[4],
            max_amps_ca=_u16(payload, 5),
            size=13 if size == 13 else 15,
        )
    if code == MASTER_HEARTBEAT:
        if size not in (13, 15):
            raise FrameError(f"master heartbeat must be 13 or 15 bytes, not {size}")
        return MasterHeartbeat(
            master_id=_u16(payload, 2),
            slave_id=_u16(payload, 4),
            command=payload[6],
            amps_ca=_u16(payload, 7),
            car_at_master=payload[9] == 1,
            size=13 if size == 13 else 15,
        )
    if size == 14 and not (
        code in (POWER_QUERY, START_CHARGING, STOP_CHARGING)
        or code in _VIN_QUERY_PART
        or code in _INFO_QUERY_KIND
    ):
        raise FrameError(f"bad length: only master requests come as 14 bytes, not {code:04X}")
    if code == SLAVE_HEARTBEAT:
        return SlaveHeartbeat(
            slave_id=_u16(payload, 2),
            master_id=_u16(payload, 4),
            state=payload[6],
            max_amps_ca=_u16(payload, 7),
            actual_amps_ca=_u16(payload, 9),
            size=_size(size),
        )
    if (
        code in (POWER_QUERY, START_CHARGING, STOP_CHARGING)
        or code in _VIN_QUERY_PART
        or code in _INFO_QUERY_KIND
    ):
        if size not in (14, 15):
            raise FrameError(f"master request {code:04X} must be 14 or 15 bytes, not {size}")
        mid, sid = _u16(payload, 2), _u16(payload, 4)
        rsize: RequestSize = 14 if size == 14 else 15
        if code == POWER_QUERY:
            return PowerQuery(mid, sid, rsize)
        if code == START_CHARGING:
            return StartCharging(mid, sid, rsize)
        if code == STOP_CHARGING:
            return StopCharging(mid, sid, rsize)
        if code in _VIN_QUERY_PART:
            return VinQuery(mid, sid, _VIN_QUERY_PART[code], rsize)
        return InfoQuery(mid, sid, _INFO_QUERY_KIND[code], rsize)
    if code == POWER_REPORT:
        if size == 13:
            raise FrameError("kWh/voltage report needs 15 or 19 bytes, not 13")
        return PowerReport(
            slave_id=_u16(payload, 2),
            lifetime_kwh=int.from_bytes(payload[4:8], "big"),
            volts_a=_u16(payload, 8),
            volts_b=_u16(payload, 10),
            volts_c=_u16(payload, 12),
            size=_reply_size(size),
        )
    if code in _VIN_REPLY_PART:
        if size == 13:
            raise FrameError("VIN reply needs 15 or 19 bytes, not 13")
        return VinReply(
            slave_id=_u16(payload, 2),
            part=_VIN_REPLY_PART[code],
            chars=bytes(payload[4:11]),
            size=_reply_size(size),
        )
    if code in _INFO_REPLY_KIND:
        return InfoReply(
            slave_id=_u16(payload, 2),
            what=_INFO_REPLY_KIND[code],
            data=bytes(payload[4:]).rstrip(b"\x00"),
            size=_size(size),
        )
    if code == MASTER_IDLE:
        return MasterIdle(data=bytes(payload[2:]).rstrip(b"\x00"), size=_size(size))
    return UnknownMessage(bytes(payload))
