"""``config check`` = ``run``: every configuration the checks pass can be built, every one they refuse cannot.

A corpus of broken configurations: each is reported by ``load_config`` with file, line and key path, AND
building the engine from it (the cross-checks skipped) fails, so start-up would have failed too. Every
example configuration and the demo pass both.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecotrack.app import build_engine
from ecotrack.config_load import ConfigError, config_model, load_config
from ecotrack.demo import demo_config

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

_SITE = """\
site: {grid_meter: grid, pv_meters: [grid]}
http: {enabled: false}
store: {enabled: false}
"""
_REPLAY = "meters:\n  grid: {type: replay}\n"
_SIM = "chargers:\n  car: {type: simulated}\nloadpoints:\n  garage: {charger: car}\n"
_TWO_TWCS = """\
chargers:
  a: {type: twc, port: /dev/ttyUSB0, twc_id: "0A0B"}
  b: {type: twc, port: /dev/ttyUSB0, %s}
loadpoints:
  one: {charger: a}
  two: {charger: b}
"""

#: name -> (configuration text, dotted key path reported, words of the reason).
BROKEN: dict[str, tuple[str, str, str]] = {
    "mqtt meter without mqtt section": (
        _SITE + "meters:\n  grid: {type: ecotrack-monitor}\n" + _SIM,
        "meters.grid.type",
        "no mqtt: section",
    ),
    "prism without mqtt section": (
        _SITE + _REPLAY + "chargers:\n  car: {type: prism}\nloadpoints:\n  garage: {charger: car}\n",
        "chargers.car.type",
        "no mqtt: section",
    ),
    "twcs on one port with different master ids": (
        _SITE + _REPLAY + _TWO_TWCS % 'master_id: "1234"',
        "chargers.b.master_id",
        "one master ID",
    ),
    "two twcs pinned to one id": (
        _SITE + _REPLAY + _TWO_TWCS % 'twc_id: "0a0b"',
        "chargers.b.twc_id",
        "already pinned",
    ),
    "missing replay trace": (
        _SITE + "meters:\n  grid: {type: replay, trace: days/missing.csv}\n" + _SIM,
        "meters.grid.trace",
        "does not exist",
    ),
    "ecotrack_compat names an unknown loadpoint": (
        _SITE + _REPLAY + _SIM + "mqtt: {host: localhost, ecotrack_compat: {loadpoint: nope}}\n",
        "mqtt.ecotrack_compat.loadpoint",
        "unknown loadpoint 'nope'",
    ),
    "ecotrack_compat without a loadpoint when there are two": (
        _SITE
        + _REPLAY
        + "chargers:\n  a: {type: simulated}\n  b: {type: simulated}\n"
        + "loadpoints:\n  one: {charger: a}\n  two: {charger: b}\n"
        + "mqtt: {host: localhost, ecotrack_compat: {}}\n",
        "mqtt.ecotrack_compat.loadpoint",
        "required when there is more than one loadpoint",
    ),
    "a gen3 controlled through an unknown vehicle": (
        _SITE
        + _REPLAY
        + "vehicles:\n  car: {type: simulated}\n"
        + "chargers:\n  gen3: {type: twc3, url: http://127.0.0.1:9, control_vehicle: van}\n"
        + "loadpoints:\n  garage: {charger: gen3}\n",
        "chargers.gen3.control_vehicle",
        "unknown vehicle 'van'",
    ),
    "a gen3 controlled through a vehicle that cannot be commanded": (
        _SITE
        + _REPLAY
        + "mqtt: {host: localhost}\nvehicles:\n  car: {type: teslamate}\n"
        + "chargers:\n  gen3: {type: twc3, url: http://127.0.0.1:9, control_vehicle: car}\n"
        + "loadpoints:\n  garage: {charger: gen3}\n",
        "chargers.gen3.control_vehicle",
        "cannot be commanded",
    ),
    "twcmanager_compat names an unknown loadpoint": (
        _SITE + _REPLAY + _SIM + "mqtt: {host: localhost, twcmanager_compat: {loadpoints: [garage, nope]}}\n",
        "mqtt.twcmanager_compat.loadpoints.1",
        "unknown loadpoint 'nope'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_config_check_refuses_what_start_up_refuses(case: str, tmp_path: Path) -> None:
    text, path, reason = BROKEN[case]
    file = tmp_path / "ecotrack.yaml"
    file.write_text(textwrap.dedent(text), encoding="utf-8")

    with pytest.raises(ConfigError) as exc:
        load_config(file, env={})
    found = [i for i in exc.value.issues if i.path == path]
    assert found, f"{path} not reported; got {exc.value}"
    assert reason in found[0].reason
    assert found[0].line is not None and found[0].file == str(file)
    assert str(found[0]).startswith(f"{file}:{found[0].line}: {path}: ")

    data: dict[str, Any] = yaml.safe_load(file.read_text(encoding="utf-8"))
    unchecked = config_model().model_validate(data, context={"skip_cross_check": True})
    with pytest.raises((ValueError, KeyError, OSError)):
        build_engine(unchecked, base_dir=tmp_path, data_dir=tmp_path / "data")


def test_reported_line_is_the_offending_key(tmp_path: Path) -> None:
    text, path, _ = BROKEN["two twcs pinned to one id"]
    file = tmp_path / "ecotrack.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(file, env={})
    issue = next(i for i in exc.value.issues if i.path == path)
    assert issue.line == text.splitlines().index('  b: {type: twc, port: /dev/ttyUSB0, twc_id: "0a0b"}') + 1


def test_a_trace_relative_to_the_config_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "sunny.csv").write_text(
        "timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,1000,200\n2024-06-21T10:01:00Z,1000,200\n"
    )
    file = tmp_path / "ecotrack.yaml"
    file.write_text(_SITE + "meters:\n  grid: {type: replay, trace: days/sunny.csv}\n" + _SIM)
    cfg = load_config(file, env={})
    build_engine(cfg, base_dir=tmp_path, data_dir=tmp_path / "data")


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_passes_the_check_and_builds(example: str, tmp_path: Path) -> None:
    path = EXAMPLES / example
    cfg = load_config(path, env={})
    engine = build_engine(cfg, base_dir=path.parent, data_dir=tmp_path)
    assert set(engine.chargers) == set(cfg.chargers) and set(engine.sources) == set(cfg.meters)


def test_the_demo_passes_the_check_and_builds(tmp_path: Path) -> None:
    cfg = demo_config(data_dir=tmp_path)
    engine = build_engine(cfg, data_dir=tmp_path)
    assert set(engine.chargers) == {"car"}
    with_twc = demo_config(data_dir=tmp_path, twc_port="/dev/null")
    assert set(build_engine(with_twc, data_dir=tmp_path).chargers) == {"car", "twc"}
