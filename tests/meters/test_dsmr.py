"""DSMR P1: CRC16, real DSMR 4.2 and 5.0 telegrams, broken CRCs, split reads, and the serial source on a pty."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import Iterator

import pytest

from ecotrack.clock import RealClock
from ecotrack.meters.base import ReadingLog
from ecotrack.meters.dsmr.source import DsmrSource
from ecotrack.meters.dsmr.telegram import TelegramBuffer, crc16, parse_telegram, reading_from
from ecotrack.meters.polling import SourceError

# A DSMR 4.2 telegram (Landis+Gyr E350, three phases, gas meter) as published with its CRC.
DSMR4 = (
    b"/XMX5LGBBFFB231117791\r\n\r\n1-3:0.2.8(42)\r\n0-0:1.0.0(171011174059S)\r\n"
    b"0-0:96.1.1(4530303035303031353633323635353134)\r\n1-0:1.8.1(001677.034*kWh)\r\n"
    b"1-0:2.8.1(000000.000*kWh)\r\n1-0:1.8.2(002060.771*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n"
    b"0-0:96.14.0(0002)\r\n1-0:1.7.0(00.330*kW)\r\n1-0:2.7.0(00.000*kW)\r\n0-0:96.7.21(00005)\r\n"
    b"0-0:96.7.9(00002)\r\n1-0:99.97.0(2)(0-0:96.7.19)(151007113802S)(0000003567*s)(150817150911S)(0000003252*s)\r\n"
    b"1-0:32.32.0(00000)\r\n1-0:52.32.0(00001)\r\n1-0:72.32.0(00001)\r\n1-0:32.36.0(00000)\r\n"
    b"1-0:52.36.0(00000)\r\n1-0:72.36.0(00000)\r\n0-0:96.13.1()\r\n0-0:96.13.0()\r\n1-0:31.7.0(000*A)\r\n"
    b"1-0:51.7.0(002*A)\r\n1-0:71.7.0(000*A)\r\n1-0:21.7.0(00.003*kW)\r\n1-0:41.7.0(00.319*kW)\r\n"
    b"1-0:61.7.0(00.008*kW)\r\n1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n"
    b"0-1:24.1.0(003)\r\n0-1:96.1.0(4730303032333430313334343435393134)\r\n"
    b"0-1:24.2.1(171011170000S)(03964.814*m3)\r\n!D0FD\r\n"
)

# A DSMR 5.0 telegram (Iskra AM550, one phase, voltage) as published with its CRC.
DSMR5 = (
    b"/ISK5\\2M550E-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(211227133446W)\r\n"
    b"0-0:96.1.1(4530303439303037343733383433363139)\r\n1-0:1.8.1(001382.570*kWh)\r\n"
    b"1-0:1.8.2(001749.559*kWh)\r\n1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n"
    b"0-0:96.14.0(0002)\r\n1-0:1.7.0(00.200*kW)\r\n1-0:2.7.0(00.000*kW)\r\n0-0:96.7.21(00008)\r\n"
    b"0-0:96.7.9(00003)\r\n1-0:99.97.0(2)(0-0:96.7.19)(190904052824S)(0000000293*s)(201115085142W)(0000006033*s)\r\n"
    b"1-0:32.32.0(00006)\r\n1-0:32.36.0(00001)\r\n0-0:96.13.0()\r\n1-0:32.7.0(230.5*V)\r\n1-0:31.7.0(001*A)\r\n"
    b"1-0:21.7.0(00.164*kW)\r\n1-0:22.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n"
    b"0-1:96.1.0(4730303634303032303039363134343230)\r\n0-1:24.2.1(211227133003W)(00409.167*m3)\r\n!38AF\r\n"
)


def with_crc(body: str) -> bytes:
    """A telegram from ``/`` to ``!`` plus its CRC (for made-up exporting telegrams)."""
    raw = body.replace("\n", "\r\n").encode()
    return raw + f"{crc16(raw):04X}\r\n".encode()


EXPORTING = with_crc(
    "/ISk5\\2MT382-1000\n\n1-3:0.2.8(50)\n1-0:1.7.0(00.000*kW)\n1-0:2.7.0(02.345*kW)\n"
    "1-0:32.7.0(236.1*V)\n1-0:52.7.0(235.2*V)\n1-0:72.7.0(237.0*V)\n"
    "1-0:31.7.0(004*A)\n1-0:51.7.0(002*A)\n1-0:71.7.0(004*A)\n"
    "1-0:21.7.0(00.000*kW)\n1-0:41.7.0(00.450*kW)\n1-0:61.7.0(00.000*kW)\n"
    "1-0:22.7.0(00.950*kW)\n1-0:42.7.0(00.000*kW)\n1-0:62.7.0(01.845*kW)\n!"
)


def test_crc16_is_crc16_arc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the published check value of CRC-16/ARC


def test_dsmr4_telegram() -> None:
    t = parse_telegram(DSMR4)
    assert t.crc_checked and t.header == "XMX5LGBBFFB231117791"
    r = reading_from(t, 1.0)
    assert r.grid_w == pytest.approx(330.0)
    assert r.voltages_v is None and r.currents_a == (0.0, 2.0, 0.0)


def test_dsmr5_telegram() -> None:
    r = reading_from(parse_telegram(DSMR5), 2.0)
    assert (r.t_s, r.grid_w, r.voltage_v, r.voltages_v, r.currents_a) == (
        2.0,
        pytest.approx(200.0),
        230.5,
        (230.5,),
        (1.0,),
    )


def test_exporting_three_phase_telegram_signs_grid_and_currents() -> None:
    r = reading_from(parse_telegram(EXPORTING), 0.0)
    assert r.grid_w == pytest.approx(-2345.0)
    assert r.voltages_v == (236.1, 235.2, 237.0)
    assert r.currents_a == (-4.0, 2.0, -4.0)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b.replace(b"00.330*kW", b"09.330*kW"), "CRC mismatch"),  # a flipped digit
        (lambda b: b.replace(b"!D0FD", b"!D0FE"), "CRC mismatch"),
        (lambda b: b.replace(b"!D0FD", b"!ZZZZ"), "not hexadecimal"),
        (lambda b: b.replace(b"!D0FD", b"!"), "no CRC"),
        (lambda b: b.replace(b"1-0:1.7.0(00.330*kW)\r\n", b""), None),  # CRC no longer matches either
    ],
)
def test_broken_telegrams_are_rejected(mangle: object, message: str | None) -> None:
    raw = mangle(DSMR4)  # type: ignore[operator]
    with pytest.raises(SourceError, match=message or "CRC mismatch"):
        reading_from(parse_telegram(raw), 0.0)


def test_missing_power_line_and_dsmr3_without_crc() -> None:
    no_power = with_crc("/XMX5\n\n1-0:32.7.0(230.0*V)\n!")
    with pytest.raises(SourceError, match=r"no 1-0:1\.7\.0"):
        reading_from(parse_telegram(no_power), 0.0)
    old = b"/KMP5 ZABF001587315111\r\n\r\n1-0:1.7.0(0001.20*kW)\r\n1-0:2.7.0(0000.00*kW)\r\n!\r\n"
    with pytest.raises(SourceError, match="no CRC"):
        parse_telegram(old)
    assert reading_from(parse_telegram(old, require_crc=False), 0.0).grid_w == pytest.approx(1200.0)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_buffer_reassembles_telegrams_split_anywhere(chunk: int) -> None:
    stream = b"\x00garbage)\r\n1-0:1.7.0(9" + DSMR4 + DSMR5 + EXPORTING + DSMR4[:100]
    buf = TelegramBuffer()
    got = [t for i in range(0, len(stream), chunk) for t in buf.feed(stream[i : i + chunk])]
    assert got == [DSMR4, DSMR5, EXPORTING]
    assert buf.dropped > 0


def test_buffer_drops_a_telegram_cut_off_by_a_new_one() -> None:
    buf = TelegramBuffer()
    assert buf.feed(DSMR4[:300] + b"\r\n" + DSMR5) == [DSMR5]


# ------------------------------------------------------------------------------------ serial (pty)


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


async def test_serial_source_on_a_pty_reads_split_telegrams_and_rejects_bad_ones(
    pty_pair: tuple[int, str],
) -> None:
    master, path = pty_pair
    source = DsmrSource("p1", RealClock(), port=path, timeout_s=5.0)
    log = ReadingLog()
    readings = log.readings
    task = asyncio.create_task(source.run(log))
    try:
        await asyncio.sleep(0.2)
        bad = DSMR4.replace(b"00.330*kW", b"09.330*kW")
        for piece in (DSMR5[:50], DSMR5[50:], bad, EXPORTING[:10], EXPORTING[10:]):
            os.write(master, piece)
            await asyncio.sleep(0.05)
        for _ in range(50):
            if len(readings) >= 2:
                break
            await asyncio.sleep(0.02)
        assert [round(r.grid_w or 0.0) for r in log.values()] == [200, -2345]
        assert (source.good, source.bad, source.error) == (2, 1, None)
        os.write(master, bad)
        for _ in range(50):
            if source.error:
                break
            await asyncio.sleep(0.02)
        assert source.error is not None and "CRC mismatch" in source.error
        assert len(readings) == 2  # nothing emitted for the bad telegram
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_serial_source_silence_and_a_missing_port_are_errors(pty_pair: tuple[int, str]) -> None:
    _, path = pty_pair
    quiet = DsmrSource("p1", RealClock(), port=path, timeout_s=0.2)
    task = asyncio.create_task(quiet.run(lambda r: None))
    await asyncio.sleep(0.5)
    assert quiet.error is not None and "no complete telegram for 0.2 s" in quiet.error
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    missing = DsmrSource("p1", RealClock(), port="/dev/does-not-exist-p1", reopen_delay_s=10)
    task = asyncio.create_task(missing.run(lambda r: None))
    await asyncio.sleep(0.3)
    assert missing.error is not None and "/dev/does-not-exist-p1" in missing.error
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
