"""``ecotrack sessions list`` and ``ecotrack history export`` on a database written by the store."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.services.store.db import Batch, Store
from ecotrack.services.store.records import EventRecord, LoadpointRow, SessionRecord, SiteRow

T0 = datetime(2024, 6, 21, 8, 0, tzinfo=UTC)
runner = CliRunner()


def seed(data_dir: Path) -> None:
    store = Store(f"sqlite:///{data_dir / 'ecotrack.db'}")
    store.write(
        Batch(
            [SiteRow(T0 + timedelta(seconds=10 * i), -2000.0, 3000.0, None, None, 2000.0) for i in range(3)],
            [LoadpointRow(T0 + timedelta(seconds=10 * i), "garage", 1380.0, 6.0, 6.0) for i in range(3)],
            {
                "a": SessionRecord(
                    "a",
                    "garage",
                    "car",
                    T0,
                    T0 + timedelta(hours=2),
                    7400.0,
                    7000.0,
                    400.0,
                    3680.0,
                    cost=0.68,
                    savings=1.54,
                    currency="EUR",
                ),
                "b": SessionRecord(
                    "b", "garage", "car", T0 + timedelta(days=1), energy_wh=1000.0, solar_wh=1000.0
                ),
            },
            [EventRecord(T0, "mode", "garage: mode pv -> now", "garage")],
        )
    )
    store.close()


def test_sessions_list_json_lines(tmp_path: Path) -> None:
    seed(tmp_path)
    result = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    a, b = (json.loads(line) for line in result.stdout.splitlines())
    assert a["id"] == "a" and a["loadpoint"] == "garage"
    assert (a["energy_kwh"], a["solar_kwh"], a["grid_kwh"], a["cost"]) == (7.4, 7.0, 0.4, 0.68)
    assert a["start"] == "2024-06-21T08:00:00+00:00" and a["end"] == "2024-06-21T10:00:00+00:00"
    assert b["end"] is None and b["cost"] is None


def test_sessions_list_filters_by_time_and_writes_csv(tmp_path: Path) -> None:
    seed(tmp_path)
    result = runner.invoke(
        app, ["sessions", "list", "--data-dir", str(tmp_path), "--from", "2024-06-22T00:00+00:00", "--csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == ["b"]
    result = runner.invoke(
        app, ["sessions", "list", "--data-dir", str(tmp_path), "--to", "2024-06-21T12:00+00:00"]
    )
    assert result.exit_code == 0 and "1 charging session" in result.stdout
    bad = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path), "--from", "yesterday"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_sessions_list_without_a_database_says_where_it_looked(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "no history database at" in result.output
    assert not (tmp_path / "empty" / "ecotrack.db").exists()


def test_history_export_csv(tmp_path: Path) -> None:
    seed(tmp_path)
    result = runner.invoke(app, ["history", "export", "--csv", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    assert rows[0]["grid_w"] == "-2000.0" and rows[0]["garage_power_w"] == "1380.0"
    events = runner.invoke(
        app, ["history", "export", "--csv", "--kind", "events", "--data-dir", str(tmp_path)]
    )
    assert "garage: mode pv -> now" in events.stdout
    out = tmp_path / "s.csv"
    sessions = runner.invoke(
        app, ["history", "export", "--kind", "sessions", "--data-dir", str(tmp_path), "-o", str(out)]
    )
    assert sessions.exit_code == 0 and len(out.read_text().splitlines()) == 3


def test_sessions_list_from_a_config_file(tmp_path: Path) -> None:
    seed(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"data_dir: {tmp_path}\n"
        "site: {grid_meter: grid}\n"
        "meters: {grid: {type: replay}}\n"
        "chargers: {car: {type: simulated}}\n"
        "loadpoints: {garage: {charger: car}}\n"
    )
    result = runner.invoke(app, ["sessions", "list", "-c", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


def test_sessions_list_shows_whole_loadpoint_names_at_80_columns(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'ecotrack.db'}")
    for i, lp in enumerate(("driveway", "garage-left-wallbox", "garage")):
        start = T0 + timedelta(hours=3 * i)
        store.put_session(
            SessionRecord(
                f"s{i}", lp, "twc", start, start + timedelta(hours=2), 12345.0, 9000.0, 3345.0, 7400.0,
                vehicle="5YJ3E1EA7KF000000", cost=1.23, currency="EUR",
            )
        )
    store.put_session(SessionRecord("open", "driveway", "twc", T0 + timedelta(days=1), energy_wh=500.0))
    store.close()
    result = runner.invoke(app, ["sessions", "list", "--data-dir", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    for name in ("driveway", "garage-left-wallbox", "garage"):
        assert any(name in line for line in lines), result.output
    assert "…" not in result.output, result.output
    assert "running" in result.output and "12.35" in result.output
