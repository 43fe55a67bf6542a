"""OCPP scale benchmark: N simulated charge points x 2 connectors in one client process against one ecotrack.

    python bench/ocpp_scale.py [--cps 250] [--connectors 2] [--changes 6] [--steady 20]
                               [--sweep 50,125,250,400] [--write docs/benchmarks.md]

The daemon runs as a child process through its command line (``python -m ecotrack run -c CONFIG``) with a
generated configuration: one ``url`` grid meter polled every 0.5 s from a tiny HTTP server in this process,
an ``ocpp:`` central system on a free loopback port (MeterValueSampleInterval 10 s), and one ``type: ocpp``
charger + ``pv`` loadpoint (6-16 A, 1 phase) per connector; web and store off. This process runs the
charge points (:class:`ecotrack.chargers.ocpp.simulator.SimulatedChargePoint`, a car behind every
connector) and the house: grid = house load + every car's draw - PV, so the loop is closed.

Measured (client-side monotonic clock, loopback):

- **surplus change → all profiles confirmed**: the PV steps so every loadpoint's equal share changes
  (cuts: PV down); time from the change to the last connector's SetChargingProfile accepted (includes up to
  one meter poll, 0.5 s), p50/p99 over ``--changes`` steps;
- **meter reading → SetChargingProfile**: from the HTTP answer carrying the new grid value to each
  connector's SetChargingProfile arriving at its charge point (p50/p99 over all connectors and steps);
- the daemon's RSS (VmRSS, VmHWM) and its steady CPU (utime+stime per wall second, ``--steady`` s while
  every connector charges and sends MeterValues every 10 s), and this client process's CPU apart;
- ``--sweep``: steady daemon CPU per connector count, and where one process would saturate on paper (one
  core / CPU per connector), next to what was measured.

``--write FILE`` replaces the section between ``<!-- ocpp-scale:begin -->`` and ``<!-- ocpp-scale:end -->``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

import ocpp.messages  # noqa: E402
import yaml  # noqa: E402

from bench import report  # noqa: E402
from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint  # noqa: E402
from ecotrack.world.car import CarParams  # noqa: E402

BEGIN, END, HEADING = "<!-- ocpp-scale:begin -->", "<!-- ocpp-scale:end -->", "## OCPP scale"
VOLTAGE = 230.0
HOUSE_W = 500.0
CAR = CarParams(max_a=32, start_delay_s=2.0, dead_time_s=1.0, ramp_a_per_s=5.0)


# The charge points' side (the ocpp package) checks every message against the JSON schemas in a thread pool
# by default; 500 connectors' worth of thread hops in this one process would measure the client, not
# ecotrack. Checked inline instead (ecotrack checks inline anyway).
ocpp.messages.ASYNC_VALIDATION = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class House:
    """The grid meter the daemon polls: grid = house + cars - PV; remembers when each value was served."""

    def __init__(self, cps: list[SimulatedChargePoint]) -> None:
        self.cps = cps
        self.pv_w = 0.0
        #: (monotonic time served, pv in force) of every poll answered.
        self.served: list[tuple[float, float]] = []

    def grid_w(self) -> float:
        cars = sum(c.car.actual_a for cp in self.cps for c in cp.connectors.values())
        return HOUSE_W + cars * VOLTAGE - self.pv_w

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            body = f"{self.grid_w():.0f}".encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
            self.served.append((time.monotonic(), self.pv_w))
        writer.close()


def config(n_cps: int, connectors: int, meter_port: int, ocpp_port: int) -> dict[str, Any]:
    chargers: dict[str, Any] = {}
    loadpoints: dict[str, Any] = {}
    for i in range(n_cps):
        for j in range(1, connectors + 1):
            name = f"cp{i}c{j}"
            chargers[name] = {"type": "ocpp", "charge_point_id": f"cp{i}", "connector": j, "max_a": 16}
            loadpoints[name] = {"charger": name, "mode": "pv", "min_a": 6, "max_a": 16}
    return {
        "log_level": "WARNING",
        "site": {"grid_meter": "grid", "voltage_v": VOLTAGE, "phases": 1, "max_meter_age_s": 30},
        "meters": {"grid": {"type": "url", "interval_s": 0.5, "grid": {"url": f"http://127.0.0.1:{meter_port}/grid"}}},
        "ocpp": {"port": ocpp_port, "meter_interval_s": 10, "response_timeout_s": 30},
        "chargers": chargers,
        "loadpoints": loadpoints,
        "http": {"enabled": False},
        "store": {"enabled": False},
    }


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem_mib(pid: int) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run_site(n_cps: int, connectors: int, changes: int, steady_s: float, quiet: bool = False) -> dict[str, Any]:
    meter_port, ocpp_port = free_port(), free_port()
    cps = [SimulatedChargePoint(f"cp{i}", connectors=connectors, max_a=32, car=CAR, step_s=1.0) for i in range(n_cps)]
    house = House(cps)
    n = n_cps * connectors
    house.pv_w = n * 10 * VOLTAGE + HOUSE_W  # about 10 A each
    server = await asyncio.start_server(house.handle, "127.0.0.1", meter_port)
    tmp = Path(tempfile.mkdtemp(prefix="ocpp-scale-"))
    cfg = tmp / "site.yaml"
    cfg.write_text(yaml.safe_dump(config(n_cps, connectors, meter_port, ocpp_port)))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("ECOTRACK__")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "ecotrack", "run", "-c", str(cfg), "--data-dir", str(tmp / "data")],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "daemon.log", "w"), env=env,  # noqa: SIM115
    )
    tasks: list[asyncio.Task[None]] = []
    out: dict[str, Any] = {"connectors": n}
    try:
        url = f"ws://127.0.0.1:{ocpp_port}/ocpp"
        started = time.monotonic()
        for cp in cps:  # a staggered start, as a site's boxes would reconnect after a restart
            tasks.append(asyncio.create_task(cp.run_forever(url, retry_s=1.0)))
            await asyncio.sleep(0.01)
        conns = [c for cp in cps for c in cp.connectors.values()]

        def charging() -> int:
            return sum(1 for c in conns if c.transaction_id is not None and c.accepted and c.car.actual_a >= 5.5)

        deadline = time.monotonic() + 240
        while charging() < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {charging()} of {n} connectors charging after 240 s; see {tmp}/daemon.log")
            await asyncio.sleep(0.5)
        out["ready_s"] = time.monotonic() - started
        await asyncio.sleep(12)  # settle: every connector has sent meter values at the new current
        # Steady state: daemon and client CPU while every connector charges.
        d0, c0, t0 = proc_cpu_s(daemon.pid), self_cpu_s(), time.monotonic()
        await asyncio.sleep(steady_s)
        wall = time.monotonic() - t0
        out["daemon_cpu_ms_s"] = (proc_cpu_s(daemon.pid) - d0) / wall * 1000
        out["client_cpu_ms_s"] = (self_cpu_s() - c0) / wall * 1000
        out["rss_mib"], out["hwm_mib"] = proc_mem_mib(daemon.pid)
        # Surplus changes: PV down then up, each giving every connector a new equal share.
        all_confirmed: list[float] = []
        reading_to_profile: list[float] = []
        shares = [7.0, 9.0] * changes
        for share in shares[:changes]:
            before = {id(c): len(c.accepted) for c in conns}
            house.pv_w = n * share * VOLTAGE + HOUSE_W
            t_change = time.monotonic()
            deadline = t_change + 60
            while True:
                done = [c for c in conns if any(a <= share + 0.05 for _t, a in c.accepted[before[id(c)]:]) ]
                if len(done) == n or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.01)
            if len(done) < n:
                print(f"  {n - len(done)} connectors never got {share} A within 60 s", file=sys.stderr)
                continue
            served = next(t for t, pv in house.served if t >= t_change and pv == house.pv_w)
            firsts = [next(t for t, a in c.accepted[before[id(c)]:] if a <= share + 0.05) for c in conns]
            all_confirmed.append(max(firsts) - t_change)
            reading_to_profile += [t - served for t in firsts]
            if not quiet:
                print(f"  PV -> {share:.0f} A each: all {n} confirmed after {all_confirmed[-1] * 1000:.0f} ms", file=sys.stderr)
            await asyncio.sleep(15)  # the cars follow, then the share is raised back
            house.pv_w = n * 10 * VOLTAGE + HOUSE_W
            await asyncio.sleep(15)
        out["all_confirmed_ms"] = [x * 1000 for x in all_confirmed]
        out["reading_to_profile_ms"] = [x * 1000 for x in reading_to_profile]
        out["hwm_mib"] = proc_mem_mib(daemon.pid)[1]
    finally:
        daemon.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=60)
        if daemon.poll() is None:
            daemon.kill()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cps", type=int, default=250, help="Charge points (default 250).")
    parser.add_argument("--connectors", type=int, default=2, help="Connectors per charge point (default 2).")
    parser.add_argument("--changes", type=int, default=6, help="Surplus steps to time (default 6).")
    parser.add_argument("--steady", type=float, default=20.0, help="Seconds of steady state for the CPU (default 20).")
    parser.add_argument("--sweep", default="", help="Comma-separated charge point counts for the CPU sweep (e.g. 50,125,250).")
    parser.add_argument("--write", type=Path, help="Markdown file whose ocpp-scale section is replaced.")
    args = parser.parse_args()
    wall0 = time.perf_counter()
    main_run = asyncio.run(run_site(args.cps, args.connectors, args.changes, args.steady))
    sweep = []
    for count in [int(x) for x in args.sweep.split(",") if x.strip()]:
        print(f"sweep: {count} charge points", file=sys.stderr)
        sweep.append(asyncio.run(run_site(count, args.connectors, 0, args.steady, quiet=True)))
    confirmed, latency = main_run["all_confirmed_ms"], main_run["reading_to_profile_ms"]
    header = ("measure", "value", "target")
    rows = [
        ("connectors (charge points x connectors)", f"{main_run['connectors']} ({args.cps} x {args.connectors})", ""),
        ("surplus change → all profiles confirmed, p50 / p99 (ms)",
         f"{pct(confirmed, 50):.0f} / {pct(confirmed, 99):.0f} ({len(confirmed)} steps)" if confirmed else "n/a", "< 2000"),
        ("meter reading → SetChargingProfile at the box, p50 / p99 (ms)",
         f"{pct(latency, 50):.1f} / {pct(latency, 99):.1f} ({len(latency)} profiles)" if latency else "n/a", "p99 < 20"),
        ("daemon RSS now / peak (MiB)", f"{main_run['rss_mib']:.0f} / {main_run['hwm_mib']:.0f}", "≤ 250"),
        ("daemon steady CPU (ms per s)", f"{main_run['daemon_cpu_ms_s']:.0f}", ""),
        ("client (all charge points) steady CPU (ms per s)", f"{main_run['client_cpu_ms_s']:.0f}", ""),
        ("all connectors charging after (s)", f"{main_run['ready_s']:.0f}", ""),
    ]
    report.print_table("OCPP scale", header, rows, lambda i, h: i == 0)
    sweep_rows = []
    for r in [*sweep, main_run]:
        per = r["daemon_cpu_ms_s"] / r["connectors"]
        sweep_rows.append((str(r["connectors"]), f"{r['daemon_cpu_ms_s']:.0f}", f"{per:.3f}", f"{1000 / per:.0f}", f"{r['hwm_mib']:.0f}"))
    sweep_header = ("connectors", "daemon CPU (ms/s)", "per connector (ms/s)", "saturation on paper (connectors)", "peak RSS (MiB)")
    if sweep:
        report.print_table("steady CPU sweep", sweep_header, sweep_rows, lambda i, h: False)
    wall = time.perf_counter() - wall0
    if args.write:
        command = "python bench/ocpp_scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        body = (
            "Simulated OCPP 1.6J charge points (our simulator, one client process) against one `ecotrack run` on "
            "loopback; every connector charges a car and sends MeterValues every 10 s; the grid meter is polled "
            "every 0.5 s (so a change waits up to 0.5 s for the next reading; that is in the first row, not in "
            "the second). Surplus steps are cuts (the PV drops so every loadpoint's equal share falls).\n\n"
            + report.markdown_table(header, rows, lambda i, h: i == 0)
            + ("\n\nSteady CPU by connector count (saturation on paper: one core's 1000 ms/s divided by the "
               "measured CPU per connector; where the meter-values stream would no longer be kept):\n\n"
               + report.markdown_table(sweep_header, sweep_rows, lambda i, h: False) if sweep else "")
            + f"\n\nCommand: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {report.machine_line()}, "
            f"{wall:.0f} s wall (the machine is shared with other work; figures vary from run to run)."
        )
        report.write_section(args.write, body, begin=BEGIN, end=END, heading=HEADING)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
