"""RS485 over TCP: ``port: socket://host:port`` for TWCs behind a serial-to-Ethernet converter.

A local TCP server stands in for the converter: it bridges its TCP connection to one end of a pty
pair whose other end carries the simulated slaves (as the pty tests do). The engine opens the
``socket://`` URL; the slaves must link and follow the core's currents, and a converter that drops the
connection must be reconnected to without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable

import pytest

from ecotrack.app import build_engine
from ecotrack.chargers.twc.link import open_serial
from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.clock import ScaledClock
from ecotrack.config_load import ConfigError, parse_config

SPEED = 20.0


class Converter:
    """A raw-TCP serial server: one client at a time, bytes copied both ways to the pty's device end."""

    def __init__(self, slaves: list[SimulatedSlave], clock: ScaledClock) -> None:
        self.sim_fd, self.tty_fd, _ = open_pty()
        os.set_blocking(self.tty_fd, False)
        self.sim = SimulatedBus(slaves, clock)
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self._tasks.append(asyncio.create_task(self.sim.run(self.sim_fd)))
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        loop = asyncio.get_running_loop()

        def from_bus() -> None:
            with contextlib.suppress(BlockingIOError, OSError):
                data = os.read(self.tty_fd, 4096)
                if data and not writer.is_closing():
                    writer.write(data)

        loop.add_reader(self.tty_fd, from_bus)
        try:
            while data := await reader.read(4096):
                os.write(self.tty_fd, data)
        except (ConnectionError, OSError):
            pass
        finally:
            loop.remove_reader(self.tty_fd)
            writer.close()

    def drop_clients(self) -> None:
        """The converter reboots: every TCP connection is closed."""
        for w in self._writers:
            w.close()
        self._writers.clear()

    async def close(self) -> None:
        self.drop_clients()
        if self.server is not None:
            self.server.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for fd in (self.sim_fd, self.tty_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
async def converter() -> AsyncIterator[Callable[[list[SimulatedSlave]], Converter]]:
    made: list[Converter] = []

    def make(slaves: list[SimulatedSlave]) -> Converter:
        c = Converter(slaves, ScaledClock(SPEED))
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


async def until(cond: Callable[[], bool], wall_s: float = 30.0) -> None:
    """Wait until ``cond()``; ``wall_s`` only bounds a failing test (a loaded machine is slow, not wrong)."""
    deadline = time.monotonic() + wall_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def sl(twc_id: int, protocol: int, unit: float = 32.0) -> SimulatedSlave:
    return SimulatedSlave(SlaveParams(twc_id=twc_id, protocol=protocol, unit_max_a=unit, seed=twc_id))


async def test_engine_drives_slaves_through_a_tcp_converter_and_reconnects(
    converter: Callable[[list[SimulatedSlave]], Converter],
) -> None:
    conv = converter([sl(0x1111, 2), sl(0x2222, 1, 80.0)])
    port = await conv.start()
    url = f"socket://127.0.0.1:{port}"
    cfg = parse_config(
        {
            "site": {"grid_meter": "grid"},
            "meters": {"grid": {"type": "replay", "interval_s": 2}},
            "chargers": {n: {"type": "twc", "port": url, "max_a": 32, "bus_max_a": 30} for n in ("a", "b")},
            "loadpoints": {
                "a": {"charger": "a", "mode": "now", "min_a": 6, "max_a": 16},
                "b": {"charger": "b", "mode": "now", "min_a": 6, "max_a": 12},
            },
        }
    )
    engine = build_engine(cfg, clock=conv.sim.clock, services=False)
    run = asyncio.create_task(engine.run())
    try:
        await until(lambda: all(s.linked for s in conv.sim.slaves))
        await until(lambda: sorted(s.limit_a for s in conv.sim.slaves) == [12.0, 16.0])
        assert conv.connections == 1 and conv.sim.max_total_limit_a <= 30
        conv.drop_clients()  # the converter reboots
        await until(lambda: conv.connections >= 2)
        heard = len(conv.sim.heard)
        await until(lambda: len(conv.sim.heard) > heard + 3)  # the master talks on the new connection
        assert sorted(s.limit_a for s in conv.sim.slaves) == [12.0, 16.0]
    finally:
        engine.stop()
        await asyncio.wait_for(run, 10)


async def test_nothing_listening_is_a_clear_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(OSError, match=f"cannot open socket://127.0.0.1:{free}"):
        await open_serial(f"socket://127.0.0.1:{free}")


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("rfc2217://host:2217", "only socket://host:port"),
        ("socket://host", "expected socket://host:port"),
        ("socket://:4001", "expected socket://host:port"),
        ("socket://host:99999", "expected socket://host:port"),
        ("socket://host:4001/x", "expected socket://host:port"),
    ],
)
def test_bad_socket_urls_are_config_errors(port: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(
            {
                "site": {"grid_meter": "grid"},
                "meters": {"grid": {"type": "replay"}},
                "chargers": {"a": {"type": "twc", "port": port}},
                "loadpoints": {"a": {"charger": "a"}},
            }
        )
