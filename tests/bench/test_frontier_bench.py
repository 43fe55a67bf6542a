"""``bench/frontier.py`` on tiny traces of our own making (no ../shared, no pvlib)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import bench_helpers as helpers
import pytest
from bench_helpers import load_script

from ecotrack.core.model import LoadpointParams
from ecotrack.sim.strategies import OWN_STRATEGIES, STRATEGIES
from ecotrack.world.modelled import write_trace_csv
from ecotrack.world.trace import Trace

CLOUDS = ((40, 46, 0.2), (60, 62, 0.2), (70, 73, 0.3))


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script("frontier")


def tiny_trace(name: str, peak_w: float, *, clouds: bool = False) -> Trace:
    return helpers.tiny_trace(name, peak_w, dips=CLOUDS if clouds else ())


PREAMBLE = (
    "# Benchmarks\n\nIntro written by hand.\n\n## Tracking benchmark\n\n"
    "<!-- tracking:begin -->\ntracking numbers, not ours\n<!-- tracking:end -->\n\n"
    "## Start/grid frontier\n\n"
)
AFTER = "\n\n## Analysis\n\nThe lead's analysis, kept as is.\n"


def test_bench_writes_only_its_section_and_a_plot(bench: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    write_trace_csv(tiny_trace("sunny-bit", 5000), folder / "sunny-bit.csv")
    write_trace_csv(tiny_trace("cloudy-bit", 4500, clouds=True), folder / "cloudy-bit.csv")
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()
    doc.write_text(f"{PREAMBLE}{bench.BEGIN}\nold numbers\n{bench.END}{AFTER}", encoding="utf-8")
    png = tmp_path / "docs" / "frontier.png"

    argv = [str(folder), "--write", str(doc), "--plot", str(png), "--no-progress", "--workers", "1"]
    assert bench.main(argv, repo_root=tmp_path / "repo") == 0

    text = doc.read_text(encoding="utf-8")
    assert text.startswith(PREAMBLE) and text.endswith(AFTER)
    assert "tracking numbers, not ours" in text
    assert "old numbers" not in text
    assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1
    assert text.count("## Start/grid frontier") == 1
    section = text[text.index(bench.BEGIN) : text.index(bench.END)]
    assert f"python bench/frontier.py {folder}" in section and "--plot" in section
    assert "Date:" in section and "Machine:" in section
    assert "![" in section and "(frontier.png)" in section
    shipped = LoadpointParams(name="x").disable_energy_wh
    assert f"| **default {shipped:g} Wh (shipped)** |" in section
    for label in ("default 0 Wh", "default 200 Wh", "default strict", "default patient"):
        assert f"| {label} |" in section or f"| **{label} (shipped)** |" in section
    for baseline in STRATEGIES:
        if baseline not in OWN_STRATEGIES:
            assert f"| {baseline} |" in section
            assert f"({baseline}; it pulled" in section  # the bound at its start count
        elif baseline != "default":
            assert f"| profile {baseline} |" in section
    assert "any controller taking every sunny stretch pulls" in section
    assert "### Clairvoyant frontier" in section and "first starts" in section

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    height, width = imread(png).shape[:2]
    assert (width, height) == (1400, 800)


def test_plan_and_frontier_figures(bench: ModuleType) -> None:
    specs = bench.plan()
    sweep = [s for s in specs if s.kind == "sweep"]
    shipped = LoadpointParams(name="x").disable_energy_wh
    assert [s.budget_wh for s in sweep] == sorted({0.0, 5.0, 10.0, 20.0, shipped, 60.0, 100.0, 200.0})
    assert [s.budget_wh for s in specs if s.shipped] == [shipped]
    assert sorted(s.label for s in specs if s.kind == "profile") == [
        "default patient",
        "default strict",
        "profile fewer-starts",
        "profile no-grid",
    ]
    assert sorted(s.strategy for s in specs if s.kind == "baseline") == sorted(
        set(STRATEGIES) - set(OWN_STRATEGIES)
    )

    traces = [tiny_trace("a", 5000, clouds=True), tiny_trace("b", 300), tiny_trace("c", 5000)]
    f = bench.compute_frontier(traces, bench.SimSettings())
    assert f.min_w == 6 * 230
    assert f.first_starts == 2  # "b" never has enough surplus
    assert len(f.dips) == 3  # the three cloud dips of "a"
    assert f.all_stopped_starts == 5
    assert f.points[0].stopped_dips == 3 and f.points[0].grid_kwh == 0.0
    assert f.points[-1].ride_up_to_wh == bench.FRONTIER_MAX_WH
    assert f.min_grid_kwh(5) == 0.0
    assert f.min_grid_kwh(2) == pytest.approx(sum(d.ride_cost_wh for d in f.dips) / 1000)
