"""The car's state of charge at the start and end of each session: tracked, stored, and old databases kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from ecotrack.runtime.sessions import SessionTracker
from ecotrack.services.store.db import Store
from ecotrack.services.store.migrations import LATEST, migrate
from ecotrack.services.store.records import SessionRecord

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_tracker_keeps_the_first_and_last_soc() -> None:
    tracker = SessionTracker("garage", "wall")
    (kind, s), = tracker.update(t_s=0, now=T0, connected=True, power_w=0, grid_w=0, soc_pct=None)
    assert kind == "start" and s.soc_start_pct is None
    for i, soc in enumerate((15.0, None, 40.0, 52.0), start=1):
        tracker.update(t_s=i, now=T0 + timedelta(seconds=i), connected=True, power_w=3000, grid_w=0, soc_pct=soc)
    (kind, ended), = tracker.update(t_s=9, now=T0 + timedelta(seconds=9), connected=False, power_w=0, grid_w=0)
    assert kind == "end" and (ended.soc_start_pct, ended.soc_end_pct) == (15.0, 52.0)


def test_a_version_2_database_is_migrated_and_keeps_its_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    engine = sa.create_engine(url)
    migrate(engine, target=2)
    with engine.begin() as conn:  # a session written by the previous release
        conn.execute(
            sa.text(
                "INSERT INTO sessions (id, loadpoint, charger, started, energy_wh, solar_wh, grid_wh, max_power_w) "
                "VALUES ('old', 'garage', 'wall', '2026-05-01 10:00:00.000000', 1000, 500, 500, 3000)"
            )
        )
    engine.dispose()
    store = Store(url)
    try:
        old = store.session("old")
        assert old is not None and old.energy_wh == 1000 and old.soc_start_pct is None
        store.put_session(
            SessionRecord(id="new", loadpoint="garage", charger="wall", started=T0, soc_start_pct=21.5, soc_end_pct=80.0)
        )
        new = store.session("new")
        assert new is not None and (new.soc_start_pct, new.soc_end_pct) == (21.5, 80.0)
        assert new.as_json()["soc_end_pct"] == 80.0
        assert new.to_session().soc_start_pct == 21.5
    finally:
        store.close()
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() == LATEST
