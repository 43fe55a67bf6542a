"""The streaming deframer: resync on noise, stray bytes, timeouts, counters; never raises."""

from __future__ import annotations

import random

from ecotrack.chargers.twc.codec import FrameError, MasterHeartbeat, SlaveHeartbeat, encode_frame
from ecotrack.chargers.twc.deframer import Deframer

HB = MasterHeartbeat(0x7777, 0x1839, 0x09, 1600)
REPLY = SlaveHeartbeat(0x1839, 0x7777, 0x01, 1600, 1590, size=15)


def messages(items: list[object]) -> list[object]:
    return [i for i in items if not isinstance(i, FrameError)]


def test_back_to_back_frames_and_stray_fe_bytes() -> None:
    d = Deframer()
    out = d.feed(encode_frame(HB) + b"\xfe" + encode_frame(REPLY) + b"\xfe\xfe", now=0.0)
    assert out == [HB, REPLY]
    assert d.stats.frames == 2 and d.stats.stray_bytes == 3 and d.stats.bad_frames == 0


def test_frames_split_anywhere_reassemble() -> None:
    wire = encode_frame(HB) + encode_frame(REPLY)
    for cut in range(1, len(wire)):
        d = Deframer()
        assert d.feed(wire[:cut], 0.0) + d.feed(wire[cut:], 0.1) == [HB, REPLY]


def test_resyncs_after_a_lost_byte() -> None:
    broken = encode_frame(HB)[:8]  # the sender died mid-frame; the next frame starts
    d = Deframer()
    out = d.feed(broken + encode_frame(REPLY) + encode_frame(HB), 0.0)
    # The broken frame ends at the reply's opening C0 (bad length); that C0 then opens the reply.
    assert messages(out) == [REPLY, HB]
    assert d.stats.bad_frames == 1 and "bad length" in str(out[0])


def test_joining_mid_stream_loses_at_most_one_frame() -> None:
    wire = encode_frame(HB) + encode_frame(REPLY) + encode_frame(HB)
    for start in range(1, len(encode_frame(HB))):
        d = Deframer()
        got = messages(d.feed(wire[start:], 0.0))
        assert got[-1] == HB and len(got) >= 1


def test_bad_checksum_is_counted_and_skipped() -> None:
    frame = bytearray(encode_frame(HB))
    frame[-2] ^= 0x01
    d = Deframer()
    out = d.feed(bytes(frame) + encode_frame(REPLY), 0.0)
    assert messages(out) == [REPLY]
    assert d.stats.bad_checksum == 1 and d.stats.bad_frames == 1
    assert "bad checksum" in str(out[0])


def test_partial_frame_dropped_after_timeout() -> None:
    d = Deframer(timeout_s=2.0)
    frame = encode_frame(HB)
    assert d.feed(frame[:6], now=0.0) == []
    out = d.feed(frame[6:], now=3.0)  # the rest arrives too late: a new frame has to start
    assert messages(out) == [] and d.stats.timeouts == 1
    assert d.feed(encode_frame(REPLY), now=3.1) == [REPLY]


def test_overlong_garbage_inside_a_frame_is_capped() -> None:
    d = Deframer()
    out = d.feed(b"\xc0" + bytes(range(1, 200)) + encode_frame(HB), 0.0)
    assert HB in messages(out) and d.stats.bad_frames >= 1


def test_checksum_byte_0a_0d_is_not_a_line_end() -> None:
    # Find heartbeats whose checksum is 0A or 0D: a line-based reader would break them.
    hits = [
        MasterHeartbeat(0x7777, sid, 0x09, 600)
        for sid in range(0, 0x400)
        if encode_frame(MasterHeartbeat(0x7777, sid, 0x09, 600))[-2] in (0x0A, 0x0D)
    ]
    assert hits
    d = Deframer()
    assert d.feed(b"".join(encode_frame(m) for m in hits), 0.0) == hits


def test_100000_random_streams_never_raise() -> None:
    """Short random streams, biased towards the bytes that matter (C0, DB, DC, DD) and real frames."""
    rng = random.Random(20240621)
    special = [0xC0, 0xDB, 0xDC, 0xDD, 0xFE, 0x00]
    pieces = [encode_frame(HB), encode_frame(REPLY)]
    decoded = 0
    for i in range(100_000):
        d = Deframer(timeout_s=2.0)
        n = rng.randrange(0, 48)
        data = bytearray()
        while len(data) < n:
            r = rng.random()
            if r < 0.05:
                data += rng.choice(pieces)
            elif r < 0.45:
                data.append(rng.choice(special))
            else:
                data.append(rng.randrange(256))
        cut = rng.randrange(0, len(data) + 1)
        out = d.feed(bytes(data[:cut]), now=0.0) + d.feed(bytes(data[cut:]), now=float(i % 5))
        decoded += len(messages(out))
        s = d.stats
        assert s.frames + s.bad_frames + s.timeouts >= len(out)
    assert decoded > 1000  # the streams did contain real frames, and they came through
