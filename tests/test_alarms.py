"""Deadline alarms and the scheduler (docs/domain.md §5): each yellow and red fires once per case and
step, within one sweep of its moment, to the people docs/domain.md §9 names; one scheduler at a time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Kind, Notification
from backend.scheduler import Job, Scheduler, take_lease
from cases import alarms, workflow
from cases.models import CaseAlarm, Status
from tests.cast import IN_A, case_in, make_cast, report
from worktime.holidays import seed_calendar

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def dispatched(cast, when: dt.datetime):
    seed_calendar([2026])
    case = case_in(cast, Status.DISPATCHING)
    workflow.transition(
        case,
        "dispatch",
        actor=cast.dispatcher,
        version=case.version,
        inputs=workflow.Inputs(unit=cast.unit),
        now=when,
    )
    case.refresh_from_db()
    return case


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def test_disposal_yellow_then_red_each_once_to_the_unit_and_the_dispatcher():
    cast = make_cast()
    case = dispatched(
        cast, at(2026, 10, 12, 9, 0)
    )  # 1 工作日: deadline 10-13 09:00, 450 working min
    assert alarms.sweep(at(2026, 10, 12, 15, 0)) == []  # 300 of 450 used: green
    yellow = alarms.sweep(at(2026, 10, 12, 16, 30))  # 360 used: 80 %
    assert [(a.step, a.level) for a in yellow] == [("dispose", "yellow")]
    assert told(Kind.DEADLINE_WARNING) == {"unit", "dispatcher"}
    assert alarms.sweep(at(2026, 10, 12, 17, 0)) == []  # once
    red = alarms.sweep(at(2026, 10, 13, 9, 0, 30))  # within one sweep of the deadline
    assert [(a.step, a.level) for a in red] == [("dispose", "red")]
    assert told(Kind.OVERDUE) == {"unit", "dispatcher"}
    assert alarms.sweep(at(2026, 10, 14, 9, 0)) == []
    assert CaseAlarm.objects.filter(case=case).count() == 2
    assert not Notification.objects.filter(
        user__username__in=["officer_b", "unit2", "acceptor"],
        kind__in=[Kind.DEADLINE_WARNING, Kind.OVERDUE],
    ).exists()


def test_a_sweep_checks_the_working_calendar_once_however_many_cases_are_on_a_clock():
    """Outside a request every deadline computation re-checked the calendar (two queries, one an
    aggregate over every working day): a sweep paid that per open case."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cast = make_cast()
    for _ in range(3):
        dispatched(cast, at(2026, 10, 12, 9, 0))
    for _ in range(3):  # waiting to be accepted since 16:00: on the accept step's clock
        workflow.report_case(
            workflow.Report(category=cast.category, lon=IN_A[0], lat=IN_A[1]),
            reporter=cast.officer,
            now=at(2026, 10, 12, 16, 0),
        )
    with CaptureQueriesContext(connection) as queries:  # every light below needs the calendar
        raised = alarms.sweep(at(2026, 10, 12, 16, 30))
    assert (
        sorted((a.step, a.level) for a in raised) == [("dispose", "yellow")] * 3
    )  # the reports: green
    checks = [q for q in queries.captured_queries if "backend_referenceversion" in q["sql"]]
    assert len(checks) == 1, [q["sql"][:80] for q in checks]  # the reference token, once
    assert not any('FROM "worktime_workingday"' in q["sql"] for q in queries.captured_queries)


def test_a_case_found_already_overdue_gets_its_yellow_and_its_red():
    cast = make_cast()
    dispatched(cast, at(2026, 10, 12, 9, 0))
    raised = alarms.sweep(at(2026, 10, 20, 9, 0))  # the scheduler was down for a week
    assert [a.level for a in raised] == ["yellow", "red"]


def test_suspended_cases_raise_nothing():
    cast = make_cast()
    case = dispatched(cast, at(2026, 10, 12, 9, 0))
    for action, actor, inputs in [
        ("request_suspension", cast.unit_member, {"reason": "等待"}),
        ("approve_suspension", cast.dispatcher, {}),
    ]:
        workflow.transition(
            case,
            action,
            actor=actor,
            version=case.version,
            inputs=workflow.Inputs(**inputs),
            now=at(2026, 10, 12, 10, 0),
        )
        case.refresh_from_db()
    assert alarms.sweep(at(2026, 10, 20, 9, 0)) == []


def test_a_step_clock_alarms_the_people_who_must_take_the_step():
    cast = make_cast()
    seed_calendar([2026])
    case = workflow.report_case(
        workflow.Report(category=cast.category, lon=120.7005, lat=31.3005),
        reporter=cast.officer,
        now=at(2026, 10, 12, 9, 0),
    )
    assert case.step_deadline == at(2026, 10, 12, 10, 0)  # accept within 1 工作时
    raised = alarms.sweep(at(2026, 10, 12, 10, 5))
    assert [(a.step, a.level) for a in raised] == [("accept", "yellow"), ("accept", "red")]
    assert told(Kind.OVERDUE) == {"acceptor"}


def test_the_step_on_time_flag_is_recorded_when_the_step_completes():
    cast = make_cast()
    seed_calendar([2026])
    case = workflow.report_case(
        workflow.Report(category=cast.category, lon=120.7005, lat=31.3005),
        reporter=cast.officer,
        now=at(2026, 10, 12, 9, 0),
    )
    event = workflow.transition(
        case, "accept", actor=cast.acceptor, version=case.version, now=at(2026, 10, 12, 9, 40)
    )
    assert event.data["step"] == "accept" and event.data["step_on_time"] is True
    case.refresh_from_db()
    late = workflow.transition(
        case,
        "register",
        actor=cast.shift_leader,
        version=case.version,
        now=at(2026, 10, 12, 13, 45),
    )  # 1 工作时 from 09:40 ended 10:40
    assert late.data["step"] == "register" and late.data["step_on_time"] is False


def test_only_the_lease_holder_runs_jobs():
    now = at(2026, 10, 12, 9, 0)
    one = Scheduler(
        [Job("probe", "tests.test_alarms.record_run", dt.timedelta(seconds=1))], holder="one"
    )
    two = Scheduler(
        [Job("probe", "tests.test_alarms.record_run", dt.timedelta(seconds=1))], holder="two"
    )
    RUNS.clear()
    assert one.tick(now) == ["probe"]
    assert two.tick(now + dt.timedelta(seconds=5)) == []  # one holds the lease
    assert one.tick(now + dt.timedelta(seconds=10)) == ["probe"]
    # one dies: its lease expires and two takes over
    assert two.tick(now + dt.timedelta(seconds=200)) == ["probe"]
    assert not take_lease("one", now + dt.timedelta(seconds=201))
    assert len(RUNS) == 3


RUNS: list[dt.datetime] = []


def record_run(now: dt.datetime) -> None:
    RUNS.append(now)


def test_a_second_scheduler_racing_on_the_same_alarm_inserts_nothing():
    cast = make_cast()
    case = dispatched(cast, at(2026, 10, 12, 9, 0))
    first = alarms._raise(case, "dispose", case.dispatched_at, "red", at(2026, 10, 20, 9, 0))
    second = alarms._raise(case, "dispose", case.dispatched_at, "red", at(2026, 10, 20, 9, 0))
    assert first is not None and second is None
    assert Notification.objects.filter(kind=Kind.OVERDUE, user__username="unit").count() == 1


def test_reporting_alone_raises_nothing_before_its_time():
    cast = make_cast()
    report(cast)
    assert alarms.sweep() == []
