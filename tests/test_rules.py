"""The rule list: order, expiry, energy limit, a failing rule is skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecotrack.core.model import Mode
from ecotrack.runtime.rules import (
    ChargeNow,
    ChargeNowRule,
    EnergyLimitRule,
    ManualRule,
    RuleContext,
    RuleOutcome,
    default_rules,
    evaluate,
)
from ecotrack.runtime.sessions import Session

NOW = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def ctx(**kw: object) -> RuleContext:
    base: dict[str, object] = {"loadpoint": "garage", "now": NOW, "user_mode": Mode.PV}
    base.update(kw)
    return RuleContext(**base)  # type: ignore[arg-type]


def session(energy_wh: float) -> Session:
    return Session(id="s", loadpoint="garage", charger="car", started=NOW, energy_wh=energy_wh)


def test_manual_is_the_users_mode() -> None:
    assert evaluate(default_rules(), ctx(user_mode=Mode.MINPV)) == RuleOutcome(Mode.MINPV, rule="manual")


def test_charge_now_wins_over_the_user_until_it_expires() -> None:
    request = ChargeNow(started=NOW, amps=10, until=NOW + timedelta(hours=1))
    assert evaluate(default_rules(), ctx(charge_now=request)) == RuleOutcome(Mode.NOW, 10, "charge-now")
    later = ctx(charge_now=request, now=NOW + timedelta(hours=1))
    assert evaluate(default_rules(), later).rule == "manual"


def test_energy_limit_outranks_charge_now() -> None:
    request = ChargeNow(started=NOW)
    reached = ctx(charge_now=request, session=session(5000), energy_limit_wh=5000)
    assert evaluate(default_rules(), reached) == RuleOutcome(Mode.OFF, rule="energy-limit")
    below = ctx(charge_now=request, session=session(4999), energy_limit_wh=5000)
    assert evaluate(default_rules(), below).rule == "charge-now"
    assert EnergyLimitRule().evaluate(ctx(energy_limit_wh=5000)) is None  # no session: nothing to limit


class Broken:
    name = "broken"

    def evaluate(self, ctx: RuleContext) -> RuleOutcome | None:
        raise RuntimeError("bug")


def test_a_failing_rule_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    outcome = evaluate([Broken(), ChargeNowRule(), ManualRule()], ctx(user_mode=Mode.OFF))
    assert outcome == RuleOutcome(Mode.OFF, rule="manual")
    assert "rule broken failed" in caplog.text


def test_every_rule_passing_falls_back_to_the_user() -> None:
    assert evaluate([], ctx(user_mode=Mode.NOW)) == RuleOutcome(Mode.NOW, rule="manual")
