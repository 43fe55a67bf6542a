"""``ecotrack import ecotrack-seed -- ARGS``: the seed's options become a Prism configuration that passes the check."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.config_load import load_config
from ecotrack.importers.seed import SeedArgumentError, convert

runner = CliRunner()


def test_seed_options_convert_and_pass_the_check(tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, [
        "import", "ecotrack-seed", "-o", str(out), "--",
        "-h", "192.168.1.10", "-p", "1884", "--min-curr", "8", "--max-curr=20", "max-evse", "32",
        "--hysteresis", "0.93", "--start-mode", "eco", "--limit", "10", "-u", "prism", "-P", "s3cret",
    ])
    assert result.exit_code == 0, result.output
    assert "hysteresis" in result.output and "s3cret" not in result.output
    text = out.read_text()
    assert text.count("s3cret") == 1 and "-P ***" in text  # in mqtt.password only, not in the header
    cfg = load_config(out)
    lp = cfg.loadpoints["garage"]
    assert (lp.min_a, lp.max_a, lp.mode) == (8, 20, "pv")
    assert cfg.chargers["prism"].type == "prism"
    assert cfg.mqtt is not None and (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.username) == ("192.168.1.10", 1884, "prism")
    assert cfg.mqtt.ecotrack_compat is not None and cfg.mqtt.ecotrack_compat.half_a == 20
    assert cfg.rules is not None and cfg.rules.energy_limit_kwh == {"garage": 10}


def test_no_options_give_the_seeds_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(convert([]).document.render())
    cfg = load_config(path)
    lp = cfg.loadpoints["garage"]
    assert (lp.min_a, lp.max_a, lp.mode) == (6, 16, "minpv")
    assert cfg.meters["emon"].type == "ecotrack-monitor"


@pytest.mark.parametrize(
    "argv",
    [["--bogus", "1"], ["--min-curr"], ["--min-curr", "3"], ["--min-curr", "20", "--max-curr", "10"],
     ["--port", "99999"], ["--limit", "-1"]],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SeedArgumentError):
        convert(argv)
    result = runner.invoke(app, ["import", "ecotrack-seed", "--", *argv])
    assert result.exit_code == 2 and "ecotrack-seed options" in result.output
