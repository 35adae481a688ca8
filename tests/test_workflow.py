"""The workflow table, exhaustively, through the HTTP API: for every (state, action, role), an
allowed action succeeds; anything else is refused (409 illegal in this state, 403 wrong role or not
yours, 404 when the case is not visible to the caller at all) and changes nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from cases.models import Case, CaseEvent, Status
from cases.workflow import ACTIONS, TABLE, allowed_actions
from people.models import Role
from tests.cast import act, case_in, make_cast, photo_record, report

pytestmark = pytest.mark.django_db

ROLES = [
    Role.OFFICER,
    Role.ACCEPTOR,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.UNIT_MEMBER,
    Role.VIEWER,
    Role.PUBLIC,
]
ANSWERS = {
    "approve_return": "request_return",
    "deny_return": "request_return",
    "approve_extension": "request_extension",
    "deny_extension": "request_extension",
    "approve_suspension": "request_suspension",
    "deny_suspension": "request_suspension",
}


def payload(cast, case: Case, action: str) -> dict:
    """Every input an action might need, valid."""
    return {
        "action": action,
        "version": case.version,
        "reason": "测试原因",
        "unit": cast.unit.pk,
        "outcome": {"verify": "confirmed", "check": "pass"}.get(action, ""),
        "amount_minutes": 120,
        "duplicate_of": report(cast).number if action == "merge" else "",
        "lon": 120.7006,
        "lat": 31.3006,
        "assignee": cast.unit_member.pk,
    }


def prepared(cast, status: str, action: str) -> Case:
    case = case_in(cast, status)
    if action in ANSWERS and status == Status.HANDLING:
        inputs = (
            {"reason": "需要", "amount_minutes": 60}
            if "extension" in action
            else {"reason": "需要"}
        )
        case = act(case, ANSWERS[action], cast.unit_member, **inputs)
    return case


def post(cast, user, case: Case, action: str):
    data = payload(cast, case, action)
    if action in ("feedback", "check", "self_handle"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.cast import jpeg_bytes

        data["photos"] = SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")
        return cast.client(user).post(f"/api/cases/{case.pk}/transition", data)
    return cast.client(user).post(
        f"/api/cases/{case.pk}/transition", data, content_type="application/json"
    )


def snapshot(case: Case):
    case.refresh_from_db()
    fields = {
        f.attname: getattr(case, f.attname) for f in Case._meta.fields if f.attname != "updated_at"
    }
    return fields, list(CaseEvent.objects.filter(case=case).values_list("seq", "action"))


STATUSES = [s for s in Status.values]


@pytest.mark.parametrize("status", STATUSES)
def test_every_action_and_role_in_this_state(status):
    cast = make_cast()
    # 二级派遣 (assign) is the unit leader's, in a unit that uses it: this unit member leads one.
    cast.unit.secondary_dispatch = True
    cast.unit.save()
    cast.unit_member.unit_leader = True
    cast.unit_member.save()
    checked = 0
    for action in sorted(set(ACTIONS) - {"report"}):
        rule = TABLE.get((status, action))
        allowed_roles = set(rule.roles) if rule else set()
        case = prepared(cast, status, action)
        for role in ROLES:
            if role in allowed_roles:
                continue
            before = snapshot(case)
            response = post(cast, cast.by_role(role), case, action)
            expected = {409} if rule is None else {403}
            if response.status_code == 404:  # not visible to this caller: no existence leak
                assert role in (Role.UNIT_MEMBER, Role.PUBLIC), (status, action, role)
            else:
                assert response.status_code in expected, (status, action, role, response.content)
            assert snapshot(case) == before, (status, action, role)
            checked += 1
        for role in sorted(allowed_roles):
            case = prepared(cast, status, action)
            response = post(cast, cast.by_role(role), case, action)
            assert response.status_code == 200, (status, action, role, response.content)
            body = response.json()
            assert body["version"] == case.version + 1
            last = CaseEvent.objects.filter(case=case).latest("seq")
            assert (last.action, last.actor_id, last.from_status, last.to_status) == (
                action,
                cast.by_role(role).pk,
                status,
                body["status"],
            )
            checked += 1
    assert checked >= len(ACTIONS) - 1


def test_allowed_actions_matches_what_succeeds():
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    assert allowed_actions(case, cast.unit_member) == [
        "request_return",
        "request_extension",
        "request_suspension",
        "feedback",
    ]
    assert allowed_actions(case, cast.dispatcher) == []
    assert allowed_actions(case, cast.shift_leader) == ["void", "supervise"]
    assert allowed_actions(case, cast.other_unit_member) == []
    case = act(case, "request_return", cast.unit_member, reason="不属于本单位")
    assert "approve_return" in allowed_actions(case, cast.dispatcher)
    assert "request_extension" not in allowed_actions(case, cast.unit_member)


def test_an_officer_of_another_grid_cannot_check(client):
    cast = make_cast()
    case = case_in(cast, Status.CHECKING)
    response = cast.client(cast.officer_elsewhere).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "check", "version": case.version, "outcome": "pass"},
        content_type="application/json",
    )
    assert response.status_code == 404  # not their grid: they cannot see it at all
    case.refresh_from_db()
    assert case.status == Status.CHECKING


def test_the_other_unit_cannot_feed_back_on_a_case_it_never_held():
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    response = cast.client(cast.other_unit_member).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "feedback", "version": case.version},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_a_missing_reason_is_a_400_naming_the_field_and_changes_nothing():
    cast = make_cast()
    case = report(cast)
    before = snapshot(case)
    response = cast.client(cast.acceptor).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "reject", "version": case.version},
        content_type="application/json",
    )
    assert response.status_code == 400 and "reason" in response.json()
    assert snapshot(case) == before


def test_feedback_without_a_photo_is_refused():
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    response = cast.client(cast.unit_member).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "feedback", "version": case.version},
        content_type="application/json",
    )
    assert response.status_code == 400 and "photos" in response.json()


def test_the_case_status_always_equals_its_last_event():
    cast = make_cast()
    for status in STATUSES:
        case_in(cast, status)
    for case in Case.objects.all():
        assert case.status == case.events.latest("seq").to_status
        assert case.version == case.events.count()


def test_events_are_append_only_in_the_database():
    from django.db import DatabaseError, transaction

    cast = make_cast()
    case = case_in(cast, Status.DISPATCHING)
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).update(reason="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).delete()
    assert CaseEvent.objects.filter(case=case, reason="tampered").count() == 0


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai"))


def _handling_since(cast, dispatched_at):
    """A case dispatched at `dispatched_at` (1 工作日 limit), on the real 2026 calendar."""
    from cases import workflow
    from worktime.holidays import seed_calendar

    seed_calendar([2026])
    case = case_in(cast, Status.DISPATCHING)
    workflow.transition(
        case,
        "dispatch",
        actor=cast.dispatcher,
        version=case.version,
        inputs=workflow.Inputs(unit=cast.unit),
        now=dispatched_at,
    )
    case.refresh_from_db()
    return case


def test_dispatch_sets_the_deadline_in_working_days():
    cast = make_cast()
    case = _handling_since(cast, _at(2026, 10, 9, 17, 45))  # Friday after hours; Sat 10-10 is 调休
    assert case.deadline == _at(2026, 10, 12, 8, 30)


def test_a_case_suspended_two_working_days_gets_two_working_days_more():
    from cases import workflow

    cast = make_cast()
    case = _handling_since(cast, _at(2026, 10, 12, 9, 0))  # Monday: deadline Tue 10-13 09:00
    assert case.deadline == _at(2026, 10, 13, 9, 0)
    for action, actor, inputs, now in [
        (
            "request_suspension",
            cast.unit_member,
            {"reason": "等待产权认定"},
            _at(2026, 10, 13, 9, 30),
        ),
        ("approve_suspension", cast.dispatcher, {}, _at(2026, 10, 13, 10, 0)),
        ("resume", cast.dispatcher, {}, _at(2026, 10, 15, 10, 0)),  # two working days later
    ]:
        workflow.transition(
            case,
            action,
            actor=actor,
            version=case.version,
            inputs=workflow.Inputs(**inputs),
            now=now,
        )
        case.refresh_from_db()
    assert case.status == Status.HANDLING
    assert case.deadline == _at(2026, 10, 15, 9, 0)
    assert case.suspended_seconds == 2 * 450 * 60


def test_an_approved_extension_adds_working_time():
    from cases import workflow

    cast = make_cast()
    case = _handling_since(cast, _at(2026, 9, 29, 9, 0))  # deadline Wed 09-30 09:00
    for action, actor, inputs in [
        ("request_extension", cast.unit_member, {"reason": "工程量大", "amount_minutes": 8 * 60}),
        ("approve_extension", cast.dispatcher, {}),
    ]:
        workflow.transition(
            case,
            action,
            actor=actor,
            version=case.version,
            inputs=workflow.Inputs(**inputs),
            now=_at(2026, 9, 29, 15, 0),
        )
        case.refresh_from_db()
    # 09:00 + 480 working minutes: 09-30 09:00–17:30 is 420, then the National Day holiday,
    # the remaining 60 from 10-08 08:30.
    assert case.deadline == _at(2026, 10, 8, 9, 30)
    assert case.pending_request == ""


def test_traffic_lights_follow_working_time():
    from cases.deadlines import traffic_light

    cast = make_cast()
    case = _handling_since(
        cast, _at(2026, 9, 30, 9, 0)
    )  # 1 工作日 across National Day: 10-08 09:00
    assert case.deadline == _at(2026, 10, 8, 9, 0)
    # The allowed time is 450 working minutes: 420 on 09-30 from 09:00, 30 on 10-08 from 08:30.
    assert traffic_light(case, _at(2026, 9, 30, 16, 0)) == "green"  # 330 used: 73 %
    assert traffic_light(case, _at(2026, 9, 30, 16, 30)) == "yellow"  # 360 used: 80 %
    assert (
        traffic_light(case, _at(2026, 10, 5, 12, 0)) == "yellow"
    )  # holiday: 420 used, the clock stands
    assert traffic_light(case, _at(2026, 10, 8, 9, 1)) == "red"


def test_merge_links_the_duplicate():
    cast = make_cast()
    original = report(cast)
    duplicate = report(cast)
    act(duplicate, "merge", cast.acceptor, duplicate_of=original)
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED and duplicate.duplicate_of == original
    with pytest.raises(ValidationError):
        act(report(cast), "merge", cast.acceptor, duplicate_of=duplicate)  # merged is not open


def test_self_handle_needs_the_reporter_and_a_photo():
    cast = make_cast()
    case = report(cast)
    case = act(case, "self_handle", cast.officer, photos=[photo_record()])
    assert case.status == Status.CLOSING and case.photos.filter(stage="self_handle").count() == 1
