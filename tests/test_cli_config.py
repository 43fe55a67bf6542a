"""The `ecotrack config` commands and the CLI's basics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ecotrack import __version__
from ecotrack.cli import app

runner = CliRunner()


def test_check_ok(demo_config_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(demo_config_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: ")
    assert "loadpoint" in result.stdout


def test_check_reports_every_issue(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "site:\n  grid_meter: nope\nmeters: {}\nchargers: {}\n"
        "loadpoints:\n  g:\n    charger: c\n    min_a: 0\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{path}:2: site.grid_meter: unknown meter 'nope' (defined: none defined)" in lines
    assert any(line.startswith(f"{path}:7: loadpoints.g.charger: unknown charger") for line in lines)
    assert any(line.startswith(f"{path}:8: loadpoints.g.min_a: ") for line in lines)
    assert len(lines) == 3


def test_check_env_override(tmp_path: Path, demo_config_path: Path) -> None:
    result = runner.invoke(
        app, ["config", "check", str(demo_config_path)], env={"ECOTRACK__SITE__VOLTAGE_V": "9999"}
    )
    assert result.exit_code == 1
    assert "site.voltage_v" in result.stdout
    assert "ECOTRACK__SITE__VOLTAGE_V" in result.stdout


def test_check_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert "not found" in result.stdout


def test_schema() -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "LoadpointConfig" in schema["$defs"]


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "config" in result.stdout


def test_module_entry_point(demo_config_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ecotrack", "config", "check", str(demo_config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK: ")
