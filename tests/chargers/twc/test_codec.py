"""The TWC codec: every worked vector of the spec, random round trips, and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecotrack.chargers.twc.codec import (
    FrameError,
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
    checksum,
    decode_frame,
    decode_payload,
    encode_frame,
    escape,
    frame_payload,
    unescape,
)

# (wire bytes as in specs/twc-gen2.md, the message they carry). Unframed received payloads there show
# the checksum after "|"; here it is simply the last byte.
VECTORS: list[tuple[str, Message]] = [
    ("C0 FC E1 77 77 77 00 00 00 00 00 00 00 00 46 C0", MasterLinkReady1(0x7777, 0x77)),
    ("C0 FB E2 77 77 77 00 00 00 00 00 00 00 00 47 C0", MasterLinkReady2(0x7777, 0x77)),
    ("FD E2 18 39 52 0C 80 00 00 00 00 00 00 00 00 11", SlaveLinkReady(0x1839, 0x52, 3200, size=15)),
    ("C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A1 C0", MasterHeartbeat(0x7777, 0x022C, 0x05, 2200)),
    ("C0 FB E0 77 77 20 19 00 00 00 00 00 00 00 00 00 07 C0", MasterHeartbeat(0x7777, 0x2019, 0x00, 0)),
    ("FD E0 02 2C 77 77 02 00 00 06 96 00 00 9A", SlaveHeartbeat(0x022C, 0x7777, 0x02, 0, 1686, size=13)),
    (
        "FD E0 20 19 77 77 08 02 58 02 10 00 00 00 00 7B",
        SlaveHeartbeat(0x2019, 0x7777, 0x08, 600, 528, size=15),
    ),
    ("C0 FB EE 77 77 20 19 00 00 00 00 00 00 00 00 15 C0", VinQuery(0x7777, 0x2019, 1, size=14)),
    ("C0 FC B2 77 77 02 2C 00 00 00 00 00 00 00 00 00 CE C0", StopCharging(0x7777, 0x022C)),
    ("C0 FB E0 77 77 DB DD 12 09 06 40 00 00 00 00 00 00 0A C0", MasterHeartbeat(0x7777, 0xDB12, 0x09, 1600)),
    ("C0 FB E0 77 77 02 2C 09 02 B9 00 00 00 00 00 00 DB DC C0", MasterHeartbeat(0x7777, 0x022C, 0x09, 697)),
]


def _framed(hexstr: str) -> bytes:
    raw = bytes.fromhex(hexstr)
    return raw if raw[0] == 0xC0 else frame_payload(raw[:-1])


@pytest.mark.parametrize(("wire", "message"), VECTORS, ids=[type(m).__name__ for _, m in VECTORS])
def test_worked_vectors_round_trip(wire: str, message: Message) -> None:
    raw = bytes.fromhex(wire)
    assert decode_frame(raw) == message
    framed = encode_frame(message)
    assert framed == _framed(wire)
    if raw[0] != 0xC0:  # received payloads: the last byte is the checksum
        assert checksum(raw[:-1]) == raw[-1]


def test_vector_fields_mean_what_the_spec_says() -> None:
    link = decode_frame(bytes.fromhex("FD E2 18 39 52 0C 80 00 00 00 00 00 00 00 00 11"))
    assert isinstance(link, SlaveLinkReady) and link.protocol == 2 and link.max_amps == 32.0
    hb1 = decode_frame(bytes.fromhex("FD E0 02 2C 77 77 02 00 00 06 96 00 00 9A"))
    assert isinstance(hb1, SlaveHeartbeat) and hb1.protocol == 1 and hb1.actual_amps == 16.86
    hb2 = decode_frame(bytes.fromhex("FD E0 20 19 77 77 08 02 58 02 10 00 00 00 00 7B"))
    assert isinstance(hb2, SlaveHeartbeat) and (hb2.state, hb2.max_amps, hb2.actual_amps) == (8, 6.0, 5.28)


def test_kwh_volts_reply_19_byte_form() -> None:
    payload = bytes.fromhex("FD EB 20 19 00 00 03 9C 00 F4 00 F0 00 F5 00 00 00 00 00")
    msg = decode_payload(payload)
    assert msg == PowerReport(0x2019, 924, 244, 240, 245, size=19)
    assert msg.encode_payload() == payload


def test_escaping_covers_the_checksum() -> None:
    # p2 limit 6.97 A to 022C sums to C0: the checksum byte itself must be escaped.
    frame = encode_frame(MasterHeartbeat(0x7777, 0x022C, 0x09, 697))
    assert frame.endswith(b"\xdb\xdc\xc0") and frame.count(0xC0) == 2


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A2 C0", "bad checksum"),
        ("C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 A1 C0", "must be 13 or 15 bytes"),
        ("C0 FB E0 77 77 DB 12 09 06 40 00 00 00 00 00 00 0A C0", "bad escape"),
        ("C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 DB C0", "middle of an escape"),
        ("C0 FD E2 18 39 52 0C 80 00 00 00 00 00 00 00 00 00 00 00 00 11 C0", "slave linkready"),
        ("C0 FD E0 20 19 77 77 08 02 58 02 10 00 00 00 7B C0", "only master requests"),
        ("C0 FB E0 77 77 00 00 00 00 C0", "bad length"),
    ],
)
def test_invalid_frames_name_the_reason(wire: str, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode_frame(bytes.fromhex(wire))


def test_never_sends_the_codes_that_damage_a_twc() -> None:
    for code in (b"\xfc\x19", b"\xfc\x1a", b"\xfb\xe8"):
        with pytest.raises(FrameError, match="refusing"):
            encode_frame(UnknownMessage(code + bytes(13)))


def test_unknown_codes_are_kept_whole() -> None:
    payload = bytes.fromhex("FB 77 77 77 20 19 01 02 03 04 05 06 07 08 09")
    msg = decode_frame(frame_payload(payload))
    assert msg == UnknownMessage(payload) and msg.code == 0xFB77


def test_fields_out_of_range_are_refused() -> None:
    with pytest.raises(FrameError, match="16 bits"):
        MasterHeartbeat(0x7777, 0x10000).encode_payload()
    with pytest.raises(FrameError, match="7 bytes"):
        VinReply(1, 1, b"abc").encode_payload()


# ---------------------------------------------------------------------------------------- hypothesis

u16 = st.integers(0, 0xFFFF)
u8 = st.integers(0, 0xFF)
part = st.sampled_from([1, 2, 3])
info = st.sampled_from(["serial", "model", "firmware"])
tail = st.binary(max_size=11).map(lambda b: b.rstrip(b"\x00"))

messages = st.one_of(
    st.builds(MasterLinkReady1, u16, u8),
    st.builds(MasterLinkReady2, u16, u8),
    st.builds(SlaveLinkReady, u16, u8, u16, st.sampled_from([13, 15])),
    st.builds(MasterHeartbeat, u16, u16, u8, u16, st.booleans(), st.sampled_from([13, 15])),
    st.builds(SlaveHeartbeat, u16, u16, u8, u16, u16, st.sampled_from([13, 15, 19])),
    st.builds(PowerQuery, u16, u16, st.sampled_from([14, 15])),
    st.builds(PowerReport, u16, st.integers(0, 2**32 - 1), u16, u16, u16, st.sampled_from([15, 19])),
    st.builds(VinQuery, u16, u16, part, st.sampled_from([14, 15])),
    st.builds(VinReply, u16, part, st.binary(min_size=7, max_size=7), st.sampled_from([15, 19])),
    st.builds(StartCharging, u16, u16, st.sampled_from([14, 15])),
    st.builds(StopCharging, u16, u16, st.sampled_from([14, 15])),
    st.builds(InfoQuery, u16, u16, info, st.sampled_from([14, 15])),
    st.builds(InfoReply, u16, info, st.binary(max_size=9).map(lambda b: b.rstrip(b"\x00")), st.just(15)),
    st.builds(MasterIdle, tail, st.sampled_from([13, 15])),
)


@given(messages)
def test_decode_encode_round_trip(message: Message) -> None:
    assert decode_payload(message.encode_payload()) == message
    assert decode_frame(encode_frame(message)) == message


@given(st.binary(max_size=64))
def test_escape_unescape_round_trip(data: bytes) -> None:
    escaped = escape(data)
    assert b"\xc0" not in escaped
    assert unescape(escaped) == data
