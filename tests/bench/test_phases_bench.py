"""``bench/phases.py`` on tiny traces of our own making (no ../shared, no pvlib)."""

from __future__ import annotations

from pathlib import Path

import bench_helpers as helpers
from bench_helpers import load_script

from ecotrack.world.modelled import write_trace_csv


def test_bench_writes_its_section_with_every_variant(tmp_path: Path) -> None:
    bench = load_script("phases")
    folder = tmp_path / "traces"
    folder.mkdir()
    write_trace_csv(helpers.tiny_trace("bright", 9000), folder / "bright.csv")
    write_trace_csv(helpers.tiny_trace("dull", 3500, dips=((40, 50, 0.3),)), folder / "dull.csv")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nKept.\n", encoding="utf-8")
    assert bench.main([str(folder), "--write", str(doc), "--workers", "1", "--no-progress"]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nKept.\n")
    assert bench.BEGIN in text and bench.END in text and "python bench/phases.py" in text
    rows = [line for line in text.splitlines() if line.startswith("| ecotrack") or line.startswith("| evcc")]
    assert len(rows) == len(bench.variants())
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-1] == "0", row  # max_over_limit_a
    by_label = {r.split("|")[1].strip(): [c.strip() for c in r.strip("|").split("|")] for r in rows}
    fixed = float(by_label["ecotrack, fixed 3p"][1])
    switching = float(by_label["ecotrack, switching"][1])
    assert switching > fixed  # the dull day's 3 kW is only usable on one phase
    assert float(by_label["ecotrack, fixed 3p"][4]) == 0.0 and float(by_label["ecotrack, switching"][4]) > 0.0
