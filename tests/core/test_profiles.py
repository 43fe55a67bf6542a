"""Charging profiles (ecotrack.core.profiles) and the ``profile`` key of a loadpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecotrack.config_load import load_config
from ecotrack.core.model import LoadpointParams
from ecotrack.core.profiles import DEFAULT_PROFILE, PROFILES, apply_profile

CONFIG = """\
site:
  grid_meter: grid
meters:
  grid:
    type: replay
chargers:
  wb:
    type: simulated
  wb2:
    type: simulated
  wb3:
    type: simulated
loadpoints:
  plain:
    charger: wb
  thrifty:
    charger: wb2
    profile: no-grid
  gentle:
    charger: wb3
    profile: fewer-starts
    enable_delay_s: 90
"""


def test_balanced_is_the_default_and_the_core_defaults() -> None:
    assert DEFAULT_PROFILE == "balanced"
    base = LoadpointParams("x")
    assert apply_profile(base, "balanced") == base


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_profile_sets_its_fields_unless_the_user_did(name: str) -> None:
    base = LoadpointParams("x")
    chosen = apply_profile(base, name)
    for key, value in PROFILES[name].items():
        assert getattr(chosen, key) == value
    kept = apply_profile(base, name, frozenset(PROFILES[name]))
    assert kept == base


def test_the_profiles_order_grid_against_starts() -> None:
    no_grid, balanced, fewer = (
        apply_profile(LoadpointParams("x"), n) for n in ("no-grid", "balanced", "fewer-starts")
    )
    assert no_grid.disable_energy_wh <= balanced.disable_energy_wh < fewer.disable_energy_wh
    assert fewer.enable_energy_wh is None  # every start waits the full enable delay


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="no-grid"):
        apply_profile(LoadpointParams("x"), "eco")


def test_config_key_picks_a_profile_and_explicit_keys_win(tmp_path: Path) -> None:
    path = tmp_path / "ecotrack.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    params = {lp.name: lp for lp in load_config(path, env={}).to_site_params().loadpoints}
    assert params["plain"] == apply_profile(params["plain"], "balanced")
    assert params["thrifty"].disable_energy_wh == PROFILES["no-grid"]["disable_energy_wh"]
    assert params["gentle"].disable_energy_wh == PROFILES["fewer-starts"]["disable_energy_wh"]
    assert params["gentle"].enable_delay_s == 90  # written in the file: wins over the profile


def test_unknown_profile_in_config_is_an_error_with_path(tmp_path: Path) -> None:
    path = tmp_path / "ecotrack.yaml"
    path.write_text(CONFIG.replace("profile: no-grid", "profile: eco"), encoding="utf-8")
    from ecotrack.config_load import ConfigError

    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "loadpoints.thrifty.profile" in str(err.value) or any(
        "loadpoints.thrifty.profile" in str(i) for i in err.value.issues
    )


def test_the_config_knows_every_profile() -> None:
    from typing import get_args

    from ecotrack.core.profiles import ProfileName

    assert set(get_args(ProfileName)) == set(PROFILES)
