"""bench/twc_timing.py runs (compressed) and writes its own marked section."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def load_script(stem: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{stem}_bench", REPO / "bench" / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_twc_timing_script_runs_and_writes_its_section(tmp_path: Path, capsys: object) -> None:
    bench = load_script("twc_timing")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nother text\n")
    assert bench.main(["--seconds", "30", "--speed", "20", "--change-every", "3", "--write", str(doc)]) == 0
    text = doc.read_text()
    assert "other text" in text and bench.BEGIN in text and bench.END in text
    assert "heartbeat interval, TWC 1111" in text and "command -> heartbeat carrying it (cut)" in text
    assert "python bench/twc_timing.py --seconds 30" in text
