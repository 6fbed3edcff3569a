"""Our clock against the clocks of the systems we observe (Kubernetes, ARM). Pure; `now` passed in.

Durations we act on are measured on our own clock, from when *we* first observed a state. The other
side's timestamps (a Node's Ready lastTransitionTime and creationTimestamp, a VM's timeCreated) are
used for one thing only: their clock read at least that much when they wrote them. So a timestamp
ahead of our `now` by more than the bound proves the clocks disagree (ours is behind theirs), and the
tick refuses to act until they agree again. A clock of ours that is ahead cannot be seen this way, and
needs not be: it moves our own first-observed times and `now` alike, so no duration grows.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

MAX_SKEW = timedelta(minutes=2)


def behind(now: datetime, stamps: Iterable[datetime | None], whose: str, bound: timedelta = MAX_SKEW) -> str | None:
    """Why our clock cannot be trusted against `whose` clock, or None when they agree within `bound`."""
    latest = max((s for s in stamps if s is not None), default=None)
    if latest is None or latest - now <= bound:
        return None
    return (f"clocks disagree: {whose} wrote {latest.isoformat()}, {_minutes(latest - now)} ahead of our clock "
            f"({now.isoformat()}); acting on nothing until they agree within {_minutes(bound)}")


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
