"""bench/footprint.py runs scenario (a) end to end for a few seconds: numbers come out, the daemon stops cleanly.

No timing or size assertions: the figures depend on the machine; the script only reports them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_helpers import load_script


def test_footprint_scenario_a_reports_numbers_and_a_clean_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_script("footprint")
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nother text\n")
    code = bench.main(["--only", "a", "--seconds", "3", "--warmup", "1", "--json", "--write", str(doc)])
    out = json.loads(capsys.readouterr().out)
    (res,) = out["results"]
    assert res["scenario"] == "a", res
    assert res["peak_rss_mib"] > 0 and res["end_rss_mib"] > 0, res
    assert res["steady_cpu_ms_per_s"] >= 0 and res["window_s"] > 0, res
    assert res["exit_code"] == 0 and res["clean_exit"] and not res["died_early"], res["stderr_tail"]
    assert isinstance(res["third_party"], list) and "peak_rss_mib" in res["targets"]
    assert out["info"]["python"] and out["info"]["commit"]
    assert code == 0
    text = doc.read_text()
    assert "other text" in text and "<!-- footprint:begin -->" in text and "<!-- footprint:end -->" in text
    assert "python bench/footprint.py --only a --seconds 3" in text and "| (a) TWC master" in text


def test_third_party_imports_from_an_importtime_log() -> None:
    bench = load_script("footprint")
    log = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       120 |        120 |   _io",
            "import time:       300 |        300 |   json",
            "import time:      1000 |       1500 | pydantic",
            "import time:       500 |        500 |   pydantic.main",
            "import time:        50 |         50 |   no_such_package_xyz",  # a failed try-import
            "import time:        70 |         70 |   ecotrack.core",
            "2026-01-01 WARNING something else on stderr",
        ]
    )
    found = bench.third_party_imports(log)
    assert [e["package"] for e in found] == ["pydantic"]
    assert found[0]["modules"] == 2 and found[0]["self_ms"] == 1.5 and found[0]["dist"] == "pydantic"


def test_unknown_scenario_is_refused() -> None:
    bench = load_script("footprint")
    with pytest.raises(SystemExit):
        bench.main(["--only", "x"])
