"""TWC bus timing: three simulated slaves on a pty pair, the real master and drivers, for a while.

    python bench/twc_timing.py [--seconds 60] [--speed 1] [--change-every 5] [--write docs/benchmarks.md]

Measures, per slave, the interval between two heartbeats the master sends it (median, p99, max) and,
for commands changed the way the engine changes them (``set_current`` on a random TWC every
``--change-every`` clock seconds), the time from the changed command to the heartbeat that carries it
to that TWC (median, p99, max), separately for cuts (which jump the round-robin) and raises. It also
counts the queries (kWh/volts, VIN) that shared the bus. Times are clock seconds; ``--speed`` > 1
compresses the run (a quick check, not the real thing: event-loop jitter is multiplied by the speed).

``--write FILE`` replaces the part of FILE between ``<!-- twc-timing:begin -->`` and
``<!-- twc-timing:end -->`` with the results, the exact command, the date and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import report

from ecotrack.chargers.twc.bus import TwcBus
from ecotrack.chargers.twc.codec import MasterHeartbeat, Message, PowerQuery, VinQuery
from ecotrack.chargers.twc.driver import TwcCharger
from ecotrack.chargers.twc.master import MasterSettings, TwcTarget
from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.clock import Clock, RealClock, ScaledClock

BEGIN, END = "<!-- twc-timing:begin -->", "<!-- twc-timing:end -->"
HEADING = "## TWC bus timing"
SLAVES = ((0x1111, 1, 80.0), (0x2222, 2, 32.0), (0x3333, 2, 80.0))


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def measure(seconds: float, clock: Clock, change_every_s: float, seed: int = 1) -> dict[str, object]:
    """Run the bus for ``seconds`` clock seconds and return the raw timings."""
    sim_fd, tty_fd, path = open_pty()
    slaves = [SimulatedSlave(SlaveParams(twc_id=i, protocol=p, unit_max_a=u, seed=i)) for i, p, u in SLAVES]
    sim = SimulatedBus(slaves, clock)
    bus = TwcBus(path, MasterSettings(bus_max_a=48), clock)
    chargers = []
    for n, (sid, _, _) in zip("abc", SLAVES, strict=True):
        bus.add_target(TwcTarget(n, twc_id=sid, max_a=20, stop_method="fc-b2"), 48, 0x7777)
        chargers.append(TwcCharger(n, bus, clock, max_a=20))
    sent: list[tuple[float, Message]] = []
    bus.tx_listeners.append(lambda m, t: sent.append((t, m)))
    tasks = [asyncio.create_task(sim.run(sim_fd))] + [asyncio.create_task(c.run()) for c in chargers]
    rng = random.Random(seed)
    changes: list[tuple[float, int, int, bool]] = []  # (time, slave id, amps granted, is cut)
    try:
        while len(bus.protocol.slaves) < 3:
            await clock.sleep(0.1)
        start = clock.now()
        for c in chargers:
            await c.set_current(10)
        await clock.sleep(5)
        while clock.now() - start < seconds:
            i = rng.randrange(3)
            charger, sid = chargers[i], SLAVES[i][0]
            old = charger.requested_a
            new = float(rng.choice([a for a in (0, 6, 8, 10, 12, 14, 16) if a != old]))
            t = clock.now()
            await charger.set_current(new)
            changes.append((t, sid, int(new), new < old))
            await clock.sleep(change_every_s * rng.uniform(0.5, 1.5))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        import os

        os.close(sim_fd)
        os.close(tty_fd)
    intervals: dict[int, list[float]] = {}
    for sid, _, _ in SLAVES:
        times = [t for t, m in sent if isinstance(m, MasterHeartbeat) and m.slave_id == sid and t >= start]
        intervals[sid] = [b - a for a, b in itertools.pairwise(times)]
    cut_lat: list[float] = []
    raise_lat: list[float] = []
    for t, sid, _amps, cut in changes:
        for ts, m in sent:
            if ts >= t and isinstance(m, MasterHeartbeat) and m.slave_id == sid:
                (cut_lat if cut else raise_lat).append(ts - t)
                break
    queries = sum(1 for t, m in sent if t >= start and isinstance(m, PowerQuery | VinQuery))
    return {
        "intervals": intervals,
        "cut": cut_lat,
        "raise": raise_lat,
        "queries": queries,
        "seconds": seconds,
    }


def median(values: Sequence[float]) -> float:
    """The median; NaN when empty."""
    return statistics.median(values) if values else float("nan")


def rows(result: dict[str, object]) -> list[list[str]]:
    """Table rows: one per slave (heartbeat interval) and one per command kind (latency)."""
    out = []
    intervals = result["intervals"]
    assert isinstance(intervals, dict)
    for (sid, proto, unit), vals in zip(SLAVES, intervals.values(), strict=True):
        out.append(
            [
                f"heartbeat interval, TWC {sid:04X} (p{proto}, {unit:.0f} A)",
                str(len(vals)),
                f"{median(vals):.2f}",
                f"{pct(vals, 0.99):.2f}",
                f"{max(vals, default=float('nan')):.2f}",
            ]
        )
    for kind in ("cut", "raise"):
        vals = result[kind]
        assert isinstance(vals, list)
        if vals:
            out.append(
                [
                    f"command -> heartbeat carrying it ({kind})",
                    str(len(vals)),
                    f"{median(vals):.2f}",
                    f"{pct(vals, 0.99):.2f}",
                    f"{max(vals, default=float('nan')):.2f}",
                ]
            )
    return out


HEADER = ["measure (clock seconds)", "n", "median", "p99", "max"]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=60.0, help="Clock seconds to measure (default 60).")
    p.add_argument("--speed", type=float, default=1.0, help="Clock speed (1 = real time, the honest figure).")
    p.add_argument(
        "--change-every", type=float, default=5.0, help="Mean clock seconds between command changes."
    )
    p.add_argument("--write", type=Path, default=None, help="Rewrite this benchmark's section of FILE.")
    args = p.parse_args(argv)
    clock: Clock = RealClock() if args.speed == 1 else ScaledClock(args.speed)
    result = asyncio.run(measure(args.seconds, clock, args.change_every))
    table_rows = rows(result)
    report.print_table("TWC bus timing (3 slaves over a pty)", HEADER, table_rows, lambda i, h: i == 0)
    print(f"queries on the bus: {result['queries']} in {args.seconds:g} s")
    if args.write is not None:
        command = "python bench/twc_timing.py " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        body = "\n".join(
            [
                "Three simulated TWCs (protocol 1 US, protocol 2 EU, protocol 2 US) on a pty pair; the real master "
                "and drivers; slots of 1 s (the real bus's minimum); a random command change every "
                f"~{args.change_every:g} s.",
                "",
                report.markdown_table(HEADER, table_rows, lambda i, h: i == 0),
                "",
                f"Queries (kWh/volts, VIN) that shared the bus: {result['queries']} in {args.seconds:g} s.",
                "",
                f"Command: `{command.strip()}` — {datetime.now(UTC):%Y-%m-%d}, {report.machine_line()}.",
            ]
        )
        report.write_section(args.write, body, begin=BEGIN, end=END, heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
