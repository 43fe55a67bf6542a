"""Web benchmark: what the dashboard's API and WebSocket cost, on a real loopback socket.

    python bench/web.py [--requests N] [--clients C] [--ws-clients K ...] [--seconds S] [--write docs/benchmarks.md]

A demo-like site (constant sunny day, simulated car, engine clock x10) runs with the HTTP service in one
process and one event loop, as in the daemon; the clients run in the same process (so the figures
include the client's own work and are an upper bound of the server's cost). It measures:

* ``GET /api/state`` one request at a time: latency percentiles and requests per second;
* ``C`` concurrent clients hammering ``GET /api/state``, each also setting a mode now and then;
* the WebSocket with K clients for S seconds: messages each client got per second (the rate limit is
  0.5 s, so at most 2), and the process CPU time per wall second this costs;
* building and serialising one state (what the hub does once per snapshot).

``--write FILE`` replaces the part of FILE between ``<!-- web:begin -->`` and ``<!-- web:end -->``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

from bench import report  # noqa: E402

BEGIN, END, HEADING = "<!-- web:begin -->", "<!-- web:end -->", "## Web API and WebSocket"
TOKEN = "bench-token-0123456789abcdef"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(requests: int, clients: int, ws_clients: Sequence[int], seconds: float) -> dict[str, object]:
    import httpx
    from websockets.asyncio.client import connect

    from ecotrack.app import build_app
    from ecotrack.clock import ScaledClock
    from ecotrack.config_load import parse_config
    from ecotrack.services.web.state import build_state

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "day.csv"
        trace.write_text(
            "timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,6000,500\n2024-06-21T10:01:00Z,6000,500\n"
        )
        config = parse_config(
            {
                "site": {"grid_meter": "grid", "pv_meters": ["grid"]},
                "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
                "chargers": {"car": {"type": "simulated"}},
                "loadpoints": {"garage": {"charger": "car", "mode": "pv", "min_a": 6, "max_a": 16}},
                "http": {"port": 0, "token": TOKEN},
            }
        )
        app = build_app(config, clock=ScaledClock(10), data_dir=Path(tmp))
        engine, service = app.engine, app.web
        assert service is not None
        task = asyncio.create_task(engine.run())
        try:
            await asyncio.wait_for(service.started.wait(), 10)
            url = service.url()
            async with httpx.AsyncClient(base_url=url) as http:
                await http.get("/api/state")
                lat: list[float] = []
                t0 = time.perf_counter()
                for _ in range(requests):
                    t = time.perf_counter()
                    resp = await http.get("/api/state")
                    lat.append((time.perf_counter() - t) * 1000)
                    assert resp.status_code == 200
                wall = time.perf_counter() - t0
                out["sequential"] = {
                    "n": requests,
                    "p50_ms": statistics.median(lat),
                    "p95_ms": _pct(lat, 0.95),
                    "p99_ms": _pct(lat, 0.99),
                    "rps": requests / wall,
                }

            async def hammer(i: int, n: int) -> list[float]:
                times: list[float] = []
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx.AsyncClient(base_url=url, headers=headers) as c:
                    for k in range(n):
                        t = time.perf_counter()
                        if k % 10 == 0:
                            r = await c.post(
                                "/api/loadpoints/garage/mode", json={"mode": ("pv", "minpv")[k % 2]}
                            )
                        else:
                            r = await c.get("/api/state")
                        times.append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200, r.text
                return times

            per_client = max(1, requests // clients)
            t0 = time.perf_counter()
            results = await asyncio.gather(*(hammer(i, per_client) for i in range(clients)))
            wall = time.perf_counter() - t0
            flat = [x for r in results for x in r]
            out["concurrent"] = {
                "clients": clients,
                "n": len(flat),
                "p50_ms": statistics.median(flat),
                "p95_ms": _pct(flat, 0.95),
                "rps": len(flat) / wall,
            }

            ws_rows = []
            for k in ws_clients:
                sockets = [await connect(f"ws://127.0.0.1:{service.port}/ws") for _ in range(k)]
                counts = [0] * k

                readers = [
                    asyncio.create_task(_count_messages(ws, counts, i)) for i, ws in enumerate(sockets)
                ]
                await asyncio.sleep(0.6)
                start_counts = list(counts)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                await asyncio.sleep(seconds)
                cpu = time.process_time() - cpu0
                wall = time.perf_counter() - wall0
                got = [(c - s) / wall for c, s in zip(counts, start_counts, strict=True)]
                for r in readers:
                    r.cancel()
                await asyncio.gather(*readers, return_exceptions=True)
                await asyncio.gather(*(s.close() for s in sockets))
                ws_rows.append(
                    {"clients": k, "msg_per_s_each": statistics.mean(got), "cpu_share": cpu / wall}
                )
            out["websocket"] = ws_rows

            snap = engine.snapshot()
            n = 2000
            t = time.perf_counter()
            for _ in range(n):
                json.dumps(build_state(engine, snap).model_dump(mode="json"))
            out["serialise_us"] = (time.perf_counter() - t) / n * 1e6
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)
    return out


async def _count_messages(ws: Any, counts: list[int], i: int) -> None:
    """Read (and parse) every message of one WebSocket client, counting them."""
    while True:
        json.loads(await ws.recv())
        counts[i] += 1


def section(res: dict[str, object], command: str, wall_s: float) -> str:
    seq = res["sequential"]
    con = res["concurrent"]
    assert isinstance(seq, dict) and isinstance(con, dict)
    rows = [
        [
            "GET /api/state, one at a time",
            str(seq["n"]),
            f"{seq['p50_ms']:.2f}",
            f"{seq['p95_ms']:.2f}",
            f"{seq['rps']:.0f}",
        ],
        [
            f"{con['clients']} clients at once (1 in 10 sets the mode)",
            str(con["n"]),
            f"{con['p50_ms']:.2f}",
            f"{con['p95_ms']:.2f}",
            f"{con['rps']:.0f}",
        ],
    ]
    http_table = report.markdown_table(
        ["load", "requests", "p50 ms", "p95 ms", "req/s"], rows, lambda i, h: i == 0
    )
    ws = res["websocket"]
    assert isinstance(ws, list)
    ws_table = report.markdown_table(
        ["WebSocket clients", "messages/s per client", "process CPU"],
        [[str(r["clients"]), f"{r['msg_per_s_each']:.2f}", f"{100 * r['cpu_share']:.1f}%"] for r in ws],
        lambda i, h: False,
    )
    return "\n".join(
        [
            f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d}, {report.machine_line()}, {wall_s:.1f} s.",
            "",
            "Server and clients share one process and one event loop (as the daemon shares it with the engine), "
            "so these are upper bounds of the server's cost. The engine runs a sunny day at x10 (a step every 0.1 s).",
            "",
            http_table,
            "",
            ws_table,
            "",
            f"Building and serialising one state (done once per snapshot, whatever the number of clients): "
            f"{res['serialise_us']:.0f} µs.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=1000, help="Requests per HTTP measurement.")
    p.add_argument("--clients", type=int, default=20, help="Concurrent HTTP clients.")
    p.add_argument("--ws-clients", type=int, nargs="+", default=[1, 10, 50], help="WebSocket client counts.")
    p.add_argument("--seconds", type=float, default=5.0, help="Seconds per WebSocket measurement.")
    p.add_argument("--write", type=Path, help="Write the results into this markdown file's web section.")
    args = p.parse_args(argv)
    started = time.perf_counter()
    res = asyncio.run(run(args.requests, args.clients, args.ws_clients, args.seconds))
    wall_s = time.perf_counter() - started
    command = shlex.join(["python", "bench/web.py", *(sys.argv[1:] if argv is None else argv)])
    text = section(res, command, wall_s)
    print(text)
    if args.write is not None:
        report.write_section(args.write, text, begin=BEGIN, end=END, heading=HEADING)
        print(f"wrote the web section of {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
