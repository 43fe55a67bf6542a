"""bench/store.py runs end to end (SQLite only, tiny durations) and writes its marked section."""

from __future__ import annotations

from pathlib import Path

from bench_helpers import load_script


def test_store_bench_writes_its_section(tmp_path: Path) -> None:
    bench = load_script("store")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nother text\n")
    assert bench.main(["--seconds", "0.2", "--no-postgres", "--write", str(doc)]) == 0
    text = doc.read_text()
    assert "other text" in text and "<!-- store:begin -->" in text and "<!-- store:end -->" in text
    assert "| SQLite (WAL) |" in text and "database hanging 1 s per write" in text
