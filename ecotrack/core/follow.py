"""The car's draw at the time of a meter reading, when the charger's report may be older than the reading.

The surplus is ``-grid + what the cars draw``. The grid meter and the charger report on their own clocks:
a Prism publishes about once a second, a TWC answers in its heartbeat slot, OCPP sends MeterValues every
10 s or so. So right after a raise the meter already shows the car's new draw while the report still
shows the old one, and ``-grid + reported`` reads low by the difference: a phantom deficit that makes a
controller cut, raise again on the next reading and cut again (measured in ``docs/benchmarks.md``: a 1-s
lag cost ecotrack ~5 % of the solar it took). Right after a cut it is the other way round: the report
still shows the old, higher draw and the surplus reads high.

Neither the report nor the meter says how old the report is, but the controller knows what it commanded
and when, and a car follows a command in a known way (IEC 61851: it answers a changed pilot within
seconds). So:

* **after a raise** the car is assumed to draw at least what a car following the command would draw by
  then (:func:`following_a`: a start delay from a pause, then a dead time and a ramp), never more than the
  command, and never less than its report; once the report shows the car followed, or ``settle_s`` passed
  without it (a car capped below the offer, a full battery), the report alone counts again — which keeps
  the no-wind-up property: a car that takes less than offered cannot make the offer climb;
* **after a cut** the report counts until a car must have followed the cut (``cut_follow_s``; IEC 61851
  gives a car 5 s), then no more than the command.

The estimate only ever feeds the surplus. Limits never see it: the safety clamp works on commanded and
possible currents.

Pure: plain numbers in, amps out.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FollowModel", "estimated_draw_a", "following_a", "learned_report_delay_s"]


@dataclass(frozen=True, slots=True)
class FollowModel:
    """How fast a car follows its charger's offer (defaults: the simulated car, ``ecotrack/world/car.py``)."""

    #: Seconds from an offer after a pause until current flows.
    start_s: float = 5.0
    #: Seconds from a raised offer until a charging car starts to follow it.
    dead_s: float = 1.0
    #: How fast a charging car raises its draw (A/s).
    ramp_a_per_s: float = 3.0
    #: Seconds within which a car has carried out a cut (IEC 61851-1 allows 5 s).
    cut_s: float = 5.0


def following_a(
    *, before_a: float, command_a: float, min_a: float, since_s: float, model: FollowModel
) -> float:
    """What a car drawing ``before_a`` draws ``since_s`` after being offered a higher ``command_a``.

    From a pause (``before_a`` 0) nothing flows for ``model.start_s``, then the car draws ``min_a`` (at
    most the command) and ramps from there; a charging car waits ``model.dead_s`` and ramps.
    """
    if command_a <= before_a:
        return command_a
    if before_a <= 0.0:
        if since_s < model.start_s:
            return 0.0
        base, ramp_s = min(min_a, command_a), since_s - model.start_s
    else:
        base, ramp_s = before_a, since_s - model.dead_s
    return min(command_a, base + model.ramp_a_per_s * max(ramp_s, 0.0))


def estimated_draw_a(
    *,
    reported_a: float,
    previous_a: float,
    command_a: float,
    from_a: float,
    since_from_s: float,
    since_command_s: float,
    min_a: float,
    window_s: float,
    tolerance_a: float,
    model: FollowModel,
) -> float:
    """The car's draw at a meter reading, given its report and the commands before the reading.

    ``command_a`` is the command in force, given ``since_command_s`` before the reading; ``previous_a``
    the one before it. ``from_a`` is what the car drew when it was last seen following its command, and
    ``since_from_s`` how long before the reading it was asked for more than that (the car ramps from
    there, through later raises and cuts, towards the command). ``window_s`` is how long a charger gets
    to report that it followed; ``reported_a`` what its latest report says. See the module for when the
    report is overridden.
    """
    if command_a > from_a:
        if reported_a >= command_a - tolerance_a or since_from_s >= window_s:
            return reported_a
        expected = following_a(
            before_a=from_a, command_a=command_a, min_a=min_a, since_s=since_from_s, model=model
        )
        return max(reported_a, expected)
    if command_a < previous_a and since_command_s >= model.cut_s:
        return min(reported_a, command_a)
    return reported_a


#: How many recent cuts the report delay is learned from, and the most it may add to ``settle_s`` (s).
REPORT_DELAY_CUTS = 5
MAX_REPORT_DELAY_S = 60.0


def learned_report_delay_s(delays_s: tuple[float, ...]) -> float:
    """How much older than the meter a charger's reports run, from how long recent cuts took to show.

    A car carries out a cut within a second or two, so a report that still shows the draw from before a
    cut some seconds after it says the reports run at least that late (a Prism or a TWC: 0-2 s; an OCPP
    charger sending MeterValues every 10 s: up to 10 s). ``delays_s`` holds, per recent cut, the longest
    such time (0 when the first report after the cut already showed it). The largest of the last
    :data:`REPORT_DELAY_CUTS` counts (a window too long costs little; one too short brings the phantom
    deficit back), capped at :data:`MAX_REPORT_DELAY_S`. The controller waits this much longer than
    ``settle_s`` for a charger to show that it followed.
    """
    recent = [d for d in delays_s[-REPORT_DELAY_CUTS:] if d == d and d > 0.0]
    return min(max(recent, default=0.0), MAX_REPORT_DELAY_S)
