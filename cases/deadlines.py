"""Case deadlines and traffic lights in working time (docs/domain.md §5), on the working calendar of
worktime/clock.py.

- The case deadline is set at the first dispatch: dispatch time + the small class's disposal limit
  (urgent classes count calendar time: their units are calendar units).
- An approved extension adds its minutes of working time; a suspension adds the working time it
  lasted (the clock is paused), so the deadline = dispatch + limit + extensions + time suspended.
- Traffic light of a case on the clock: red once past the deadline; yellow once yellow_share() of the
  allowed working time is used; else green. Suspended cases keep the light they had when paused.
- A year without calendar data falls back to Monday–Friday (worktime): the event records the
  years, and the deadline is still computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backend import reference
from worktime import clock

WORK_MINUTES = "work_minutes"


def yellow_share() -> float:
    """The share of the allowed time after which a clock turns yellow (DeadlineRules, default 0.8);
    cached until a reference row changes (backend/reference.py)."""
    from cases.models import DeadlineRules

    return reference.cached("yellow-share", DeadlineRules.yellow)


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


def light(
    start: dt.datetime,
    deadline: dt.datetime,
    now: dt.datetime,
    *,
    urgent: bool = False,
    paused_minutes: float = 0.0,
) -> str:
    """red past the deadline; yellow once the yellow share of the allowed time is used; green."""
    if now > deadline:
        return "red"
    calendar, unit = clock.current_calendar(), "minutes" if urgent else WORK_MINUTES
    allowed = clock.elapsed(start, deadline, unit, calendar) - paused_minutes
    used = allowed - clock.elapsed(now, deadline, unit, calendar)
    return "yellow" if allowed <= 0 or used >= yellow_share() * allowed - 1e-6 else "green"


def traffic_light(case, now: dt.datetime) -> str | None:
    """The light of an open case: the disposal clock while handling or suspended (paused: the
    light it had when suspended), else the clock of the step it waits for; None when closed."""
    if case.status in ("handling", "suspended"):
        if case.deadline is None or case.dispatched_at is None:
            return None
        moment = case.suspended_since or now
        return light(
            case.dispatched_at,
            case.deadline,
            moment,
            urgent=case.urgent,
            paused_minutes=case.suspended_seconds / 60,
        )
    if case.step_deadline is None or case.step_started_at is None or not case.is_open:
        return None
    return light(case.step_started_at, case.step_deadline, now)
