"""``bench/tracking.py`` on tiny traces of our own making (no ../shared, no pvlib)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import bench_helpers as helpers
import pytest
from bench_helpers import REPO_ROOT, load_script

from ecotrack.sim.runner import SimResult
from ecotrack.sim.strategies import STRATEGIES
from ecotrack.world.modelled import write_trace_csv
from ecotrack.world.trace import Trace

CLOUDS = ((40, 46, 0.2), (70, 73, 0.3))


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script("tracking")


def tiny_trace(name: str, peak_w: float, *, clouds: bool = False) -> Trace:
    return helpers.tiny_trace(name, peak_w, dips=CLOUDS if clouds else ())


PREAMBLE = "# Benchmarks\n\nIntro written by hand.\n\n## Tracking benchmark\n\n"
AFTER = "\n\n## Analysis\n\nThe lead's analysis, kept as is.\n"


def test_bench_writes_section_between_markers(bench: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    write_trace_csv(tiny_trace("sunny-bit", 5000), folder / "sunny-bit.csv")
    write_trace_csv(tiny_trace("cloudy-bit", 4500, clouds=True), folder / "cloudy-bit.csv")
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text(f"{PREAMBLE}{bench.BEGIN}\nold numbers\n{bench.END}{AFTER}", encoding="utf-8")
    plots = tmp_path / "plots"

    argv = [str(folder), "--write", str(doc), "--no-progress", "--workers", "1", "--plot-dir", str(plots)]
    assert bench.main(argv, repo_root=tmp_path / "repo") == 0

    text = doc.read_text(encoding="utf-8")
    assert text.startswith(PREAMBLE)
    assert text.endswith(AFTER)
    assert "old numbers" not in text
    assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1
    section = text[text.index(bench.BEGIN) : text.index(bench.END)]
    assert f"python bench/tracking.py {folder}" in section
    assert "--write" in section
    assert "Machine:" in section and "Date:" in section and "per simulated day" in section
    for name in ("sunny-bit", "cloudy-bit"):
        for strategy in STRATEGIES:
            assert f"| {name} | {strategy} |" in section
    assert "### Totals" in section and "starts/day" in section and "capture" in section
    assert "default beats it" in section
    assert len(list(plots.glob("*.png"))) == 2 * len(STRATEGIES)

    # A second run replaces the section, nothing else.
    assert bench.main([str(folder), "--write", str(doc), "--no-progress", "--strategy", "default"]) == 0
    text2 = doc.read_text(encoding="utf-8")
    assert text2.startswith(PREAMBLE) and text2.endswith(AFTER)
    assert text2.count(bench.BEGIN) == 1
    assert "| sunny-bit | evcc-default |" not in text2


def test_bench_creates_file_and_falls_back_to_modelled_days(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = [tiny_trace("model-a", 3000), tiny_trace("model-b", 6000, clouds=True)]
    monkeypatch.setattr("ecotrack.sim.inputs.modelled_traces", lambda: tiny)
    doc = tmp_path / "benchmarks.md"
    # tmp_path/"repo" has no ../shared/data/traces next to it: the modelled days stand in.
    assert bench.main(["--write", str(doc), "--no-progress"], repo_root=tmp_path / "repo") == 0
    err = capsys.readouterr().err
    assert "modelled days" in err
    text = doc.read_text(encoding="utf-8")
    assert "## Tracking benchmark" in text
    assert bench.BEGIN in text and bench.END in text
    assert "modelled days" in text
    assert "| model-b | default |" in text


def result(strategy: str, solar: float, grid: float, starts: int) -> SimResult:
    return SimResult(
        trace="t",
        strategy=strategy,
        duration_h=24.0,
        pv_kwh=30.0,
        load_kwh=10.0,
        surplus_kwh=20.0,
        ev_kwh=solar + grid,
        ev_solar_kwh=solar,
        ev_grid_kwh=grid,
        export_kwh=20.0 - solar,
        import_kwh=grid,
        oracle_ev_solar_kwh=solar,
        capture_ratio=1.0,
        starts=starts,
        max_over_limit_a=0.0,
        frontier_grid_kwh=0.0,
        frontier_excess_kwh=grid,
    )


def test_beats_names_the_failing_figures(bench: ModuleType) -> None:
    ours = result("default", 10.0, 0.1, 3)
    assert bench.beats(ours, result("b", 9.0, 0.2, 3)) == []
    assert bench.verdict(bench.beats(ours, result("b", 11.0, 0.05, 2))) == "no (solar, grid, starts)"
    assert bench.beats(ours, result("b", 10.0, 0.2, 5)) == ["solar"]  # a tie is not "more"
    assert bench.beats(result("default", 10.0, 0.0, 1), result("b", 9.0, 0.0, 1)) == []  # both zero grid
    t_ours = bench.totals([ours, result("default", 4.0, 0.0, 1)], "default")
    assert t_ours.starts_per_day == pytest.approx(2.0)
    assert t_ours.grid_share == pytest.approx(0.1 / 14.1)
    assert math.isclose(t_ours.capture_ratio, 1.0)


def test_help_runs_as_a_script() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "tracking.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--write" in out.stdout and "--plot-dir" in out.stdout


def test_lag_table_writes_its_own_section(bench: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    write_trace_csv(tiny_trace("cloudy-bit", 4500, clouds=True), folder / "cloudy-bit.csv")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        f"{PREAMBLE}{bench.BEGIN}\ntracking numbers\n{bench.END}\n\n{bench.LAG_BEGIN}\nold\n{bench.LAG_END}{AFTER}",
        encoding="utf-8",
    )
    argv = [str(folder), "--lags", "0,2", "--strategy", "default", "--write", str(doc), "--no-progress"]
    assert bench.main(argv, repo_root=tmp_path / "repo") == 0
    text = doc.read_text(encoding="utf-8")
    assert "tracking numbers" in text and text.endswith(AFTER)  # the other sections are kept
    section = text[text.index(bench.LAG_BEGIN) : text.index(bench.LAG_END)]
    assert "old" not in section.replace("older", "")
    assert "python bench/tracking.py" in section and "--lags 0,2" in section
    assert "| 0 s | default |" in section and "| 2 s | default |" in section
    assert "+0.00" in section  # the first lag against itself


@pytest.mark.parametrize("lags", ["1,x", "-1", "0,100"])
def test_lag_list_errors_are_clear(bench: ModuleType, lags: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--lags", lags, "--no-progress"]) == 2
    assert "--lags" in capsys.readouterr().err
