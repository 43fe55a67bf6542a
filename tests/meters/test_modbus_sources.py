"""Modbus meters against a pymodbus server on loopback (TCP) and over a pty pair (RTU).

Register maps follow the vendors' documents: Kostal's float32 registers in either word order (as
register 5 announces), SunSpec's model chain with int16 points and scale factors, SolarEdge's
addresses (inverter model 103 at 40069, meter model 203 at 40188) and its export-positive meter.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import struct
import threading
import tty
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ecotrack.config_load import ConfigError, parse_config
from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import builtin_registry
from ecotrack.meters.modbus.decode import float32, int16, scaled
from ecotrack.meters.polling import PollingSource, SourceError

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

FAST = {"timeout_s": 0.5, "retries": 0}


def f32(value: float, order: str) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo] if order == "big" else [lo, hi]


def i16(value: int) -> int:
    return value & 0xFFFF


def device(unit: int, holding: dict[int, int], size: int = 60_000) -> SimDevice:
    """A device whose holding registers 0..size-1 are 0 except ``holding``."""
    regs = [0] * size
    for addr, value in holding.items():
        regs[addr] = value
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    return SimDevice(
        id=unit,
        simdata=(
            bits,
            bits,
            [SimData(0, values=regs, datatype=DataType.REGISTERS)],
            [SimData(0, values=[0], datatype=DataType.REGISTERS)],
        ),
    )


def build(meter: dict[str, Any]) -> PollingSource:
    cfg = parse_config(
        {"site": {"grid_meter": "m"}, "meters": {"m": meter}, "chargers": {}, "loadpoints": {}}
    )
    source = builtin_registry().create("meter", "m", cfg.meters["m"], DeviceContext())
    assert isinstance(source, PollingSource)
    return source


class TcpServer:
    def __init__(self, dev: SimDevice) -> None:
        self.server = ModbusTcpServer(dev, address=("127.0.0.1", 0))

    async def start(self) -> int:
        await self.server.serve_forever(background=True)
        return int(self.server.transport.sockets[0].getsockname()[1])  # type: ignore[union-attr]


@pytest.fixture
async def tcp() -> AsyncIterator[Any]:
    servers: list[TcpServer] = []

    async def start(dev: SimDevice) -> int:
        srv = TcpServer(dev)
        servers.append(srv)
        return await srv.start()

    yield start
    for srv in servers:
        await srv.server.shutdown()


# ------------------------------------------------------------------------------------------- decode


def test_decode_word_orders_int16_and_scale_factors() -> None:
    assert float32(f32(1234.5, "big"), "big") == 1234.5
    assert float32(f32(-987.25, "little"), "little") == -987.25
    assert float32(f32(1234.5, "big"), "little") != 1234.5
    assert int16(0xFFFF) == -1 and int16(0x7FFF) == 32767
    assert scaled(12345, -2, "W") == pytest.approx(123.45)
    assert scaled(-32768, 0, "W") is None  # not implemented
    with pytest.raises(SourceError, match="scale factor 99"):
        scaled(1, 99, "W")


# ------------------------------------------------------------------------------------------- Kostal


def kostal_map(order: str, *, grid: float, pv: float, battery: bool = False) -> dict[int, int]:
    regs: dict[int, int] = {5: 1 if order == "big" else 0}

    def put(addr: int, value: float) -> None:
        regs[addr], regs[addr + 1] = f32(value, order)

    put(100, pv)
    put(252, grid)
    for phase, (amps, watts, volts) in enumerate(
        ((6.5, 1500.0, 231.5), (2.0, -460.0, 230.0), (1.0, 230.0, 229.5))
    ):
        put(222 + 10 * phase, amps)
        put(224 + 10 * phase, watts)
        put(230 + 10 * phase, volts)
    if battery:
        put(200, 3.2)
        put(210, 64.0)
        regs[582] = i16(-1200)
    return regs


@pytest.mark.parametrize("order", ["little", "big"])
async def test_kostal_reads_pv_grid_phases_in_either_byte_order(tcp: Any, order: str) -> None:
    port = await tcp(device(71, kostal_map(order, grid=-2150.5, pv=4800.25)))
    r = await build({"type": "kostal", "host": "127.0.0.1", "port": port, **FAST}).read_once()
    assert (r.grid_w, r.pv_w, r.battery_w) == (-2150.5, 4800.25, None)
    assert r.voltages_v == (231.5, 230.0, 229.5)
    assert r.currents_a == (6.5, -2.0, 1.0)


async def test_kostal_battery_and_a_forced_byte_order_overrides_register_5(tcp: Any) -> None:
    port = await tcp(device(71, kostal_map("little", grid=300.0, pv=0.0, battery=True)))
    meter = {"type": "kostal", "host": "127.0.0.1", "port": port, "battery": True, **FAST}
    r = await build(meter).read_once()
    assert (r.grid_w, r.battery_w, r.battery_soc_pct) == (300.0, -1200.0, 64.0)
    forced = await build({**meter, "byte_order": "big"}).read_once()
    assert forced.grid_w == pytest.approx(float32(f32(300.0, "little"), "big"))  # read as told, not as 300


async def test_kostal_absurd_float_is_rejected(tcp: Any) -> None:
    """A float32 register can hold 3e38 W: implausible values are an error, not a reading (issue 12)."""
    port = await tcp(device(71, kostal_map("little", grid=1e30, pv=0.0)))
    with pytest.raises(SourceError, match="plausible"):
        await build({"type": "kostal", "host": "127.0.0.1", "port": port, **FAST}).read_once()


async def test_kostal_wrong_unit_id_is_a_device_error(tcp: Any) -> None:
    port = await tcp(device(71, kostal_map("little", grid=1.0, pv=1.0)))
    with pytest.raises(SourceError, match="exception"):
        await build({"type": "kostal", "host": "127.0.0.1", "port": port, "unit_id": 3, **FAST}).read_once()


async def test_modbus_nothing_listening_is_a_connect_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match="cannot connect"):
        await build({"type": "kostal", "host": "127.0.0.1", "port": port, **FAST}).read_once()


# ------------------------------------------------------------------------------------------ SunSpec


def sunspec_map(
    base: int,
    *,
    inverter_w: tuple[int, int],
    meter_w: tuple[int, int],
    phases: bool = True,
    meter_common: bool = False,
) -> dict[int, int]:
    """'SunS', common model 1 (65 regs), inverter 103 (50), [the meter's common model 1 (65),] meter 203 (105), end."""
    regs: dict[int, int] = {base: 0x5375, base + 1: 0x6E53}
    a = base + 2
    regs[a], regs[a + 1] = 1, 65
    a += 2 + 65
    regs[a], regs[a + 1] = 103, 50
    inv = a + 2
    regs[inv + 12], regs[inv + 13] = i16(inverter_w[0]), i16(inverter_w[1])
    a += 2 + 50
    if meter_common:
        regs[a], regs[a + 1] = 1, 65
        a += 2 + 65
    regs[a], regs[a + 1] = 203, 105
    met = a + 2
    regs[met + 16], regs[met + 20] = i16(meter_w[0]), i16(meter_w[1])
    if phases:
        regs[met + 1], regs[met + 2], regs[met + 3], regs[met + 4] = 123, 45, 67, i16(-1)  # A x 0.1
        regs[met + 6], regs[met + 7], regs[met + 8], regs[met + 13] = 2315, 2302, 2298, i16(-1)  # V x 0.1
        regs[met + 17], regs[met + 18], regs[met + 19] = i16(280), i16(-100), i16(150)  # W x 10^W_SF
    else:
        for off in (1, 2, 3, 6, 7, 8, 17, 18, 19):
            regs[met + off] = 0x8000
    a += 2 + 105
    regs[a], regs[a + 1] = 0xFFFF, 0
    return regs


async def test_sunspec_scale_factors_and_phases(tcp: Any) -> None:
    # inverter W = 3456 x 10^0; meter W = -1234 x 10^1 = -12340 W (import positive: exporting)
    port = await tcp(device(1, sunspec_map(40000, inverter_w=(3456, 0), meter_w=(-1234, 1))))
    r = await build({"type": "sunspec", "host": "127.0.0.1", "port": port, **FAST}).read_once()
    assert (r.pv_w, r.grid_w) == (3456.0, -12340.0)
    assert r.voltages_v == pytest.approx((231.5, 230.2, 229.8))
    assert r.currents_a == pytest.approx((12.3, -4.5, 6.7))


async def test_sunspec_finds_the_map_at_address_zero_and_skips_unimplemented_phases(tcp: Any) -> None:
    port = await tcp(device(1, sunspec_map(0, inverter_w=(512, 1), meter_w=(300, 0), phases=False)))
    r = await build({"type": "sunspec", "host": "127.0.0.1", "port": port, **FAST}).read_once()
    assert (r.pv_w, r.grid_w, r.voltages_v, r.currents_a) == (5120.0, 300.0, None, None)


async def test_sunspec_without_marker_is_a_clear_error(tcp: Any) -> None:
    port = await tcp(device(1, {}))
    with pytest.raises(SourceError, match="no SunSpec marker"):
        await build({"type": "sunspec", "host": "127.0.0.1", "port": port, **FAST}).read_once()


async def test_solaredge_uses_40000_and_flips_the_export_positive_meter(tcp: Any) -> None:
    regs = sunspec_map(40000, inverter_w=(32100, -1), meter_w=(2500, 0), meter_common=True)
    assert regs[40069] == 103 and regs[40188] == 203  # SolarEdge's documented addresses
    port = await tcp(device(1, regs))
    r = await build({"type": "solaredge_modbus", "host": "127.0.0.1", "port": port, **FAST}).read_once()
    assert r.pv_w == pytest.approx(3210.0) and r.grid_w == -2500.0  # SolarEdge +2500 = export
    assert r.currents_a == pytest.approx((-12.3, 4.5, -6.7))  # phase currents follow the flipped phase powers


# ---------------------------------------------------------------------------------------- RTU (pty)


@pytest.fixture
def pty_link() -> Iterator[tuple[str, str]]:
    """Two pty devices joined back to back: what one side writes, the other reads (a null-modem cable)."""
    m1, s1 = os.openpty()
    m2, s2 = os.openpty()
    for fd in (m1, s1, m2, s2):
        tty.setraw(fd)
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([m1, m2], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return
                os.write(m2 if fd == m1 else m1, data)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield os.ttyname(s1), os.ttyname(s2)
    finally:
        stop.set()
        thread.join(1)
        for fd in (m1, s1, m2, s2):
            os.close(fd)


async def test_sunspec_over_rtu_on_a_pty_pair(pty_link: tuple[str, str]) -> None:
    server_port, client_port = pty_link
    server = ModbusSerialServer(
        device(7, sunspec_map(40000, inverter_w=(2100, 0), meter_w=(-450, 0))),
        port=server_port,
        baudrate=19200,
    )
    await server.serve_forever(background=True)
    try:
        meter = {
            "type": "sunspec",
            "device": client_port,
            "baudrate": 19200,
            "unit_id": 7,
            "timeout_s": 1.0,
            "retries": 1,
        }
        r = await build(meter).read_once()
        assert (r.pv_w, r.grid_w) == (2100.0, -450.0)
    finally:
        await server.shutdown()
    await asyncio.sleep(0)


def test_modbus_config_needs_exactly_one_transport() -> None:
    with pytest.raises(ConfigError, match=r"meters\.m: set exactly one of host"):
        build({"type": "sunspec"})
    with pytest.raises(ConfigError, match="exactly one of host"):
        build({"type": "sunspec", "host": "h", "device": "/dev/ttyUSB0"})
