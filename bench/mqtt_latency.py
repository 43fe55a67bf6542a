"""MQTT latency benchmark: meter message in → Prism command out, on loopback.

    python bench/mqtt_latency.py [--messages 1000] [--write docs/benchmarks.md]

Starts its own mosquitto on a free loopback port (the test suite's helper, generated config), runs the
real engine with an ecotrack-monitor meter on ``emon/data`` and a Prism driver over MQTT, and plays a
Prism that is charging (retained status). It then publishes ``emon/data`` messages whose surplus
alternates between about 6 and 12 A, one at a time, and times each from the publish to the arrival of the
resulting ``prism/1/command/set_current_limit`` at a second client: the whole path through the broker,
the meter source, the core, the actuator and the broker again. Prints median, p90, p99 and max (ms).

``--write FILE`` replaces the part of FILE between ``<!-- mqtt-latency:begin -->`` and
``<!-- mqtt-latency:end -->`` with the result, the exact command, the date and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

import aiomqtt  # noqa: E402

from bench import report  # noqa: E402

BEGIN, END = "<!-- mqtt-latency:begin -->", "<!-- mqtt-latency:end -->"


def _broker_module():  # type: ignore[no-untyped-def]
    """tests/mqtt/broker.py (the mosquitto helper the tests use), loaded by path."""
    spec = importlib.util.spec_from_file_location(
        "mqtt_broker_helper", REPO_ROOT / "tests" / "mqtt" / "broker.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(port: int):  # type: ignore[no-untyped-def]
    from ecotrack.config_load import parse_config

    return parse_config(
        {
            "site": {"grid_meter": "emon", "voltage_v": 236},
            "meters": {"emon": {"type": "ecotrack-monitor"}},
            "chargers": {"prism": {"type": "prism", "staged_step_down": False}},
            "loadpoints": {"garage": {"charger": "prism", "mode": "minpv", "min_a": 6, "max_a": 16}},
            "control": {"settle_s": 0},
            "mqtt": {"host": "127.0.0.1", "port": port, "homeassistant": {"enabled": False}},
        }
    )


async def measure(port: int, messages: int) -> list[float]:
    """Latencies (s) of ``messages`` meter messages, each to the command it causes."""
    from ecotrack.app import build_engine

    arrived: asyncio.Queue[float] = asyncio.Queue()
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-prism") as prism:
        for key, value in {
            "state": "3",
            "mode": "2",
            "amp": "0",
            "volt": "236.0",
            "w": "0",
            "pilot": "6.0",
        }.items():
            await prism.publish(f"prism/1/{key}", value, retain=True)
        await prism.subscribe("prism/1/command/set_current_limit")

        async def listen() -> None:
            async for _ in prism.messages:
                arrived.put_nowait(time.perf_counter())

        listener = asyncio.create_task(listen())
        engine = build_engine(_config(port))
        run = asyncio.create_task(engine.run())
        latencies: list[float] = []
        try:
            async with aiomqtt.Client("127.0.0.1", port, identifier="bench-meter") as meter:
                await asyncio.sleep(1.0)  # connected, subscribed, first commands sent
                for i in range(messages + 10):
                    while not arrived.empty():
                        arrived.get_nowait()
                    pwr1 = -1500.0 if i % 2 else -3000.0
                    payload = json.dumps({"type": "power", "volts": 236.0, "pwr1": pwr1})
                    sent = time.perf_counter()
                    await meter.publish("emon/data", payload)
                    try:
                        got = await asyncio.wait_for(arrived.get(), 2.0)
                    except TimeoutError:
                        print(f"message {i}: no command within 2 s", file=sys.stderr)
                        continue
                    if i >= 10:  # the first ones warm up
                        latencies.append(got - sent)
                    await asyncio.sleep(0.005)
        finally:
            engine.stop()
            await run
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await listener
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="Meter messages to time (default 1000).")
    parser.add_argument("--write", type=Path, help="Rewrite the mqtt-latency section of this markdown file.")
    args = parser.parse_args()
    broker_mod = _broker_module()
    header = [
        "mosquitto set_tcp_nodelay",
        "messages timed",
        "median ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "goal p99 < 20 ms",
    ]
    rows = []
    started = time.perf_counter()
    for nodelay in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            broker = broker_mod.Broker(Path(tmp), nodelay=nodelay)
            broker.start()
            try:
                latencies = asyncio.run(measure(broker.port, args.messages))
            finally:
                broker.stop()
        ms = sorted(x * 1000 for x in latencies)
        if not ms:
            raise SystemExit("no latencies measured")

        def pct(p: float, ms: list[float] = ms) -> float:
            return ms[min(len(ms) - 1, round(p / 100 * (len(ms) - 1)))]

        rows.append(
            [
                "true" if nodelay else "false (default)",
                str(len(ms)),
                f"{statistics.median(ms):.2f}",
                f"{pct(90):.2f}",
                f"{pct(99):.2f}",
                f"{ms[-1]:.2f}",
                "met" if pct(99) < 20 else "**missed**",
            ]
        )
    wall = time.perf_counter() - started
    report.print_table(
        "meter message → Prism command (loopback mosquitto)", header, rows, lambda i, h: i == 0
    )
    if args.write:
        command = "python bench/mqtt_latency.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        body = (
            "Time from publishing an `emon/data` message to the arrival of the `set_current_limit` command it "
            "causes, through a local mosquitto, the ecotrack-monitor source, the core, the actuator and the "
            "Prism driver (surplus alternating so every message changes the current). mosquitto's default leaves "
            "Nagle's algorithm on for its client sockets, which holds small messages back ~40 ms per hop on "
            "loopback; ecotrack sets TCP_NODELAY on its own socket, and `set_tcp_nodelay true` in "
            "mosquitto.conf removes the broker's share (recommended in the README).\n\n"
            + report.markdown_table(header, rows, lambda i, h: i == 0)
            + f"\n\nCommand: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {report.machine_line()}, "
            f"{wall:.1f} s wall (the machine is shared with other work; figures vary from run to run)."
        )
        report.write_section(args.write, body, begin=BEGIN, end=END, heading="## MQTT latency")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
