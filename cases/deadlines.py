"""Case deadlines (DOMAIN.md §5).

For now every unit counts calendar time: 1 工作时 = 1 hour, 1 工作日 = 24 hours, as issue #3 asks
until the working calendar (issue #4) replaces this module's arithmetic. Callers only use
`add_limit()` and `limit_minutes()`, so that change stays here.
"""

from __future__ import annotations

import datetime as dt

from cases.models import LimitUnit

MINUTES_PER_UNIT = {
    LimitUnit.MINUTES: 1,
    LimitUnit.WORK_HOURS: 60,
    LimitUnit.WORK_DAYS: 24 * 60,
    LimitUnit.CALENDAR_HOURS: 60,
    LimitUnit.CALENDAR_DAYS: 24 * 60,
}


def limit_minutes(limit: int, unit: str) -> int:
    return limit * MINUTES_PER_UNIT[unit]


def add_limit(start: dt.datetime, *, limit: int, unit: str) -> dt.datetime:
    """The moment `limit` `unit`s after `start`."""
    return start + dt.timedelta(minutes=limit_minutes(limit, unit))


YELLOW_AT = 0.8  # share of the allowed time after which an open case turns yellow (DOMAIN §5)


def traffic_light(case, now: dt.datetime) -> str | None:
    """green / yellow / red for a case on the clock (handling or suspended); None otherwise."""
    if case.deadline is None or case.dispatched_at is None or case.status not in ("handling", "suspended"):
        return None
    if case.suspended_since is not None:
        now = case.suspended_since  # the clock is paused
    if now > case.deadline:
        return "red"
    allowed = (case.deadline - case.dispatched_at).total_seconds() - case.suspended_seconds
    elapsed = (now - case.dispatched_at).total_seconds() - case.suspended_seconds
    return "yellow" if allowed > 0 and elapsed >= YELLOW_AT * allowed else "green"
