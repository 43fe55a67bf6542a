"""Footprint benchmark: peak memory and steady CPU of the ecotrack daemon process.

    python bench/footprint.py [--seconds 120] [--warmup 20] [--only a,b,c] [--trace CSV] [--json [FILE]]
                              [--write docs/benchmarks.md] [--keep]

Starts the daemon as a child process through its command line only (``python -m ecotrack run -c CONFIG
--data-dir DIR``, or ``python -m ecotrack demo ...``) and reads ``/proc/PID`` of that one process:

- **peak RSS**: ``VmHWM`` of ``/proc/PID/status`` just before the stop signal (MiB);
- **steady CPU**: ``utime + stime`` of ``/proc/PID/stat`` over the window from the end of the warm-up to the
  end of the run, in ms of CPU per wall-clock second (start-up CPU is reported apart).

Scenarios:

- **a**: a TWC master with two simulated protocol-2 TWC slaves (distinct IDs) and a replay meter playing a
  recorded day; web, history store and MQTT off. The slaves run in a *separate* helper process
  (``python bench/footprint.py --serve-twc-slaves``) on the far end of a pty pair whose tty end the daemon
  opens as its serial port, so their memory and CPU are not counted. The daemon runs with
  ``-X importtime``; the third-party packages it imported are listed.
- **b**: the same with the web server (127.0.0.1, any free port), the history store (SQLite in the data
  directory) and MQTT (a mosquitto this script starts on a free loopback port) on.
- **c**: the demo, ``ecotrack demo --port 0 --speed 30``.

Each daemon is stopped with SIGTERM; its exit code and shutdown time are reported (clean = exit code 0
within 30 s and no traceback on stderr). Targets from issue 11 are printed as met or not, never enforced:
(a) <= 40 MiB, (b) <= 70 MiB and <= 3 ms CPU per second.

``--write FILE`` replaces the section between ``<!-- footprint:begin -->`` and ``<!-- footprint:end -->``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

BEGIN, END, HEADING = "<!-- footprint:begin -->", "<!-- footprint:end -->", "## Footprint"
DEFAULT_TRACE = REPO_ROOT.parent / "shared" / "data" / "traces" / "cuee-uci_2023-05-12_cloudy.csv"
SCENARIOS = {
    "a": "TWC master + 2 simulated slaves + replay meter; web, store, MQTT off",
    "b": "as (a) with web, history store (SQLite) and MQTT on",
    "c": "ecotrack demo --port 0 --speed 30",
}
#: Issue 11's targets: peak RSS (MiB) and steady CPU (ms per s); None: no target.
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "a": (40.0, None),
    "b": (70.0, 3.0),
    "c": (None, None),
}
SLAVE_IDS = (0x1111, 0x2222)
STOP_TIMEOUT_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- helper
def serve_twc_slaves() -> int:
    """The helper process: two simulated protocol-2 TWC slaves on a pty pair until SIGTERM or stdin EOF.

    Prints ``PORT <tty path>`` once the pair is open, and on exit one ``SUMMARY <json>`` line with what
    each slave saw (linked, heartbeats heard, the limit it honours).
    """
    import asyncio

    from ecotrack.chargers.twc.simbus import SimulatedBus, open_pty
    from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
    from ecotrack.clock import RealClock

    slaves = [
        SimulatedSlave(SlaveParams(twc_id=i, sign=0x50 + n, protocol=2, unit_max_a=32.0, seed=i))
        for n, i in enumerate(SLAVE_IDS)
    ]
    sim_fd, tty_fd, path = open_pty()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_reader(
            sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1024) else None
        )
        sim = SimulatedBus(slaves, RealClock())
        task = asyncio.create_task(sim.run(sim_fd))
        print(f"PORT {path}", flush=True)
        await stop.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(main())
    finally:
        for fd in (sim_fd, tty_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
    summary = [
        {
            "twc_id": f"{s.twc_id:04X}",
            "linked": s.master_id is not None,
            "heartbeats_heard": s.heartbeats_heard,
            "limit_a": s.limit_a,
            "actual_a": s.actual_a,
        }
        for s in slaves
    ]
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


class SlaveHelper:
    """The helper process seen from the bench: start it, learn its tty, stop it and read its summary."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.port = ""
        self.summary: list[dict[str, Any]] = []

    def start(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-twc-slaves"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the TWC slave helper did not start: {line!r} {self.log.read_text()[-2000:]}")
        self.port = line.split(" ", 1)[1].strip()
        return self.port

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        for line in out.splitlines():
            if line.startswith("SUMMARY "):
                self.summary = json.loads(line[len("SUMMARY ") :])
        self.proc = None


# ---------------------------------------------------------------------------------------------- broker
class Mosquitto:
    """A private mosquitto on a free loopback port (persistence off), for scenario (b)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str:
        for attempt in range(2):
            found = shutil.which("mosquitto") or next(
                (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
                None,
            )
            if found:
                return found
            if attempt == 0:
                subprocess.run([str(REPO_ROOT / "scripts" / "ensure-debian-packages")], check=False)
        raise RuntimeError("mosquitto is not installed (scripts/ensure-debian-packages installs it)")

    def start(self) -> None:
        conf = self.directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        log = (self.directory / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.binary(), "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited: {(self.directory / 'mosquitto.log').read_text()[-2000:]}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------- measuring
def child_env() -> dict[str, str]:
    """The environment of every child: this checkout first on the path, unbuffered, no user site."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONTRACEMALLOC", None)
    return env


def cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` (s)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def status_kib(pid: int) -> dict[str, int]:
    """The ``Vm*``/``Rss*`` lines of ``/proc/PID/status`` (kB)."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def pss_kib(pid: int) -> int | None:
    """Proportional set size (kB) from ``/proc/PID/smaps_rollup``, when the kernel has it."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


@dataclass
class Result:
    scenario: str
    description: str
    command: list[str]
    seconds: float
    warmup_s: float
    peak_rss_mib: float = 0.0
    end_rss_mib: float = 0.0
    end_pss_mib: float | None = None
    threads: int = 0
    startup_cpu_s: float = 0.0
    steady_cpu_ms_per_s: float = 0.0
    window_s: float = 0.0
    exit_code: int | None = None
    stop_s: float = 0.0
    clean_exit: bool = False
    died_early: bool = False
    stderr_tail: str = ""
    targets: dict[str, Any] = field(default_factory=dict)
    twc_slaves: list[dict[str, Any]] = field(default_factory=list)
    third_party: list[dict[str, Any]] = field(default_factory=list)


def measure(
    scenario: str, cmd: list[str], cwd: Path, seconds: float, warmup: float, log: Path, progress: bool
) -> Result:
    """Run ``cmd``, sample its /proc entry, stop it with SIGTERM and wait for a clean exit."""
    res = Result(scenario, SCENARIOS[scenario], cmd, seconds, warmup)
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=child_env()
        )
        started = time.monotonic()
        warm_cpu: float | None = None
        warm_t = 0.0
        last: tuple[float, float, dict[str, int], int | None] | None = None
        try:
            while (now := time.monotonic()) - started < seconds:
                if proc.poll() is not None:
                    res.died_early = True
                    break
                try:
                    cpu = cpu_s(proc.pid)
                    status = status_kib(proc.pid)
                    last = (now, cpu, status, None)
                except OSError:
                    res.died_early = True
                    break
                if warm_cpu is None and now - started >= warmup:
                    warm_cpu, warm_t = cpu, now
                    res.startup_cpu_s = cpu
                    if progress:
                        print(
                            f"  [{scenario}] warm-up over: {cpu:.2f} s CPU, {status.get('VmRSS', 0) / 1024:.1f} MiB",
                            file=sys.stderr,
                        )
                time.sleep(min(0.5, max(0.01, seconds - (time.monotonic() - started))))
            if proc.poll() is None:  # the final sample, right before the signal
                with contextlib.suppress(OSError):
                    now = time.monotonic()
                    last = (now, cpu_s(proc.pid), status_kib(proc.pid), pss_kib(proc.pid))
                    res.threads = len(os.listdir(f"/proc/{proc.pid}/task"))
        finally:
            if proc.poll() is None:
                stop_t = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    res.exit_code = None
                res.stop_s = time.monotonic() - stop_t
            if proc.returncode is not None:
                res.exit_code = proc.returncode
    if last is not None:
        now, cpu, status, pss = last
        res.peak_rss_mib = status.get("VmHWM", 0) / 1024
        res.end_rss_mib = status.get("VmRSS", 0) / 1024
        res.end_pss_mib = pss / 1024 if pss is not None else None
        if warm_cpu is not None and now > warm_t:
            res.window_s = now - warm_t
            res.steady_cpu_ms_per_s = (cpu - warm_cpu) / res.window_s * 1000
    text = log.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if not ln.startswith("import time:")]
    res.stderr_tail = "\n".join(lines[-15:])
    res.clean_exit = (
        not res.died_early and res.exit_code == 0 and res.stop_s < STOP_TIMEOUT_S and "Traceback" not in text
    )
    peak_t, cpu_t = TARGETS[scenario]
    if peak_t is not None:
        res.targets["peak_rss_mib"] = {"target": peak_t, "met": res.peak_rss_mib <= peak_t}
    if cpu_t is not None:
        res.targets["steady_cpu_ms_per_s"] = {"target": cpu_t, "met": res.steady_cpu_ms_per_s <= cpu_t}
    return res


# ---------------------------------------------------------------------------------------------- imports
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def third_party_imports(stderr_text: str) -> list[dict[str, Any]]:
    """Top-level third-party packages in a ``-X importtime`` log: modules, self import time, distribution.

    ``-X importtime`` also logs imports that failed (``try: import brotli``), so a name counts only when it
    is installed in this environment (the daemon's). Names of the interpreter's start-up (``_...``,
    ``sitecustomize``) are left out.
    """
    from importlib.metadata import packages_distributions

    stdlib = set(sys.stdlib_module_names)
    dists = packages_distributions()
    found: dict[str, dict[str, Any]] = {}
    skipped: set[str] = set()
    for line in stderr_text.splitlines():
        m = _IMPORTTIME.match(line)
        if not m:
            continue
        top = m.group(4).split(".")[0]
        if top in stdlib or top == "ecotrack" or top in sys.builtin_module_names or top in skipped:
            continue
        if top.startswith("_") or top in ("sitecustomize", "usercustomize") or not _installed(top):
            skipped.add(top)
            continue
        entry = found.setdefault(
            top, {"package": top, "modules": 0, "self_ms": 0.0, "dist": ",".join(dists.get(top, []))}
        )
        entry["modules"] += 1
        entry["self_ms"] += int(m.group(1)) / 1000
    for e in found.values():
        e["self_ms"] = round(e["self_ms"], 1)
    return sorted(found.values(), key=lambda e: -e["self_ms"])


def _installed(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------- scenarios
def twc_config(port: str, trace: Path, *, services: bool, mqtt_port: int | None) -> str:
    """The daemon's YAML for scenarios (a) and (b)."""
    cfg: dict[str, Any] = {
        "log_level": "WARNING",
        "site": {"grid_meter": "grid", "voltage_v": 230, "phases": 1, "wiring_limit_a": 40},
        "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 2, "start_time": "11:00"}},
        "chargers": {
            f"twc{n + 1}": {
                "type": "twc",
                "port": port,
                "twc_id": f"{twc_id:04X}",
                "max_a": 32,
                "bus_max_a": 40,
            }
            for n, twc_id in enumerate(SLAVE_IDS)
        },
        "loadpoints": {
            f"lp{n + 1}": {"charger": f"twc{n + 1}", "mode": "pv", "min_a": 6, "max_a": 16}
            for n in range(len(SLAVE_IDS))
        },
        "http": {"enabled": services, "host": "127.0.0.1", "port": 0},
        "store": {"enabled": services},
    }
    if services:
        assert mqtt_port is not None
        cfg["mqtt"] = {"host": "127.0.0.1", "port": mqtt_port, "client_id": "ecotrack-footprint"}
    return json.dumps(cfg, indent=2) + "\n"  # JSON is YAML


def small_trace(path: Path) -> Path:
    """A made-up day (1-min steps, PV bell over a 400 W load) when no recorded trace is at hand."""
    import math

    lines = ["timestamp,pv_w,load_w"]
    for i in range(1440):
        pv = max(0.0, 5000 * math.sin(math.pi * (i - 360) / 720)) if 360 <= i < 1080 else 0.0
        lines.append(f"2024-06-21T{i // 60:02d}:{i % 60:02d}:00Z,{pv:.0f},400")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_scenario(scenario: str, args: argparse.Namespace, work: Path, progress: bool) -> Result:
    data = work / f"data-{scenario}"
    data.mkdir()
    log = work / f"daemon-{scenario}.log"
    py = [sys.executable]
    if progress:
        print(f"[{scenario}] {SCENARIOS[scenario]}: {args.seconds:g} s ...", file=sys.stderr, flush=True)
    if scenario == "c":
        cmd = [*py, "-m", "ecotrack", "demo", "--port", "0", "--speed", "30", "--data-dir", str(data)]
        return measure(scenario, cmd, work, args.seconds, args.warmup, log, progress)
    helper = SlaveHelper(work / f"slaves-{scenario}.log")
    broker = Mosquitto(work) if scenario == "b" else None
    try:
        port = helper.start()
        if broker is not None:
            broker.start()
        cfg = work / f"footprint-{scenario}.yaml"
        cfg.write_text(
            twc_config(
                port, args.trace_file, services=scenario == "b", mqtt_port=broker.port if broker else None
            )
        )
        if scenario == "a":
            py.append("-Ximporttime")
        cmd = [*py, "-m", "ecotrack", "run", "-c", str(cfg), "--data-dir", str(data)]
        res = measure(scenario, cmd, work, args.seconds, args.warmup, log, progress)
    finally:
        helper.stop()
        if broker is not None:
            broker.stop()
    res.twc_slaves = helper.summary
    if scenario == "a":
        res.third_party = third_party_imports(log.read_text(errors="replace"))
    return res


# ---------------------------------------------------------------------------------------------- report
def version_info() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "ecotrack", "--version"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    git = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = git.stdout.strip() or "unknown"
    if dirty.stdout.strip():
        commit += " (with uncommitted changes)"
    return {
        "ecotrack": out.stdout.strip() or out.stderr.strip()[-200:],
        "commit": commit,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": machine_line(),
    }


def machine_line() -> str:
    from bench import report

    return report.machine_line()


def _fmt_target(res: Result) -> str:
    if not res.targets:
        return "none (reported)"
    parts = []
    for key, t in res.targets.items():
        unit = "MiB" if key == "peak_rss_mib" else "ms/s"
        parts.append(f"<= {t['target']:g} {unit}: {'met' if t['met'] else 'NOT met'}")
    return "; ".join(parts)


def table_rows(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    header = [
        "scenario",
        "peak RSS MiB",
        "RSS at end MiB",
        "PSS at end MiB",
        "start-up CPU s",
        "steady CPU ms/s",
        "exit",
        "targets (issue 11)",
    ]
    rows = []
    for r in results:
        exit_text = f"{r.exit_code} in {r.stop_s:.1f} s" if r.exit_code is not None else "killed"
        if r.died_early:
            exit_text = f"died early ({r.exit_code})"
        elif not r.clean_exit:
            exit_text += " (unclean)"
        rows.append(
            [
                f"({r.scenario}) {r.description}",
                f"{r.peak_rss_mib:.1f}",
                f"{r.end_rss_mib:.1f}",
                f"{r.end_pss_mib:.1f}" if r.end_pss_mib is not None else "n/a",
                f"{r.startup_cpu_s:.2f}",
                f"{r.steady_cpu_ms_per_s:.2f}",
                exit_text,
                _fmt_target(r),
            ]
        )
    return header, rows


def imports_rows(res: Result) -> tuple[list[str], list[list[str]]]:
    header = ["package", "distribution", "modules", "import ms (self)"]
    return header, [
        [e["package"], e["dist"] or "?", str(e["modules"]), f"{e['self_ms']:.1f}"] for e in res.third_party
    ]


def slaves_text(res: Result) -> str:
    if not res.twc_slaves:
        return ""
    parts = [
        f"{s['twc_id']}: {'linked' if s['linked'] else 'NOT linked'}, {s['heartbeats_heard']} heartbeats, "
        f"{s['limit_a']:g} A offered"
        for s in res.twc_slaves
    ]
    return f"({res.scenario}) TWC slaves at the end: " + "; ".join(parts)


#: What any asyncio daemon with this dependency set loads before a line of ecotrack runs.
FLOOR_CODE = """
import asyncio, logging, yaml, typer, serial_asyncio_fast
from pydantic import BaseModel
class M(BaseModel):
    x: int = 1
M(x=2)
for line in open('/proc/self/status'):
    if line.startswith('VmHWM'):
        print(int(line.split()[1]))
"""


def floor_mib() -> float | None:
    """Peak RSS (MiB) of this Python importing only the daemon's unavoidable dependencies, validating one
    pydantic model: the floor under scenario (a), measured in the same run."""
    try:
        out = subprocess.run([sys.executable, "-c", FLOOR_CODE], capture_output=True, text=True, timeout=60)
        return int(out.stdout.strip().splitlines()[-1]) / 1024
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def floor_text(results: list[Result], floor: float | None) -> str | None:
    """One sentence comparing (a) with the interpreter floor, or None without both."""
    a = next((r for r in results if r.scenario == "a" and r.peak_rss_mib > 0), None)
    if a is None or floor is None:
        return None
    peak = a.peak_rss_mib
    return (
        f"Floor: the same Python importing only asyncio, pydantic (one model), PyYAML, typer and "
        f"pyserial-asyncio peaks at {floor:.1f} MiB; ecotrack's own code adds {peak - floor:.1f} MiB to it in (a)."
    )


def print_report(results: list[Result], info: dict[str, str], floor: float | None = None) -> None:
    from bench import report

    print(f"ecotrack: {info['ecotrack']}, commit {info['commit']}")
    print(f"Python: {info['python']}; machine: {info['machine']}")
    header, rows = table_rows(results)
    report.print_table("Footprint of the daemon process", header, rows, lambda i, h: i in (0, 6, 7))
    if (text := floor_text(results, floor)) is not None:
        print(text)
    for r in results:
        if r.twc_slaves:
            print(slaves_text(r))
        if not r.clean_exit:
            print(f"({r.scenario}) daemon stderr (last lines):\n{r.stderr_tail}")
    for r in results:
        if r.scenario == "a":
            h, rows = imports_rows(r)
            report.print_table("Third-party packages the daemon imported in (a)", h, rows, lambda i, h: i < 2)
            print("(a) third-party packages: " + (", ".join(e["package"] for e in r.third_party) or "none"))


def markdown(
    results: list[Result],
    info: dict[str, str],
    command: str,
    args: argparse.Namespace,
    wall: float,
    floor: float | None = None,
) -> str:
    from bench import report

    header, rows = table_rows(results)
    out = [
        "Generated by `bench/footprint.py`; do not edit by hand between the markers.",
        "",
        "```",
        command,
        "```",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- ecotrack: {info['ecotrack']}, commit {info['commit']}",
        f"- Machine: {info['machine']}",
        f"- Wall time: {wall:.0f} s; each scenario runs {args.seconds:g} s, the steady CPU is measured after a "
        f"{args.warmup:g} s warm-up; trace `{args.trace_file.name}`.",
        "- Only the daemon process is measured (`/proc/PID`): peak RSS is `VmHWM`, CPU is `utime + stime`. The "
        "simulated TWC slaves run in a helper process on the far end of a pty pair, and mosquitto is its own "
        "process. Each daemon is stopped with SIGTERM; *exit* is its exit code and how long it took.",
        "",
        report.markdown_table(header, rows, lambda i, h: i in (0, 6, 7)),
    ]
    if (text := floor_text(results, floor)) is not None:
        out += ["", f"- {text}"]
    slaves = [f"- {slaves_text(r)}" for r in results if r.twc_slaves]
    if slaves:
        out += ["", *slaves]
    for r in results:
        if r.scenario == "a" and r.third_party:
            h, rows_ = imports_rows(r)
            out += [
                "",
                "### Third-party packages the daemon imports in (a)",
                "",
                "From `-X importtime` of the daemon in scenario (a); *import ms* is the sum of the packages' own "
                "module import times (not their dependencies').",
                "",
                report.markdown_table(h, rows_, lambda i, h: i < 2),
            ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    ap.add_argument("--seconds", type=float, default=120.0, help="Run time of each scenario (default 120 s).")
    ap.add_argument(
        "--warmup", type=float, default=20.0, help="Start-up excluded from the steady CPU (default 20 s)."
    )
    ap.add_argument("--only", default="a,b,c", help="Scenarios to run, comma-separated (default a,b,c).")
    ap.add_argument(
        "--trace", type=Path, default=None, help=f"Day trace for the replay meter (default {DEFAULT_TRACE})."
    )
    ap.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="The results as JSON: on stdout instead of the tables, or into FILE (tables still printed).",
    )
    ap.add_argument(
        "--write", type=Path, help="Write the results into this markdown file's footprint section."
    )
    ap.add_argument(
        "--keep", action="store_true", help="Keep the working directory (configs, logs) and print it."
    )
    ap.add_argument("--serve-twc-slaves", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_twc_slaves:
        return serve_twc_slaves()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        ap.error(f"--only: unknown scenario(s) {unknown}; choose from {','.join(SCENARIOS)}")
    if args.warmup >= args.seconds:
        ap.error("--warmup must be shorter than --seconds")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="ecotrack-footprint-"))
    progress = True
    try:
        source = args.trace if args.trace is not None else DEFAULT_TRACE
        if source.is_file():
            args.trace_file = Path(shutil.copy(source, work / source.name))  # never into the repository
        else:
            if args.trace is not None:
                ap.error(f"--trace: no such file: {args.trace}")
            args.trace_file = small_trace(work / "made-up-day.csv")
        info = version_info()
        results = [run_scenario(s, args, work, progress) for s in chosen]
        floor = floor_mib() if "a" in chosen else None
    finally:
        if args.keep:
            print(f"working directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - started
    doc = json.dumps({"info": info, "floor_mib": floor, "results": [asdict(r) for r in results]}, indent=2)
    if args.json == "-":
        print(doc)
    else:
        print_report(results, info, floor)
        if args.json is not None:
            Path(args.json).write_text(doc + "\n")
    if args.write is not None:
        from bench import report

        command = "python bench/footprint.py " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        report.write_section(
            args.write,
            markdown(results, info, command.strip(), args, wall, floor),
            begin=BEGIN,
            end=END,
            heading=HEADING,
        )
        print(f"wrote {args.write}", file=sys.stderr)
    return 0 if all(r.clean_exit for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
