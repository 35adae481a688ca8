"""Deadline alarms (docs/domain.md §5, §9): raise each yellow and red once per case and step clock.

`sweep(now)` is the scheduler's job (backend/scheduler.py, every 30 s by default). It looks at
the cases on a clock, computes their light, and for each yellow or red not raised before inserts a
`CaseAlarm` (unique per case, step, clock start and level: a second scheduler, or a second sweep,
inserts nothing) and stores the alerts in the same transaction, which the relay then pushes.
A case found already red that never had its yellow gets both, yellow first.

Recipients: the disposal clock → the handling unit's members and the area's dispatchers (docs/domain.md
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
BATCH = 50  # alarms per transaction
STEP_ROLE = {
    Step.ACCEPT: Role.ACCEPTOR,
    Step.REGISTER: Role.SHIFT_LEADER,
    Step.DISPATCH: Role.DISPATCHER,
    Step.CLOSE: Role.SHIFT_LEADER,
}


def sweep(now: dt.datetime | None = None) -> list[CaseAlarm]:
    """Raise the alarms due at `now`; return those raised by this call.

    Reads first (the lights, and the alarms raised before, in one query per 500 cases), then
    writes only the new alarms, BATCH per transaction: on SQLite every write transaction of the
    process queues for one gate (docs/reliability.md, "Writers of the embedded process"), so a
    sweep takes its turn once per batch, not once per open case on a clock.
    """
    now = now or timezone.now()
    wanted: list[tuple[Case, str, dt.datetime, str]] = []
    on_clock = Case.objects.select_related("grid", "unit", "category").defer("grid__geometry")
    with calendar_pinned():  # one calendar check per sweep, not two queries per open case
        for case in on_clock.filter(
            status="handling", deadline__isnull=False, dispatched_at__isnull=False
        ):
            wanted += _levels(case, Step.DISPOSE, case.dispatched_at, traffic_light(case, now))
        stepping = (
            on_clock.open()
            .exclude(status__in=["handling", "suspended"])
            .filter(step_deadline__isnull=False)
        )
        for case in stepping:
            level = light(case.step_started_at, case.step_deadline, now)
            wanted += _levels(case, _step_of(case), case.step_started_at, level)
    before = _raised_before(sorted({case.pk for case, *_ in wanted}))
    new = [alarm for alarm in wanted if (alarm[0].pk, *alarm[1:]) not in before]
    raised: list[CaseAlarm] = []
    for start in range(0, len(new), BATCH):
        with transaction.atomic():
            raised += [
                alarm for args in new[start : start + BATCH] if (alarm := _raise(*args, now))
            ]
    return raised


def _raised_before(case_ids: list[int]) -> set[tuple]:
    found: set[tuple] = set()
    for start in range(0, len(case_ids), 500):
        found.update(
            CaseAlarm.objects.filter(case_id__in=case_ids[start : start + 500]).values_list(
                "case_id", "step", "started_at", "level"
            )
        )
    return found


def _step_of(case: Case) -> str:
    from cases.models import STEP_OF_STATUS

    return STEP_OF_STATUS[case.status]


def _levels(case: Case, step: str, started_at: dt.datetime, level: str | None) -> list[tuple]:
    """The (case, step, clock start, level) a light of `level` calls for: a red one calls for its yellow too."""
    if level not in LEVELS:
        return []
    return [(case, step, started_at, lvl) for lvl in LEVELS[: LEVELS.index(level) + 1]]


def _raise(case: Case, step: str, started_at: dt.datetime, level: str, now) -> CaseAlarm | None:
    try:
        with transaction.atomic():  # a savepoint in the batch's transaction
            alarm = CaseAlarm.objects.create(
                case=case, step=step, started_at=started_at, level=level, raised_at=now
            )
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
