"""The responsibility list (issue 23): dispatch rules drive the console's suggested unit, and small
classes switched to automatic dispatch are dispatched by the system right after registration."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases import workflow
from cases.dispatch_rules import SYSTEM_USERNAME, suggest_unit
from cases.models import AutoDispatch, CaseEvent, CaseStandard, DispatchRule, Status
from metrics.reports import city_figures, period_of
from people.models import Organisation
from tests.cast import act, make_cast, report
from tests.factories import make_organisation, make_small_class

pytestmark = pytest.mark.django_db
IN_B = (120.7605, 31.3305)  # tests/cast.py GRID_B: district 320506


def suggestion(cast, case) -> str | None:
    answer = cast.client(cast.dispatcher).get(f"/api/console/case/{case.pk}/suggestion")
    assert answer.status_code == 200, answer.content
    unit = answer.json()["suggested_unit"]
    return unit and Organisation.objects.get(pk=unit["id"]).code


def registered(cast, at) -> object:
    case = report(cast, at=at, by=cast.acceptor)
    act(case, "accept", cast.acceptor)
    return act(case, "register", cast.shift_leader)


def test_two_areas_route_the_same_class_to_different_units():
    cast = make_cast()
    DispatchRule.objects.create(small_class=cast.category, area_prefix="320505", unit=cast.unit)
    DispatchRule.objects.create(
        small_class=cast.category, area_prefix="320506", unit=cast.other_unit
    )
    in_a, in_b = registered(cast, (120.7005, 31.3005)), registered(cast, IN_B)
    assert (in_a.grid.code[:6], in_b.grid.code[:6]) == ("320505", "320506")
    assert suggestion(cast, in_a) == "unit-a"
    assert suggestion(cast, in_b) == "unit-b"
    # The dispatch queue shows the same suggestions.
    queues = cast.client(cast.dispatcher).get("/api/console/queues").json()["queues"]
    rows = {row["id"]: row for q in queues if q["key"] == "dispatch" for row in q["rows"]}
    assert rows[in_a.pk]["suggested_unit"]["id"] == cast.unit.pk
    assert rows[in_b.pk]["suggested_unit"]["id"] == cast.other_unit.pk
    # Nothing was dispatched: automatic dispatch is off for this class.
    assert (in_a.status, in_b.status) == (Status.DISPATCHING, Status.DISPATCHING)


def test_the_most_specific_prefix_wins_then_small_over_big_class_then_priority():
    cast = make_cast()
    water = make_organisation(kind=Organisation.Kind.HANDLING_UNIT, code="water", name="自来水公司")
    street = make_organisation(kind=Organisation.Kind.HANDLING_UNIT, code="street", name="街道")
    case = registered(cast, (120.7005, 31.3005))  # grid 320505006001001
    assert suggest_unit(case) is None  # no rule, no default unit
    CaseStandard.objects.filter(small_class=cast.category).update(
        default_handling_unit=cast.other_unit
    )
    case.category.refresh_from_db()
    assert suggest_unit(case) == cast.other_unit  # the class's default unit
    DispatchRule.objects.create(big_class=cast.category.big_class, area_prefix="", unit=water)
    assert suggest_unit(case) == water  # a whole-city big-class rule
    DispatchRule.objects.create(small_class=cast.category, area_prefix="", unit=street, priority=2)
    assert suggest_unit(case) == street  # a small-class rule beats a big-class one as specific
    DispatchRule.objects.create(
        small_class=cast.category, area_prefix="", unit=cast.unit, priority=1
    )
    assert suggest_unit(case) == cast.unit  # priority 1 beats 2
    DispatchRule.objects.create(
        big_class=cast.category.big_class, area_prefix="320505006", unit=water
    )
    assert suggest_unit(case) == water  # a longer prefix beats any whole-city rule
    DispatchRule.objects.create(
        small_class=cast.category, area_prefix="320505006001001", unit=street
    )
    assert suggest_unit(case) == street  # down to the grid
    Organisation.objects.filter(pk=street.pk).update(active=False)
    assert suggest_unit(case) == water  # closed units are never suggested
    other_class = make_small_class(big_class=cast.category.big_class, name="井盖")
    case.category = other_class
    assert suggest_unit(case) == water  # the big-class rules cover the class's siblings


def test_automatic_dispatch_right_after_registration_for_one_class_only():
    cast = make_cast()
    manual_class = make_small_class(big_class=cast.category.big_class, name="占道经营")
    DispatchRule.objects.create(small_class=cast.category, area_prefix="320505", unit=cast.unit)
    DispatchRule.objects.create(
        small_class=cast.category, area_prefix="320506", unit=cast.other_unit
    )
    DispatchRule.objects.create(small_class=manual_class, area_prefix="", unit=cast.unit)
    AutoDispatch.objects.create(small_class=cast.category)
    start = timezone.now() - dt.timedelta(minutes=1)

    # Registered through the API, as the console does.
    case = report(cast, at=IN_B, by=cast.acceptor)
    act(case, "accept", cast.acceptor)
    client = cast.client(cast.shift_leader)
    answer = client.post(
        f"/api/cases/{case.pk}/transition",
        {"action": "register", "version": case.version},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == Status.HANDLING and body["unit"]["id"] == cast.other_unit.pk
    dispatch = body["events"][-1]
    assert (dispatch["action"], dispatch["role"], dispatch["actor"]["username"]) == (
        "dispatch",
        "dispatcher",
        SYSTEM_USERNAME,
    )
    assert [e["action"] for e in body["events"]] == ["report", "accept", "register", "dispatch"]
    assert dispatch["data"]["first"] is True and dispatch["data"]["deadline"]
    # The unit sees it and may act on it; the system account cannot sign in.
    assert cast.client(cast.other_unit_member).get(f"/api/cases/{case.pk}").status_code == 200
    system = CaseEvent.objects.get(case=case, action="dispatch").actor
    assert not system.has_usable_password()

    # The other class waits for a dispatcher, with its suggestion.
    manual = workflow.report_case(
        workflow.Report(category=manual_class, lon=120.7005, lat=31.3005), reporter=cast.acceptor
    )
    act(manual, "accept", cast.acceptor)
    manual = act(manual, "register", cast.shift_leader)
    assert manual.status == Status.DISPATCHING and manual.unit is None
    assert suggestion(cast, manual) == "unit-a"

    # Counted like any dispatch.
    figures = city_figures(
        period_of(start.date() - dt.timedelta(days=1), start.date() + dt.timedelta(days=2))
    )
    assert figures.as_dict()["dispatched"] == 1 and figures.as_dict()["registered"] == 2


def test_an_automatic_dispatch_the_workflow_refuses_leaves_the_case_for_a_dispatcher():
    cast = make_cast()
    rule = DispatchRule.objects.create(small_class=cast.category, area_prefix="", unit=cast.unit)
    AutoDispatch.objects.create(small_class=cast.category)
    Organisation.objects.filter(pk=rule.unit_id).update(active=False)
    case = registered(cast, (120.7005, 31.3005))
    assert case.status == Status.DISPATCHING and not case.events.filter(action="dispatch").exists()


def test_the_system_account_is_told_nothing():
    from alerts.models import Notification

    cast = make_cast()
    DispatchRule.objects.create(small_class=cast.category, area_prefix="", unit=cast.unit)
    AutoDispatch.objects.create(small_class=cast.category)
    case = registered(cast, (120.7005, 31.3005))
    assert case.status == Status.HANDLING
    # The unit asks for more time: the dispatchers of the area are told, the system account is not.
    act(case, "request_extension", cast.unit_member, reason="材料未到", amount_minutes=240)
    assert Notification.objects.filter(user=cast.dispatcher, kind="approval_request").exists()
    assert not Notification.objects.filter(user__username=SYSTEM_USERNAME).exists()


def test_the_admin_lists_and_adds_rules_and_automatic_dispatch():
    from django.test import Client

    from tests.factories import make_admin_user

    cast = make_cast()
    DispatchRule.objects.create(small_class=cast.category, area_prefix="320505", unit=cast.unit)
    admin = Client()
    admin.force_login(make_admin_user(username="root"))
    for url in (
        "/admin/cases/dispatchrule/",
        "/admin/cases/dispatchrule/add/",
        "/admin/cases/autodispatch/",
        "/admin/cases/autodispatch/add/",
    ):
        assert admin.get(url).status_code == 200, url
    added = admin.post(
        "/admin/cases/dispatchrule/add/",
        {
            "small_class": cast.category.pk,
            "area_prefix": "3205x",
            "unit": cast.other_unit.pk,
            "priority": 1,
        },
    )
    assert added.status_code == 200 and "digits only" in added.content.decode()  # refused, named
    added = admin.post(
        "/admin/cases/dispatchrule/add/",
        {
            "small_class": cast.category.pk,
            "area_prefix": "320506",
            "unit": cast.other_unit.pk,
            "priority": 1,
        },
    )
    assert added.status_code == 302 and DispatchRule.objects.count() == 2
    switched = admin.post(
        "/admin/cases/autodispatch/add/", {"small_class": cast.category.pk, "enabled": "on"}
    )
    assert switched.status_code == 302 and AutoDispatch.objects.get().small_class == cast.category
