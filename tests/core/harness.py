"""A fake site for controller tests: explicit parameters and cars that do what they are told.

Nothing here relies on the default hysteresis values of ``LoadpointParams`` or ``Tuning`` (they are
tuned in the simulator and change); every test states the numbers it depends on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecotrack.core.control import Controller
from ecotrack.core.follow import FollowModel
from ecotrack.core.model import (
    ChargerReading,
    Decision,
    LoadpointParams,
    Mode,
    SiteParams,
    SiteReading,
    Tuning,
)

V = 230.0
MIN_W = 6 * V  # 6 A on one phase


#: Newer hysteresis knobs, set to their neutral value when this version of the core has them.
_NEUTRAL_LP = {
    "enable_energy_wh": None,
    "restart_penalty_s": 0.0,
    "restart_window_s": 1800.0,
    "disable_solar_credit": 0.0,
}
_NEUTRAL_TUNING = {
    "deficit_payback": 1.0,
    # A car that starts 5 s after an offer, follows a raise after 1 s at 3 A/s and a cut within 5 s.
    "car_follow": FollowModel(start_s=5.0, dead_s=1.0, ramp_a_per_s=3.0, cut_s=5.0),
}


def known_fields(fields: dict[str, object], cls: type) -> dict[str, object]:
    return {k: v for k, v in fields.items() if k in cls.__dataclass_fields__}  # type: ignore[attr-defined]


def lp(name: str = "car", **kw: object) -> LoadpointParams:
    """A loadpoint with every parameter spelled out (override what a test is about)."""
    base: dict[str, object] = {
        **known_fields(_NEUTRAL_LP, LoadpointParams),
        "min_a": 6.0,
        "max_a": 16.0,
        "phases": 1,
        "priority": 0,
        "charger_max_a": None,
        "circuit": None,
        "mode": Mode.PV,
        "step_a": 1.0,
        "enable_threshold_w": 0.0,
        "enable_delay_s": 0.0,
        "disable_threshold_w": 0.0,
        "disable_delay_s": 3600.0,
        "disable_energy_wh": 10_000.0,
    }
    base.update(kw)
    return LoadpointParams(name=name, **base)  # type: ignore[arg-type]


def tuning(**kw: object) -> Tuning:
    base: dict[str, object] = {
        "settle_s": 10.0,
        "follow_tolerance_a": 1.0,
        "max_step_up_a": 32.0,
        "round_up_fraction": 1.0,
        **known_fields(_NEUTRAL_TUNING, Tuning),
    }
    base.update(kw)
    return Tuning(**base)  # type: ignore[arg-type]


def site(*lps: LoadpointParams, **kw: object) -> SiteParams:
    base: dict[str, object] = {
        "voltage_v": V,
        "residual_w": 0.0,
        "max_meter_age_s": 30.0,
        # Most tests report a charger once and step for minutes; expiry has its own tests.
        "max_charger_age_s": 1e9,
        "wiring_limit_a": None,
        "battery_priority_soc_pct": None,
        "tuning": tuning(),
    }
    base.update(kw)
    return SiteParams(loadpoints=lps or (lp(),), **base)  # type: ignore[arg-type]


@dataclass
class FakeSite:
    """Cars that draw ``min(offer, car_max_a)`` at once, and a grid meter that sees them.

    ``house_surplus_w`` passed to :meth:`reading` is PV minus house load (what would be exported with
    no car); the grid reading is ``-house_surplus_w + car power``.
    """

    params: SiteParams
    car_max_a: dict[str, float] = field(default_factory=dict)
    controller: Controller = field(init=False)
    offered: dict[str, float] = field(init=False)
    drawn: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.controller = Controller(self.params)
        self.offered = {p.name: 0.0 for p in self.params.loadpoints}
        self.drawn = dict.fromkeys(self.offered, 0.0)

    def connect(self, t: float, *names: str) -> None:
        for name in names or tuple(self.offered):
            self.controller.on_charger_reading(name, ChargerReading(t_s=t, connected=True, charging=False))

    def report_chargers(self, t: float) -> None:
        for p in self.params.loadpoints:
            self.drawn[p.name] = min(self.offered[p.name], self.car_max_a.get(p.name, 1000.0))
            self.controller.on_charger_reading(
                p.name,
                ChargerReading(
                    t_s=t, connected=True, charging=self.drawn[p.name] > 0, actual_a=self.drawn[p.name]
                ),
            )

    def ev_w(self) -> float:
        return sum(self.drawn[p.name] * p.phases * V for p in self.params.loadpoints)

    def reading(self, t: float, house_surplus_w: float, **extra: float | None) -> Decision:
        """Chargers report, the meter reads, the controller steps at ``t``; cars follow the new offer."""
        self.report_chargers(t)
        grid = -house_surplus_w + self.ev_w()
        self.controller.on_site_reading(SiteReading(t_s=t, grid_w=grid, **extra))  # type: ignore[arg-type]
        return self.step(t)

    def step(self, t: float) -> Decision:
        d = self.controller.step(t)
        for lpd in d.loadpoints:
            self.offered[lpd.name] = lpd.current_a
        return d

    def run(
        self, t0: float, t1: float, every_s: float, house_surplus_w: float
    ) -> list[tuple[float, Decision]]:
        """Readings from ``t0`` (inclusive) to ``t1`` (exclusive) every ``every_s``; the decisions."""
        out = []
        t = t0
        while t < t1 - 1e-9:
            out.append((t, self.reading(t, house_surplus_w)))
            t += every_s
        return out


def one_step(
    params: SiteParams, grid_w: float, *, charger: ChargerReading | None = None, **extra: float | None
) -> Decision:
    """A fresh controller, one charger report (idle car by default), one reading, one step at t=0."""
    c = Controller(params)
    for p in params.loadpoints:
        c.on_charger_reading(p.name, charger or ChargerReading(t_s=0.0, connected=True, charging=False))
    c.on_site_reading(SiteReading(t_s=0.0, grid_w=grid_w, **extra))  # type: ignore[arg-type]
    return c.step(0.0)
