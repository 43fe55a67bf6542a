"""The daemon's assembly (ecotrack.app): services are explicit handles, and imports follow the config.

A daemon with web, store and MQTT off must not import their frameworks (FastAPI, uvicorn, SQLAlchemy,
aiomqtt) nor the numeric stack the modelled day and the simulator need; each build runs in a fresh
interpreter so what earlier tests imported cannot hide an import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from ecotrack.app import App, build_app
from ecotrack.clock import ScaledClock
from ecotrack.config_load import parse_config
from ecotrack.runtime.rules import ManualRule

REPO = Path(__file__).resolve().parents[1]

#: Modules an all-off daemon must not load.
HEAVY = (
    "fastapi",
    "uvicorn",
    "starlette",
    "sqlalchemy",
    "aiomqtt",
    "httpx",
    "pymodbus",
    "pandas",
    "pvlib",
    "scipy",
)

_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from ecotrack.config_load import load_config
    from ecotrack.app import build_app
    config = load_config(Path(sys.argv[1]))
    app = build_app(config, data_dir=Path(sys.argv[2]))
    loaded = sorted(name for name in json.loads(sys.argv[3]) if name in sys.modules)
    services = {"web": app.web is not None, "recorder": app.recorder is not None, "mqtt": app.mqtt is not None}
    print(json.dumps({"loaded": loaded, "services": services}))
    """
)


def _site(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    trace = tmp_path / "day.csv"
    trace.write_text("timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,5000,500\n2024-06-21T10:01:00Z,5000,500\n")
    return {
        "site": {"grid_meter": "grid", "pv_meters": ["grid"]},
        "meters": {"grid": {"type": "replay", "trace": str(trace)}},
        "chargers": {"car": {"type": "simulated", "max_a": 32}},
        "loadpoints": {"garage": {"charger": "car", "min_a": 6, "max_a": 16}},
        **sections,
    }


def _probe(tmp_path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Build (not run) the app for ``data`` in a fresh interpreter; which HEAVY modules it loaded."""
    path = tmp_path / "ecotrack.yaml"
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(tmp_path), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_daemon_with_every_service_off_imports_none_of_their_frameworks(tmp_path: Path) -> None:
    result = _probe(tmp_path, _site(tmp_path, http={"enabled": False}, store={"enabled": False}))
    assert result["services"] == {"web": False, "recorder": False, "mqtt": False}
    assert result["loaded"] == []


def test_a_daemon_with_every_service_on_uses_their_frameworks(tmp_path: Path) -> None:
    sections = {
        "http": {"enabled": True, "port": 0, "token": "t" * 24},
        "store": {"enabled": True},
        "mqtt": {"host": "127.0.0.1", "port": 1},
    }
    result = _probe(tmp_path, _site(tmp_path, **sections))
    assert result["services"] == {"web": True, "recorder": True, "mqtt": True}
    assert {"fastapi", "uvicorn", "starlette", "sqlalchemy", "aiomqtt"} <= set(result["loaded"])
    assert (tmp_path / "ecotrack.db").exists()


def test_the_handle_carries_the_services_and_the_web_reads_the_recorder(tmp_path: Path) -> None:
    data = _site(tmp_path, http={"port": 0, "token": "t" * 24}, store={"enabled": True})
    app = build_app(parse_config(data), clock=ScaledClock(10), data_dir=tmp_path)
    assert isinstance(app, App)
    assert app.web is not None and app.recorder is not None and app.mqtt is None
    assert app.web.context.stored is app.recorder
    assert app.web.context.engine is app.engine
    assert (tmp_path / "ecotrack.db").exists()


def test_without_a_data_dir_no_history_is_kept_and_the_web_serves_memory(tmp_path: Path) -> None:
    data = _site(tmp_path, http={"port": 0, "token": "t" * 24})
    app = build_app(parse_config(data), clock=ScaledClock(10))
    assert app.recorder is None
    assert app.web is not None and app.web.context.stored is None


def test_planning_rules_go_before_the_users_mode_and_limits_are_applied(tmp_path: Path) -> None:
    data = _site(
        tmp_path,
        http={"enabled": False},
        schedules={"night": {"start": "22:00", "end": "06:00", "amps": 10, "timezone": "UTC"}},
        plans={"morning": {"loadpoint": "garage", "energy_kwh": 10, "by": "07:00"}},
        rules={"energy_limit_kwh": {"garage": 12}, "non_scheduled": {"action": "off"}},
    )
    app = build_app(parse_config(data), clock=ScaledClock(10), services=False)
    names = [r.name for r in app.engine.rules]
    assert names[:2] == ["energy-limit", "charge-now"]
    assert names[-1] == "manual" and isinstance(app.engine.rules[-1], ManualRule)
    assert "schedule:night" in names and "non-scheduled" in names
    assert names.index("schedule:night") < names.index("non-scheduled") < names.index("manual")
    plan = next(r for r in app.engine.rules if r.name.startswith("plan"))
    # the plan assumes the loadpoint's full power: 16 A at the site's 230 V on one phase
    assert getattr(plan, "max_power_w", None) == 16 * 230 * 1
    assert app.engine.snapshot().loadpoint("garage").energy_limit_wh == 12_000
