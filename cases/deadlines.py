"""Case deadlines and traffic lights in working time (DOMAIN.md §5), on the working calendar of
worktime/clock.py.

- The case deadline is set at the first dispatch: dispatch time + the small class's disposal limit
  (urgent classes count calendar time: their units are calendar units).
- An approved extension adds its minutes of working time; a suspension adds the working time it
  lasted (the clock is paused), so the deadline = dispatch + limit + extensions + time suspended.
- Traffic light of a case on the clock: red once past the deadline; yellow once YELLOW_AT of the
  allowed working time is used; else green. Suspended cases keep the light they had when paused.
- A year without calendar data falls back to Monday–Friday (worktime): the event records the
  years, and the deadline is still computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from worktime import clock

YELLOW_AT = 0.8  # share of the allowed time after which an open case turns yellow
WORK_MINUTES = "work_minutes"


@dataclass(frozen=True)
class Computed:
    at: dt.datetime
    fallback_years: tuple[int, ...] = ()


def add_limit(start: dt.datetime, *, limit: int, unit: str) -> Computed:
    """The moment `limit` `unit`s after `start` on the working calendar."""
    found = clock.deadline(start, limit, unit, clock.current_calendar())
    return Computed(found.at, found.fallback_years)


def add_working_minutes(moment: dt.datetime, minutes: int) -> Computed:
    return add_limit(moment, limit=max(int(minutes), 0), unit=WORK_MINUTES)


def working_minutes(start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes between two moments (0 if end ≤ start)."""
    if end <= start:
        return 0.0
    return clock.elapsed(start, end, WORK_MINUTES, clock.current_calendar())


def _time_unit(case) -> str:
    return "minutes" if case.urgent else WORK_MINUTES


def traffic_light(case, now: dt.datetime) -> str | None:
    """green / yellow / red for a case on the clock (handling or suspended); None otherwise."""
    if case.deadline is None or case.dispatched_at is None or case.status not in ("handling", "suspended"):
        return None
    if case.suspended_since is not None:
        now = case.suspended_since  # the clock is paused
    if now > case.deadline:
        return "red"
    calendar, unit = clock.current_calendar(), _time_unit(case)
    allowed = clock.elapsed(case.dispatched_at, case.deadline, unit, calendar) - case.suspended_seconds / 60
    remaining = clock.elapsed(now, case.deadline, unit, calendar)
    if allowed <= 0:
        return "yellow"
    used = allowed - remaining
    return "yellow" if used >= YELLOW_AT * allowed - 1e-6 else "green"
