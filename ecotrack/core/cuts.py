"""Cut before raise: a raise waits until the loadpoints sharing a limit have carried out their cuts.

The core's commands respect every circuit and the wiring limit *as a set*. Sent one by one, a raise that
goes out while another charger still delivers its old, higher current would exceed a shared limit for a
moment. So a loadpoint may be raised only when every loadpoint sharing a circuit or the wiring limit with
it has

1. been *delivered* a command no higher than what it is now given (the last command a charger
   acknowledged counts, even across a driver restart: what a charger did before it went away is what it
   may still be doing), and
2. no longer *reports* offering more than that (chargers that step down in stages, or echo the offer a
   heartbeat later) — this second condition alone may be waived after a timeout by the caller, so a
   charger that ignores its cut cannot starve the others forever; the first never is.

Pure: the caller passes the currents; time is not needed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ecotrack.core.safety import Limits

__all__ = ["PendingCut", "pending_cuts", "sharing"]

#: A reported offer this far above the command (A) still counts as not carried out (reports are rounded).
OFFER_TOLERANCE_A = 0.5


def sharing(limits: Limits) -> dict[str, tuple[str, ...]]:
    """Per loadpoint, the other loadpoints that share a circuit or the wiring limit with it."""
    names = [lp.name for lp in limits.order]
    return {
        lp: tuple(
            other
            for other in names
            if other != lp
            and (limits.wiring_limit_a is not None or bool(set(limits.chain[lp]) & set(limits.chain[other])))
        )
        for lp in names
    }


class PendingCut:
    """Why one loadpoint is still in the way of a raise: ``unsent`` (condition 1) or only ``unconfirmed``."""

    __slots__ = ("loadpoint", "unsent")

    def __init__(self, loadpoint: str, unsent: bool) -> None:
        self.loadpoint = loadpoint
        self.unsent = unsent

    def __repr__(self) -> str:
        return f"PendingCut({self.loadpoint!r}, unsent={self.unsent})"


def pending_cuts(
    loadpoint: str,
    sharing_with: Mapping[str, tuple[str, ...]],
    desired_a: Mapping[str, float],
    delivered_a: Mapping[str, float | None],
    offered_a: Mapping[str, float | None],
) -> list[PendingCut]:
    """The loadpoints sharing a limit with ``loadpoint`` whose cut is not carried out yet (see the module).

    ``delivered_a`` holds the last command each charger acknowledged (None: never commanded);
    ``offered_a`` what an online charger reports offering (None: it does not say, or is offline).
    """
    pending = []
    for other in sharing_with.get(loadpoint, ()):
        want = desired_a.get(other, 0.0)
        delivered = delivered_a.get(other)
        offered = offered_a.get(other)
        if delivered is not None and delivered > want + 1e-9:
            pending.append(PendingCut(other, unsent=True))
        elif offered is not None and math.isfinite(offered) and offered > want + OFFER_TOLERANCE_A:
            pending.append(PendingCut(other, unsent=False))
    return pending
