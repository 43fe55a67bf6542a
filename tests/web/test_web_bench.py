"""bench/web.py runs end to end with tiny numbers and writes its own marked section only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_bench() -> object:
    spec = importlib.util.spec_from_file_location("web_bench", REPO / "bench" / "web.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_prints_and_writes_its_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nkeep me\n")
    args = [
        "--requests",
        "20",
        "--clients",
        "2",
        "--ws-clients",
        "2",
        "--seconds",
        "0.5",
        "--write",
        str(doc),
    ]
    assert bench.main(args) == 0  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "GET /api/state, one at a time | 20 |" in out
    assert "| 2 | " in out  # the WebSocket row
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nkeep me\n")
    assert (
        "<!-- web:begin -->" in text and "<!-- web:end -->" in text and "bench/web.py --requests 20" in text
    )
