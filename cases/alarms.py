"""Deadline alarms (DOMAIN.md §5, §9): raise each yellow and red once per case and step clock.

`sweep(now)` is the scheduler's job (backend/scheduler.py, every 30 s by default). It looks at
the cases on a clock, computes their light, and for each yellow or red not raised before inserts a
`CaseAlarm` (unique per case, step, clock start and level: a second scheduler, or a second sweep,
inserts nothing) and stores the alerts in the same transaction, which the relay then pushes.
A case found already red that never had its yellow gets both, yellow first.

Recipients: the disposal clock → the handling unit's members and the area's dispatchers (DOMAIN
§9); the other step clocks → the people who must take that step (acceptors, officers of the grid,
shift leaders or dispatchers of the area).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import outbox
from alerts.models import Kind
from cases.deadlines import light, traffic_light
from cases.models import Case, CaseAlarm, Step
from people.models import Role
from worktime.clock import calendar_pinned

LEVELS = ("yellow", "red")
STEP_ROLE = {Step.ACCEPT: Role.ACCEPTOR, Step.REGISTER: Role.SHIFT_LEADER, Step.DISPATCH: Role.DISPATCHER,
             Step.CLOSE: Role.SHIFT_LEADER}


def sweep(now: dt.datetime | None = None) -> list[CaseAlarm]:
    """Raise the alarms due at `now`; return those raised by this call."""
    now = now or timezone.now()
    raised: list[CaseAlarm] = []
    on_clock = Case.objects.select_related("grid", "unit", "category")
    with calendar_pinned():  # one calendar check per sweep, not two queries per open case
        for case in on_clock.filter(status="handling", deadline__isnull=False, dispatched_at__isnull=False):
            raised += _raise_up_to(case, Step.DISPOSE, case.dispatched_at, traffic_light(case, now), now)
        stepping = on_clock.open().exclude(status__in=["handling", "suspended"]).filter(step_deadline__isnull=False)
        for case in stepping:
            level = light(case.step_started_at, case.step_deadline, now)
            raised += _raise_up_to(case, _step_of(case), case.step_started_at, level, now)
    return raised


def _step_of(case: Case) -> str:
    from cases.models import STEP_OF_STATUS

    return STEP_OF_STATUS[case.status]


def _raise_up_to(case: Case, step: str, started_at: dt.datetime, level: str | None, now) -> list[CaseAlarm]:
    if level not in LEVELS:
        return []
    wanted = LEVELS[: LEVELS.index(level) + 1]
    return [alarm for lvl in wanted if (alarm := _raise(case, step, started_at, lvl, now))]


def _raise(case: Case, step: str, started_at: dt.datetime, level: str, now) -> CaseAlarm | None:
    try:
        with transaction.atomic():
            alarm = CaseAlarm.objects.create(case=case, step=step, started_at=started_at, level=level, raised_at=now)
            kind = Kind.OVERDUE if level == "red" else Kind.DEADLINE_WARNING
            outbox.notify(_recipients(case, step), kind, case=case, at=now, extra={"step": step})
            return alarm
    except IntegrityError:
        return None  # raised before (this sweep's twin, or another scheduler)


def _recipients(case: Case, step: str) -> list:
    if step == Step.DISPOSE:
        return list(outbox.unit_members(case)) + list(outbox.area_members(case, Role.DISPATCHER))
    if step in (Step.VERIFY, Step.CHECK):
        return list(outbox.grid_officers(case))
    return list(outbox.area_members(case, STEP_ROLE[step]))
