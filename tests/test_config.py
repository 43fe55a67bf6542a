"""Configuration loading: mapping to the core, cross-checks with lines, env overrides, schema."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from ecotrack.chargers.simulated_config import SimulatedChargerConfig
from ecotrack.config import ControlConfig, LoadpointConfig
from ecotrack.config_load import (
    ConfigError,
    ConfigIssue,
    config_json_schema,
    config_model,
    load_config,
    resolve_data_dir,
)
from ecotrack.core.model import LoadpointParams, Mode, PhaseSwitching, Tuning
from ecotrack.meters.replay_config import ReplayMeterConfig

VALID = """\
site:
  grid_meter: grid
  pv_meters: [pv]
  voltage_v: 230
  phases: 3
  residual_w: 100
  wiring_limit_a: 32
meters:
  grid:
    type: replay
    interval_s: 2
  pv:
    type: replay
    trace: days/sunny.csv
chargers:
  wb1:
    type: simulated
    max_a: 16
  wb2:
    type: simulated
loadpoints:
  garage:
    charger: wb1
    min_a: 6
    max_a: 16
    circuit: sub
    mode: minpv
    priority: 2
  carport:
    charger: wb2
    phases: 1
    step_a: 0.1
circuits:
  main:
    max_a: 35
  sub:
    max_a: 20
    parent: main
control:
  settle_s: 7
"""


def write(tmp_path: Path, text: str, name: str = "ecotrack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "days").mkdir(exist_ok=True)
    (tmp_path / "days" / "sunny.csv").touch()  # the trace VALID names: a missing trace is an error
    return path


def issues_of(path: Path, env: dict[str, str] | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={} if env is None else env)
    return exc.value.issues


def by_path(issues: list[ConfigIssue]) -> dict[str, ConfigIssue]:
    return {i.path: i for i in issues}


def test_valid_config_maps_to_site_params(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, VALID), env={})
    params = cfg.to_site_params()
    assert params.voltage_v == 230
    assert params.residual_w == 100
    assert params.wiring_limit_a == 32
    assert params.max_meter_age_s == 30
    garage, carport = params.loadpoints
    assert garage.name == "garage"
    assert garage.phases == 3  # from the site
    assert garage.mode is Mode.MINPV
    assert garage.circuit == "sub"
    assert garage.priority == 2
    assert carport.phases == 1
    assert carport.step_a == 0.1
    assert carport.min_a == LoadpointParams("x").min_a  # default from the core
    assert carport.enable_delay_s == LoadpointParams("x").enable_delay_s
    assert {c.name: (c.max_a, c.parent) for c in params.circuits} == {"main": (35, None), "sub": (20, "main")}
    assert params.tuning.settle_s == 7
    assert params.tuning.max_step_up_a == Tuning().max_step_up_a
    assert cfg.control.tick_s == 1.0
    # relative paths are relative to the config file
    pv = cfg.meters["pv"]
    assert isinstance(pv, ReplayMeterConfig)
    assert pv.trace == tmp_path / "days" / "sunny.csv"
    assert isinstance(cfg.chargers["wb2"], SimulatedChargerConfig)


def test_charger_max_is_passed_to_core(tmp_path: Path) -> None:
    params = load_config(write(tmp_path, VALID), env={}).to_site_params()
    assert [lp.charger_max_a for lp in params.loadpoints] == [16, 32]


def test_defaults_come_from_core() -> None:
    lp = LoadpointConfig(charger="c")
    core = LoadpointParams("x")
    for name in LoadpointConfig.model_fields:
        if name.startswith("phase_"):
            continue  # the 1p/3p switching timers, checked below
        if name not in {"charger", "phases", "vehicle", "profile"}:
            assert getattr(lp, name) == getattr(core, name), name
    timers = PhaseSwitching()
    assert lp.phase_up_delay_s == timers.up_delay_s
    assert lp.phase_down_delay_s == timers.down_delay_s
    assert lp.phase_switch_interval_s == timers.interval_s
    ctl = ControlConfig()
    for f in dataclasses.fields(Tuning):
        assert f.name in ControlConfig.model_fields, f"ControlConfig lacks Tuning.{f.name}"
        assert getattr(ctl, f.name) == getattr(Tuning(), f.name)
    assert ctl.to_tuning() == Tuning()


def test_demo_example_is_valid(demo_config_path: Path) -> None:
    cfg = load_config(demo_config_path, env={})
    assert cfg.loadpoints
    assert cfg.to_site_params().loadpoints[0].name in cfg.loadpoints


def test_no_loadpoints_is_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {grid_meter: g}
        meters: {g: {type: replay}}
        chargers: {}
        loadpoints: {}
        """,
    )
    assert load_config(path, env={}).to_site_params().loadpoints == ()


BROKEN = """\
site:
  grid_meter: nogrid
  pv_meters: [grid, nopv]
  battery_meter: nobat
  voltage_v: 50
meters:
  grid:
    type: replay
chargers:
  wb1:
    type: simulated
loadpoints:
  a:
    charger: wb1
    min_a: 10
    max_a: 8
    circuit: nocircuit
  b:
    charger: wb1
  c:
    charger: nocharger
    mode: turbo
    colour: red
circuits:
  x:
    max_a: 10
    parent: y
  y:
    max_a: 10
    parent: x
  z:
    max_a: 10
    parent: nowhere
"""


def test_every_error_with_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    issues = issues_of(path)
    found = by_path(issues)
    expected_lines = {
        "site.grid_meter": 2,
        "site.pv_meters.1": 3,
        "site.battery_meter": 4,
        "site.voltage_v": 5,
        "loadpoints.a.min_a": 15,
        "loadpoints.a.circuit": 17,
        "loadpoints.b.charger": 19,
        "loadpoints.c.charger": 21,
        "loadpoints.c.mode": 22,
        "loadpoints.c.colour": 23,
        "circuits.z.parent": 33,
    }
    for key, line in expected_lines.items():
        assert key in found, f"{key} not reported; got {sorted(found)}"
        assert found[key].line == line, (key, found[key])
        assert found[key].file == str(path)
    assert "nogrid" in found["site.grid_meter"].reason
    assert "already used by loadpoint 'a'" in found["loadpoints.b.charger"].reason
    assert "above max_a" in found["loadpoints.a.min_a"].reason
    assert "unknown setting" in found["loadpoints.c.colour"].reason
    cycles = [i for i in issues if "cycle" in i.reason]
    assert len(cycles) == 1
    assert cycles[0].path in {"circuits.x.parent", "circuits.y.parent"}
    assert "site.pv_meters.0" not in found
    # sorted by line; str() is FILE:LINE: path: reason
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)
    assert str(found["site.voltage_v"]).startswith(f"{path}:5: site.voltage_v: ")


def test_missing_sections_and_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site:
          voltage_v: 230
        meters:
          grid:
            interval_s: 2
          other:
            type: carrier_pigeon
        chargers:
          wb:
            type: simulated
            max_a: -3
        """,
    )
    found = by_path(issues_of(path))
    assert found["site.grid_meter"].line == 1
    assert "missing" in found["site.grid_meter"].reason
    assert found["meters.grid"].line == 4
    assert "type" in found["meters.grid"].reason
    assert found["meters.other"].line == 6
    assert "carrier_pigeon" in found["meters.other"].reason
    assert found["chargers.wb.max_a"].line == 11  # no union tag in the path
    assert "loadpoints" in found
    assert found["loadpoints"].line == 1


def test_nan_and_wrong_types_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {grid_meter: g, residual_w: .nan, phases: 2}
        meters: {g: {type: replay, start_time: "25:00", loop: maybe}}
        chargers: {}
        loadpoints: {}
        log_level: chatty
        """,
    )
    found = by_path(issues_of(path))
    assert {"site.residual_w", "site.phases", "meters.g.start_time", "meters.g.loop", "log_level"} <= set(
        found
    )


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("site:\n  grid_meter: g\n  voltage_v: [1, 2\nmeters: {}\n", 4, "syntax"),
        ("site:\n  grid_meter: 'g\n", 3, "syntax"),
        ("a: 1\n b: 2\n", 2, "syntax"),
    ],
)
def test_yaml_syntax_error_has_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    (issue,) = issues_of(write(tmp_path, text))
    assert issue.line is not None
    assert abs(issue.line - line) <= 1
    assert words in issue.reason.lower()


def test_empty_list_missing_files(tmp_path: Path) -> None:
    (empty,) = issues_of(write(tmp_path, "# nothing here\n"))
    assert "empty" in empty.reason
    (top,) = issues_of(write(tmp_path, "- a\n- b\n"))
    assert "mapping" in top.reason and "list" in top.reason
    (missing,) = issues_of(tmp_path / "nope.yaml")
    assert "not found" in missing.reason
    (directory,) = issues_of(tmp_path)
    assert "directory" in directory.reason


def test_duplicate_key_reported(tmp_path: Path) -> None:
    text = VALID.replace("  voltage_v: 230\n", "  voltage_v: 230\n  voltage_v: 240\n")
    (dup,) = issues_of(write(tmp_path, text))
    assert dup.path == "site.voltage_v"
    assert dup.line == 5
    assert "duplicate" in dup.reason


def test_env_overrides(tmp_path: Path) -> None:
    trace = tmp_path / "x.csv"
    trace.touch()
    path = write(tmp_path, VALID)
    cfg = load_config(
        path,
        env={
            "ECOTRACK__SITE__VOLTAGE_V": "240",
            "ECOTRACK__METERS__GRID__INTERVAL_S": "5",
            "ECOTRACK__METERS__GRID__TRACE": str(trace),
            "ECOTRACK__METERS__GRID__LOOP": "false",
            "ECOTRACK__site__wiring_limit_a": "null",
            "ECOTRACK__LOADPOINTS__GARAGE__PRIORITY": "7",
            "ECOTRACK__CONTROL__TICK_S": "0.5",
            "ECOTRACK__CIRCUITS__NEWFUSE__MAX_A": "63",
            "ECOTRACK_NOT_OURS": "ignored",
            "HOME": "/root",
        },
    )
    assert cfg.site.voltage_v == 240
    grid = cfg.meters["grid"]
    assert isinstance(grid, ReplayMeterConfig)
    assert grid.interval_s == 5
    assert grid.trace == trace
    assert grid.loop is False
    assert cfg.site.wiring_limit_a is None
    assert cfg.loadpoints["garage"].priority == 7
    assert isinstance(cfg.loadpoints["garage"].priority, int)
    assert cfg.control.tick_s == 0.5
    assert cfg.circuits["newfuse"].max_a == 63


def test_env_override_matches_user_key_case_insensitively(tmp_path: Path) -> None:
    text = VALID.replace("grid_meter: grid", "grid_meter: Grid_Main").replace("  grid:", "  Grid_Main:")
    path = write(tmp_path, text)
    cfg = load_config(path, env={"ECOTRACK__METERS__GRID_MAIN__INTERVAL_S": "9"})
    assert list(cfg.meters) == ["Grid_Main", "pv"]
    assert cfg.meters["Grid_Main"].interval_s == 9


def test_env_override_errors_name_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    issues = issues_of(
        path,
        env={
            "ECOTRACK__SITE__VOLTAGE": "240",
            "ECOTRACK__NOSUCH__PORT": "1884",
            "ECOTRACK__SITE__PHASES": "2",
            "ECOTRACK__SITE__VOLTAGE_V__X": "1",
        },
    )
    found = by_path(issues)
    assert found["site.voltage"].env_var == "ECOTRACK__SITE__VOLTAGE"
    assert found["site.voltage"].line is None
    assert "unknown setting" in found["site.voltage"].reason
    assert found["nosuch"].env_var == "ECOTRACK__NOSUCH__PORT"
    assert found["site.phases"].env_var == "ECOTRACK__SITE__PHASES"
    assert found["site.voltage_v"].env_var == "ECOTRACK__SITE__VOLTAGE_V__X"
    assert "ECOTRACK__NOSUCH__PORT" in str(found["nosuch"])


def test_env_var_creates_device_without_type(tmp_path: Path) -> None:
    found = by_path(issues_of(write(tmp_path, VALID), env={"ECOTRACK__METERS__EXTRA__INTERVAL_S": "3"}))
    assert found["meters.extra"].env_var == "ECOTRACK__METERS__EXTRA__INTERVAL_S"


def test_config_model_validate_runs_cross_checks() -> None:
    with pytest.raises(ValueError, match="unknown meter"):
        config_model().model_validate(
            {"site": {"grid_meter": "x"}, "meters": {}, "chargers": {}, "loadpoints": {}}
        )


def test_resolve_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write(tmp_path, VALID + "data_dir: store\n"), env={})
    assert cfg.data_dir == tmp_path / "store"
    assert resolve_data_dir(cfg, tmp_path / "cli") == tmp_path / "cli"
    assert (tmp_path / "cli").is_dir()
    assert resolve_data_dir(cfg, None) == tmp_path / "store"
    assert (tmp_path / "store").is_dir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default = resolve_data_dir(None, None)
    assert default.is_dir()
    assert default.name == "ecotrack"


def test_schema_is_json_with_loadpoint_fields() -> None:
    schema = json.loads(json.dumps(config_json_schema()))
    assert schema["$schema"].startswith("https://json-schema.org/")
    lp = schema["$defs"]["LoadpointConfig"]["properties"]
    for key in ("charger", "min_a", "max_a", "mode", "enable_delay_s", "disable_energy_wh", "step_a"):
        assert key in lp
        assert lp[key].get("description")
    assert set(schema["required"]) >= {"site", "meters", "chargers", "loadpoints"}


def test_empty_env_value_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    for value in ("", "  "):
        (issue,) = issues_of(path, env={"ECOTRACK__SITE__WIRING_LIMIT_A": value})
        assert issue.path == "site.wiring_limit_a"
        assert issue.env_var == "ECOTRACK__SITE__WIRING_LIMIT_A"
        assert "empty value; unset the variable or write null explicitly" in issue.reason
        assert "ECOTRACK__SITE__WIRING_LIMIT_A" in str(issue)
    # null written out still removes the limit
    cfg = load_config(path, env={"ECOTRACK__SITE__WIRING_LIMIT_A": "null"})
    assert cfg.site.wiring_limit_a is None


@pytest.mark.parametrize("word", ["off", "OFF", "on", "yes", "no", "y", "n"])
def test_env_words_are_not_yaml_11_booleans(tmp_path: Path, word: str) -> None:
    path = write(tmp_path, VALID)
    cfg = load_config(path, env={"ECOTRACK__LOADPOINTS__GARAGE__MODE": "off"})
    assert cfg.loadpoints["garage"].mode is Mode.OFF
    # on a bool field, pydantic reads the words in lax mode
    cfg = load_config(path, env={"ECOTRACK__METERS__GRID__LOOP": word})
    grid = cfg.meters["grid"]
    assert isinstance(grid, ReplayMeterConfig)
    assert grid.loop is (word.lower() in {"on", "yes", "y"})
    # a string field keeps the word, not True/False
    assert load_config(path, env={"ECOTRACK__LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_env_values_numbers_bools_null_strings_and_flow_collections(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    cfg = load_config(
        path,
        env={
            "ECOTRACK__SITE__PHASES": "3",  # Literal[1, 3] needs the number 3
            "ECOTRACK__SITE__RESIDUAL_W": "-1.5e2",
            "ECOTRACK__SITE__BATTERY_PRIORITY_SOC_PCT": "~",
            "ECOTRACK__SITE__PV_METERS": "[grid, pv]",
            "ECOTRACK__METERS__GRID__LOOP": "False",
            "ECOTRACK__METERS__GRID__START_TIME": "07:30",  # YAML 1.1 would make this 450
            "ECOTRACK__LOADPOINTS__CARPORT__STEP_A": "1",
            "ECOTRACK__CIRCUITS__EXTRA": "{max_a: 50, parent: main}",
        },
    )
    assert cfg.site.phases == 3
    assert cfg.site.residual_w == -150
    assert cfg.site.battery_priority_soc_pct is None
    assert cfg.site.pv_meters == ["grid", "pv"]
    grid = cfg.meters["grid"]
    assert isinstance(grid, ReplayMeterConfig)
    assert grid.loop is False
    assert grid.start_time == "07:30"
    assert cfg.loadpoints["carport"].step_a == 1.0
    assert cfg.circuits["extra"].max_a == 50 and cfg.circuits["extra"].parent == "main"


def test_env_value_with_a_yaml_comment_is_not_a_number(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    found = by_path(issues_of(path, env={"ECOTRACK__LOADPOINTS__GARAGE__MAX_A": "16 # A"}))
    issue = found["loadpoints.garage.max_a"]
    assert issue.env_var == "ECOTRACK__LOADPOINTS__GARAGE__MAX_A"
    assert "number" in issue.reason


def test_env_value_bad_flow_collection(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    (issue,) = issues_of(path, env={"ECOTRACK__SITE__PV_METERS": "[grid, pv"})
    assert issue.path == "site.pv_meters"
    assert issue.env_var == "ECOTRACK__SITE__PV_METERS"
    assert "YAML" in issue.reason


UNREACHABLE_MIN = """\
site:
  grid_meter: g
  wiring_limit_a: 9
meters:
  g: {type: replay}
chargers:
  small:
    type: simulated
    max_a: 8
  big:
    type: simulated
  spare:
    type: simulated
loadpoints:
  a:
    charger: small
    min_a: 10
    circuit: sub
  b:
    charger: big
    min_a: 6
    circuit: sub
  c:
    charger: spare
    min_a: 40
    max_a: 40
circuits:
  main:
    max_a: 7
  sub:
    max_a: 20
    parent: main
"""


def test_minimum_current_above_charger_circuit_or_wiring_limit(tmp_path: Path) -> None:
    path = write(tmp_path, UNREACHABLE_MIN)
    issues = issues_of(path)
    found: dict[str, list[ConfigIssue]] = {}
    for i in issues:
        found.setdefault(i.path, []).append(i)
    (a,) = found["loadpoints.a.min_a"]
    assert a.line == 17
    assert "charger 'small'" in a.reason and "8 A" in a.reason
    (c,) = found["loadpoints.c.min_a"]  # the simulated charger's default maximum is 32 A
    assert c.line == 25 and "32 A" in c.reason
    (main,) = found["circuits.main.max_a"]  # a is on sub, which is fed from main
    assert main.line == 29
    assert "'a'" in main.reason and "'b'" not in main.reason
    assert "circuits.sub.max_a" not in found
    (wiring,) = found["site.wiring_limit_a"]
    assert wiring.line == 3
    assert "'a'" in wiring.reason and "'c'" in wiring.reason and "'b'" not in wiring.reason
    assert set(found) == {
        "loadpoints.a.min_a",
        "loadpoints.c.min_a",
        "circuits.main.max_a",
        "site.wiring_limit_a",
    }
    with pytest.raises(ValueError, match="could never charge"):
        config_model().model_validate(yaml.safe_load(UNREACHABLE_MIN))


def test_minimum_checks_survive_cycles_and_junk(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {grid_meter: g, wiring_limit_a: many}
        meters: {g: {type: replay}}
        chargers: {c: {type: simulated, max_a: lots}, d: {type: teleporter, max_a: 1}}
        loadpoints:
          a: {charger: c, min_a: 10, circuit: x}
          b: {charger: d, min_a: 10, circuit: y}
        circuits:
          x: {max_a: 5, parent: y}
          y: {max_a: 50, parent: x}
        """,
    )
    found = by_path(issues_of(path))
    assert "cycle" in (found.get("circuits.x.parent") or found["circuits.y.parent"]).reason
    assert "could never charge" in found["circuits.x.max_a"].reason
    assert "loadpoints.a.min_a" not in found and "loadpoints.b.min_a" not in found


def test_planning_sections_must_name_existing_loadpoints(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        site: {grid_meter: grid}
        meters: {grid: {type: replay}}
        chargers: {car: {type: simulated}}
        loadpoints: {garage: {charger: car}}
        schedules:
          night: {start: "22:00", end: "06:00", loadpoints: [garage, garag]}
        plans:
          commute: {loadpoint: carport, energy_kwh: 20, by: "07:00"}
        rules:
          energy_limit_kwh: {garage: 10, shed: 5}
        """,
    )
    found = by_path(issues_of(path))
    assert set(found) == {
        "schedules.night.loadpoints.1",
        "plans.commute.loadpoint",
        "rules.energy_limit_kwh.shed",
    }
    assert "unknown loadpoint 'garag' (defined: garage)" in found["schedules.night.loadpoints.1"].reason
    assert found["plans.commute.loadpoint"].line == 8


@pytest.mark.parametrize(
    ("text", "line", "shows_on", "hint"),
    [
        ("a: 1\n" * 10 + "rules: [schedule, plan\nhttp: {port: 8080}\n", 11, 12, "'['"),
        ("a: 1\nsite: {grid_meter: grid\n\nmeters: {}\n", 2, 4, "'{'"),
        ('a: 1\nb: "abc\nc: 2\n', 2, 4, "quote"),
    ],
)
def test_an_unclosed_bracket_is_reported_on_the_line_where_it_opened(
    tmp_path: Path, text: str, line: int, shows_on: int, hint: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    (issue,) = issues_of(path)
    assert issue.line == line, issue
    assert f"on line {shows_on}" in issue.reason and hint in issue.reason, issue.reason


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{start_s: 8, ramp_a_per_s: 1.5}", None),
        ("{start_s: -1}", "control.car_follow: start_s must be between 0 and 120 s"),
        ("{ramp_a_per_s: 0}", "control.car_follow: ramp_a_per_s must be above 0"),
        ("{start: 8}", "control.car_follow.start: Unexpected keyword argument"),
    ],
)
def test_how_fast_the_car_follows_is_configurable_and_checked(
    tmp_path: Path, body: str, error: str | None
) -> None:
    text = (
        "site: {grid_meter: g}\nmeters: {g: {type: replay}}\nchargers: {}\nloadpoints: {}\n"
        f"control: {{car_follow: {body}}}\n"
    )
    path = write(tmp_path, text)
    if error is None:
        follow = load_config(path, env={}).control.to_tuning().car_follow
        assert (follow.start_s, follow.ramp_a_per_s, follow.dead_s) == (8.0, 1.5, 1.0)
        return
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    assert f"{path}:5: {error}" in str(exc.value)
