"""``ecotrack service``: the unit (checked by systemd itself), the install steps, the dry run, the refusals."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.install.systemd import Step, install_steps, render_unit, run_steps, uninstall_steps

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib" / "systemd" / "ecotrack.service"
runner = CliRunner()


def _directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_contrib_unit_is_the_one_install_writes() -> None:
    assert CONTRIB.read_text() == render_unit(), "regenerate contrib/systemd/ecotrack.service from render_unit()"


def test_unit_runs_hardened_as_its_own_user() -> None:
    d = _directives(render_unit(Path("/opt/ecotrack/bin/ecotrack"), Path("/etc/ecotrack/ecotrack.yaml")))
    assert d["ExecStart"] == [
        "/opt/ecotrack/bin/ecotrack run --config /etc/ecotrack/ecotrack.yaml --data-dir /var/lib/ecotrack"
    ]
    expected = {
        "User": "ecotrack",
        "SupplementaryGroups": "dialout",
        "StateDirectory": "ecotrack",
        "ConfigurationDirectory": "ecotrack",
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "DevicePolicy": "closed",
        "UMask": "0077",
        "StateDirectoryMode": "0700",
    }
    for key, value in expected.items():
        assert d.get(key) == [value], key
    assert {"char-ttyUSB rw", "char-ttyACM rw"} <= set(d["DeviceAllow"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds no unknown key, bad value or missing executable (it warns, exit 0)."""
    unit = tmp_path / "ecotrack.service"
    unit.write_text(render_unit(Path(sys.executable), tmp_path / "ecotrack.yaml"))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    unit = tmp_path / "ecotrack.service"
    unit.write_text(render_unit(Path(sys.executable)).replace("UMask=0077", "UMask=0077\nProtectHomes=yes"))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert "ProtectHomes" in proc.stderr


def test_dry_run_prints_unit_and_steps_and_does_nothing(tmp_path: Path) -> None:
    exe = Path(sys.executable)
    config = tmp_path / "etc" / "ecotrack.yaml"
    result = runner.invoke(
        app, ["service", "install", "--dry-run", "--executable", str(exe), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"ExecStart={exe} run --config {config} --data-dir /var/lib/ecotrack" in out
    for expected in ("useradd --system", "systemctl daemon-reload", "systemctl enable ecotrack.service",
                     "write /etc/systemd/system/ecotrack.service (mode 0644)", "nothing done",
                     "systemctl start ecotrack", f"init -o {config}"):
        assert expected in out
    assert not config.parent.exists()


def test_install_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = runner.invoke(app, ["service", "install", "--executable", sys.executable])
    assert result.exit_code == 1
    assert "needs root" in result.output and "--dry-run" in result.output
    result = runner.invoke(app, ["service", "uninstall"])
    assert result.exit_code == 1 and "needs root" in result.output


def test_install_refuses_an_executable_in_a_home_directory() -> None:
    result = runner.invoke(app, ["service", "install", "--executable", "/home/pi/.local/bin/ecotrack"])
    assert result.exit_code == 1
    assert "home directory" in result.output and "/opt/ecotrack" in result.output


def test_uninstall_and_status_dry_runs() -> None:
    result = runner.invoke(app, ["service", "uninstall", "--dry-run"])
    assert result.exit_code == 0 and "Kept: the user ecotrack" in result.output
    result = runner.invoke(app, ["service", "status", "--dry-run"])
    assert result.exit_code == 0 and "systemctl is-active ecotrack.service" in result.output


def test_install_steps_write_the_unit_file(tmp_path: Path) -> None:
    unit = tmp_path / "system" / "ecotrack.service"
    steps = install_steps(Path("/opt/ecotrack/bin/ecotrack"), unit_path=unit)
    (write,) = [s for s in steps if s.path is not None]
    run_steps([write], echo=lambda _: None)
    assert unit.read_text() == render_unit()
    assert unit.stat().st_mode & 0o777 == 0o644
    assert all(s.skip for s in uninstall_steps(tmp_path / "absent.service")[:2])


def test_steps_run_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    shown: list[str] = []
    run_steps([Step("echo", argv=("echo", f"x; touch {marker}"))], echo=shown.append)
    assert not marker.exists()
    assert shown and "echo" in shown[0]
    with pytest.raises(subprocess.CalledProcessError):
        run_steps([Step("fails", argv=("false",))], echo=lambda _: None)
    run_steps([Step("skipped", argv=("false",), skip="done already")], echo=lambda _: None)


def test_status_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("ecotrack.install.systemd.UNIT_PATH", tmp_path / "ecotrack.service")
    monkeypatch.setattr("ecotrack.install.systemd.CONFIG_PATH", tmp_path / "ecotrack.yaml")
    result = runner.invoke(app, ["service", "status"])
    assert result.exit_code == 4, result.output
    assert "not installed" in result.output and "missing (write one" in result.output
    (tmp_path / "ecotrack.service").write_text("old unit")
    (tmp_path / "ecotrack.yaml").write_text("site: {}\n")
    result = runner.invoke(app, ["service", "status"])
    assert result.exit_code == 3, result.output
    assert "differs from what this version writes" in result.output
    assert "problem(s)" in result.output
