"""Loading day traces from CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ecotrack.world.trace import Trace, TraceError, infer_utc_offset_s, load_trace

RECORDED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "traces"  # beside the repo


def write(tmp_path: Path, text: str, name: str = "day.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """timestamp,pv_w,load_w,extra
2024-06-21T10:00:00Z,100,200,x
2024-06-21T10:01:00Z,150.5,250,y
2024-06-21T12:02:00+02:00,0,300,z
"""


def test_load_small_csv(tmp_path: Path) -> None:
    tr = load_trace(write(tmp_path, GOOD))
    assert tr.name == "day"
    assert tr.start == datetime(2024, 6, 21, 10, 0, tzinfo=UTC)
    assert tr.step_s == 60.0
    assert len(tr) == 3
    assert all(type(v) is float for v in tr.pv_w)
    assert list(tr.pv_w) == [100.0, 150.5, 0.0]
    assert list(tr.load_w) == [200.0, 250.0, 300.0]
    assert tr.duration_s == 180.0
    assert tr.utc_offset_s == 0.0  # not a whole day: no inference
    assert isinstance(tr.pv_w, tuple)  # immutable


def test_header_columns_in_any_order_and_blank_lines(tmp_path: Path) -> None:
    text = "load_w,timestamp,pv_w\n\n5,2024-01-01T00:00:00Z,1\n6,2024-01-01T00:00:30Z,2\n\n"
    tr = load_trace(write(tmp_path, text))
    assert tr.step_s == 30.0
    assert list(tr.load_w) == [5.0, 6.0]


def test_explicit_offset(tmp_path: Path) -> None:
    tr = load_trace(write(tmp_path, GOOD), utc_offset_s=7200)
    assert tr.utc_offset_s == 7200.0
    assert tr.local_seconds_of_day(0) == 12 * 3600


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("time,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n", 1, "header lacks column(s) timestamp"),
        ("timestamp,pv_w\n2024-01-01T00:00:00Z,1\n", 1, "load_w"),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n", 2, "at least 2 data rows"),
        ("timestamp,pv_w,load_w\n", None, "at least 2 data rows"),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\nnot-a-time,1,1\n", 3, "bad timestamp"),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00,1,1\n2024-01-01T00:01:00,1,1\n", 2, "no time zone"),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,abc,1\n",
            3,
            "pv_w is not a number",
        ),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,nan\n2024-01-01T00:01:00Z,1,1\n",
            2,
            "load_w is not finite",
        ),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,inf,1\n", 3, "not finite"),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,-5,1\n",
            3,
            "negative PV power",
        ),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,-1\n2024-01-01T00:01:00Z,1,1\n",
            2,
            "negative load_w",
        ),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,1\n", 3, "columns"),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,1,1\n"
            "2024-01-01T00:03:00Z,1,1\n",
            4,
            "gap of 120 s",
        ),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,1,1\n"
            "2024-01-01T00:01:00Z,1,1\n",
            4,
            "duplicate timestamp",
        ),
        ("timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:00:00Z,1,1\n", 3, "duplicate"),
        ("timestamp,pv_w,load_w\n2024-01-01T00:01:00Z,1,1\n2024-01-01T00:00:00Z,1,1\n", 3, "backwards"),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,1,1\n"
            "2024-01-01T00:01:30Z,1,1\n",
            4,
            "irregular spacing",
        ),
        (
            "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n2024-01-01T00:01:00Z,1,1\n"
            "2024-01-01T00:00:30Z,1,1\n",
            4,
            "backwards",
        ),
    ],
)
def test_errors_name_file_line_and_reason(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(TraceError) as info:
        load_trace(p)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.line == line
    assert fragment in str(err)
    assert str(p) in str(err)
    if line is not None:
        assert f"{p}:{line}:" in str(err)


def test_line_number_counts_blank_lines(tmp_path: Path) -> None:
    text = "timestamp,pv_w,load_w\n2024-01-01T00:00:00Z,1,1\n\n2024-01-01T00:01:00Z,-1,1\n"
    with pytest.raises(TraceError, match=r":4: negative PV"):
        load_trace(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot open"):
        load_trace(tmp_path / "nope.csv")


def make(pv: list[float], load: list[float], step: float = 60.0, offset: float = 0.0) -> Trace:
    return Trace("t", datetime(2024, 1, 1, 22, tzinfo=UTC), step, np.array(pv), np.array(load), offset)


def test_per_second_sample_and_hold() -> None:
    tr = make([1, 2, 3], [10, 20, 30])
    pv, load = tr.per_second()
    assert pv.shape == load.shape == (180,)
    assert pv[0] == 1 and pv[59] == 1 and pv[60] == 2 and pv[119] == 2 and pv[120] == 3 and pv[179] == 3
    assert load[61] == 20
    assert pv.dtype == np.float64


def test_per_second_non_integer_step() -> None:
    tr = make([1, 2], [3, 4], step=1.5)
    pv, load = tr.per_second()
    assert pv.tolist() == [1.0, 1.0, 2.0]
    assert load.tolist() == [3.0, 3.0, 4.0]


def test_at_holds_and_wraps() -> None:
    tr = make([1, 2, 3], [10, 20, 30])
    assert tr.at(0) == (1.0, 10.0)
    assert tr.at(59.9) == (1.0, 10.0)
    assert tr.at(60) == (2.0, 20.0)
    assert tr.at(179.999) == (3.0, 30.0)
    assert tr.at(180) == (1.0, 10.0)
    assert tr.at(180 * 5 + 125) == (3.0, 30.0)
    assert tr.at(-1) == (3.0, 30.0)


def test_local_seconds_of_day() -> None:
    tr = make([1, 2], [1, 1], offset=2 * 3600)  # starts 22:00Z = local midnight at UTC+2
    assert tr.local_seconds_of_day(0) == 0.0
    assert tr.local_seconds_of_day(7.5 * 3600) == 7.5 * 3600
    assert tr.local_seconds_of_day(25 * 3600) == 3600


def test_scaled() -> None:
    tr = make([100, 200], [10, 20], offset=3600)
    s = tr.scaled(pv=0.5, load=2)
    assert list(s.pv_w) == [50, 100]
    assert list(s.load_w) == [20, 40]
    assert (s.start, s.step_s, s.utc_offset_s, s.name) == (tr.start, tr.step_s, tr.utc_offset_s, tr.name)
    assert list(tr.pv_w) == [100, 200]
    with pytest.raises(ValueError):
        tr.scaled(pv=-1, load=1)


def test_trace_validates() -> None:
    with pytest.raises(ValueError):
        make([1], [1])
    with pytest.raises(ValueError):
        make([1, -1], [1, 1])
    with pytest.raises(ValueError):
        make([1, 2], [1])
    with pytest.raises(ValueError):
        Trace("t", datetime(2024, 1, 1), 60, np.ones(2), np.ones(2))


@pytest.mark.parametrize(
    ("hour", "minute", "duration_h", "expected_h"),
    [(17, 0, 24, 7), (22, 0, 24, 2), (0, 0, 24, 0), (5, 0, 24, -5), (12, 0, 24, 12), (17, 30, 24, 0),
     (17, 0, 6, 0)],
)  # fmt: skip
def test_infer_offset(hour: int, minute: int, duration_h: float, expected_h: float) -> None:
    start = datetime(2024, 1, 1, hour, minute, tzinfo=UTC)
    assert infer_utc_offset_s(start, duration_h * 3600) == expected_h * 3600


def test_inferred_offset_of_a_day(tmp_path: Path) -> None:
    rows = ["timestamp,pv_w,load_w"]
    t0 = datetime(2024, 3, 31, 17, tzinfo=UTC).timestamp()
    for i in range(1440):
        rows.append(datetime.fromtimestamp(t0 + 60 * i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + f",{i % 7},{i}")
    p = write(tmp_path, "\n".join(rows) + "\n")
    tr = load_trace(p)
    assert tr.utc_offset_s == 7 * 3600
    assert tr.local_seconds_of_day(0) == 0
    assert len(tr) == 1440


@pytest.mark.skipif(not RECORDED.is_dir(), reason="recorded traces not available")
def test_recorded_days_load() -> None:
    files = sorted(RECORDED.glob("*.csv"))
    assert files
    for f in files:
        tr = load_trace(f)
        assert len(tr) == 1440
        assert tr.step_s == 60
        assert tr.utc_offset_s == 7 * 3600
        assert tr.local_seconds_of_day(0) == 0
