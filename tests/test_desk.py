"""The handling unit's desk at /desk/ (docs/units.md) through the test client: who may open it, its
queues, the case panel, the actions with their version check, secondary dispatch (二级派遣), the
unit's figures, alert links and the transition API's idempotent replays and OpenAPI form."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Notification
from cases.models import Case, CaseEvent, IdempotencyRecord, Status
from people.models import Role
from tests.cast import act, case_in, jpeg_bytes, make_cast, photo_record
from tests.factories import make_admin_user, make_user

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def upload(name="after.jpg"):
    f = io.BytesIO(jpeg_bytes())
    f.name = name
    return f


def handling(cast, **fields) -> Case:
    case = case_in(cast, Status.HANDLING)
    if fields:
        Case.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return case


def queue_ids(response, key: str) -> list[int]:
    queue = next(q for q in response.context["queues"] if q.key == key)
    return [c.pk for c in queue.rows]


# --- who opens what ---------------------------------------------------------------------------------


def test_the_desk_is_for_unit_members_the_console_sends_them_there_and_others_away():
    cast = make_cast()
    anonymous = Client().get("/desk/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(
        "/accounts/login/?next=/desk/"
    )
    assert cast.client(cast.unit_member).get("/desk/").status_code == 200
    to_desk = cast.client(cast.unit_member).get("/console/")
    assert to_desk.status_code == 302 and to_desk["Location"] == "/desk/"
    to_console = cast.client(cast.dispatcher).get("/desk/")
    assert to_console.status_code == 302 and to_console["Location"] == "/console/"
    assert cast.client(cast.officer).get("/desk/").status_code == 403
    assert cast.client(cast.public).get("/desk/queues").status_code == 403
    admin = Client()
    admin.force_login(make_admin_user())
    assert admin.get("/desk/").status_code == 302


def test_every_link_a_unit_member_is_shown_on_the_desk_answers_200():
    import re

    cast = make_cast()
    case = handling(cast)
    client = cast.client(cast.unit_member)
    pages = ["/desk/", f"/desk/?case={case.pk}", "/desk/figures"]
    seen = set()
    for page in pages:
        html = client.get(page).content.decode()
        seen |= {
            href
            for href in re.findall(r'href="(/[^"#]*)"', html)
            if not href.startswith("/static/") and "/api/photos/" not in href
        }
    assert {"/desk/figures", "/metrics/?level=unit", "/m/", "/reports/"} <= seen
    failing = {href: client.get(href.replace("&amp;", "&")).status_code for href in sorted(seen)}
    assert {h: c for h, c in failing.items() if c != 200} == {}


# --- queues ---------------------------------------------------------------------------------------


def test_queues_sort_the_units_cases_and_count_them_all():
    cast = make_cast()
    new = handling(cast)
    overdue = handling(cast, deadline=timezone.now() - timezone.timedelta(hours=2))
    rework = case_in(cast, Status.CHECKING)
    rework = act(rework, "check", cast.officer, outcome="fail", reason="没扫干净")
    asked = act(
        handling(cast), "request_extension", cast.unit_member, reason="材料未到", amount_minutes=240
    )
    answered = act(handling(cast), "request_return", cast.unit_member, reason="非本单位")
    answered = act(answered, "deny_return", cast.dispatcher, reason="属于你单位")
    suspended = case_in(cast, Status.SUSPENDED)
    checking = case_in(cast, Status.CHECKING)
    other = case_in(cast, Status.HANDLING)
    other = act(
        act(other, "request_return", cast.unit_member, reason="x"),
        "approve_return",
        cast.dispatcher,
    )
    other = act(other, "dispatch", cast.dispatcher, unit=cast.other_unit)

    response = cast.client(cast.unit_member).get("/desk/")
    assert response.status_code == 200
    assert set(queue_ids(response, "new")) == {new.pk, overdue.pk, answered.pk}
    assert queue_ids(response, "overdue") == [overdue.pk]
    assert queue_ids(response, "rework") == [rework.pk]
    assert queue_ids(response, "requests") == [asked.pk]
    assert queue_ids(response, "suspended") == [suspended.pk]
    assert queue_ids(response, "checking") == [checking.pk]
    requests = next(q for q in response.context["queues"] if q.key == "requests")
    assert [
        (e.case_id, e.action) for e in requests.answers
    ] == [  # newest first, the returned case too
        (other.pk, "approve_return"),
        (suspended.pk, "approve_suspension"),
        (answered.pk, "deny_return"),
    ]
    assert all(other.pk not in queue_ids(response, key) for key in ("new", "overdue", "requests"))
    # Counts are shown with each queue; the other unit's desk holds none of these.
    html = response.content.decode()
    assert 'data-queue="overdue"' in html and f'data-case="{overdue.pk}"' in html
    theirs = cast.client(cast.other_unit_member).get("/desk/")
    assert queue_ids(theirs, "new") == [other.pk]
    assert all(
        not queue_ids(theirs, key)
        for key in ("overdue", "rework", "requests", "suspended", "checking")
    )


def test_search_finds_a_case_by_number_or_address():
    cast = make_cast()
    one = handling(cast, address="人民路 12 号")
    two = handling(cast, address="干将路 3 号")
    client = cast.client(cast.unit_member)
    by_address = client.get("/desk/queues", {"q": "干将"}, **HX)
    assert queue_ids(by_address, "new") == [two.pk]
    by_number = client.get("/desk/queues", {"q": one.number}, **HX)
    assert queue_ids(by_number, "new") == [one.pk]
    assert b"gcd-queues" in by_number.content and b"<html" not in by_number.content


# --- the case panel and its actions ---------------------------------------------------------------


def test_the_panel_shows_timeline_photos_with_stages_flags_deadline_and_only_allowed_actions():
    cast = make_cast()
    case = case_in(cast, Status.CHECKING)
    case = act(
        case, "check", cast.officer, outcome="fail", reason="没扫干净", photos=[photo_record()]
    )
    client = cast.client(cast.unit_member)
    panel = client.get(f"/desk/case/{case.pk}", **HX)
    html = panel.content.decode()
    assert panel.status_code == 200 and "<html" not in html
    assert f'data-case="{case.pk}"' in html and 'data-status="handling"' in html
    assert {p.stage for p in panel.context["panel"]["photos"]} == {"feedback", "check"}
    assert 'data-stage="check"' in html and "没扫干净" in html and 'data-field="deadline"' in html
    actions = [a["key"] for a in panel.context["panel"]["actions"]]
    assert actions == ["feedback", "request_extension", "request_return", "request_suspension"]
    # Another unit's case is not there to open; a centre role is sent to its console.
    theirs = cast.client(cast.other_unit_member).get(f"/desk/case/{case.pk}", **HX)
    assert theirs.status_code == 404
    whole = client.get(f"/desk/case/{case.pk}")  # without htmx: the whole desk, the panel open
    assert (
        b"<html" in whole.content
        and f'id="gcd-case" data-case="{case.pk}"'.encode() in whole.content
    )


def test_feedback_with_a_photo_moves_the_case_to_checking_and_tells_the_grid_officer():
    cast = make_cast()
    case = handling(cast)
    client = cast.client(cast.unit_member)
    response = client.post(
        f"/desk/case/{case.pk}/act",
        {
            "action": "feedback",
            "version": case.version,
            "reason": "已清理",
            "photos": [upload(), upload("b.jpg")],
        },
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["HX-Trigger"] == "desk-changed"
    case.refresh_from_db()
    event = case.events.latest("seq")
    assert (case.status, event.action, event.reason, event.actor) == (
        Status.CHECKING,
        "feedback",
        "已清理",
        cast.unit_member,
    )
    assert event.photos.count() == 2 and {p.stage for p in event.photos.all()} == {"feedback"}
    assert Notification.objects.filter(user=cast.officer, kind="check_task", case=case).exists()


def test_a_stale_version_is_refused_with_the_conflict_message_and_the_fresh_case():
    cast = make_cast()
    case = handling(cast)
    seen = case.version
    act(case, "supervise", cast.shift_leader)
    response = cast.client(cast.unit_member).post(
        f"/desk/case/{case.pk}/act",
        {"action": "request_return", "version": seen, "reason": "非本单位"},
        **HX,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this case" in html and "reloaded" in html
    case.refresh_from_db()
    assert f'data-version="{case.version}"' in html and case.pending_request == ""


def test_bad_input_names_the_field_and_writes_nothing():
    cast = make_cast()
    case = handling(cast)
    client = cast.client(cast.unit_member)
    no_photo = client.post(
        f"/desk/case/{case.pk}/act", {"action": "feedback", "version": case.version}, **HX
    )
    assert no_photo.status_code == 400 and "Photos" in no_photo.content.decode()
    bad_hours = client.post(
        f"/desk/case/{case.pk}/act",
        {"action": "request_extension", "version": case.version, "hours": "many", "reason": "x"},
        **HX,
    )
    assert bad_hours.status_code == 400 and "Working hours" in bad_hours.content.decode()
    no_reason = client.post(
        f"/desk/case/{case.pk}/act",
        {"action": "request_suspension", "version": case.version, "reason": " "},
        **HX,
    )
    assert no_reason.status_code == 400 and "Reason" in no_reason.content.decode()
    assert (
        client.post(
            f"/desk/case/{case.pk}/act", {"action": "close", "version": case.version}
        ).status_code
        == 404
    )
    case.refresh_from_db()
    assert case.events.count() == 4 and case.status == Status.HANDLING


def test_an_extension_asked_in_working_hours_is_approved_by_the_dispatcher_and_moves_the_deadline():
    cast = make_cast()
    case = handling(cast)
    before = case.deadline
    response = cast.client(cast.unit_member).post(
        f"/desk/case/{case.pk}/act",
        {
            "action": "request_extension",
            "version": case.version,
            "hours": "4",
            "reason": "材料未到",
        },
    )
    assert (
        response.status_code == 302 and response["Location"] == f"/desk/?case={case.pk}"
    )  # without htmx
    case.refresh_from_db()
    assert (case.pending_request, case.pending_amount_minutes) == ("extension", 240)
    act(case, "approve_extension", cast.dispatcher)
    case.refresh_from_db()
    assert case.deadline > before and case.pending_request == ""
    told = Notification.objects.get(user=cast.unit_member, kind="request_answered", case=case)
    assert (
        told.payload["action"] == "approve_extension"
        and told.payload["link"] == f"/desk/?case={case.pk}"
    )


# --- 二级派遣 --------------------------------------------------------------------------------------


def test_secondary_dispatch_is_off_by_default_and_a_leader_assigns_without_changing_the_status():
    cast = make_cast()
    leader, crew = (
        cast.unit_member,
        make_user(role=Role.UNIT_MEMBER, username="crew", organisation=cast.unit),
    )
    leader.unit_leader = True
    leader.save()
    first, second = handling(cast), handling(cast)  # dispatched in this order
    client = cast.client(leader)
    panel = client.get(f"/desk/case/{first.pk}", **HX)
    assert "assign" not in [
        a["key"] for a in panel.context["panel"]["actions"]
    ]  # the unit has it off
    refused = client.post(
        f"/desk/case/{first.pk}/act",
        {"action": "assign", "version": first.version, "assignee": crew.pk},
        **HX,
    )
    assert refused.status_code == 403

    cast.unit.secondary_dispatch = True
    cast.unit.save()
    panel = client.get(f"/desk/case/{first.pk}", **HX)
    assert "assign" in [a["key"] for a in panel.context["panel"]["actions"]]
    assert "assign" not in [
        a["key"]
        for a in cast.client(crew).get(f"/desk/case/{first.pk}", **HX).context["panel"]["actions"]
    ]  # only leaders assign
    outsider = client.post(
        f"/desk/case/{first.pk}/act",
        {"action": "assign", "version": first.version, "assignee": cast.other_unit_member.pk},
        **HX,
    )
    assert outsider.status_code == 400
    done = client.post(
        f"/desk/case/{first.pk}/act",
        {"action": "assign", "version": first.version, "assignee": crew.pk},
        **HX,
    )
    assert done.status_code == 200, done.content.decode()[:400]
    first.refresh_from_db()
    event = first.events.latest("seq")
    assert (event.action, event.from_status, event.to_status, event.unit_id) == (
        "assign",
        Status.HANDLING,
        Status.HANDLING,
        cast.unit.pk,
    )
    assert first.assignee == crew and first.unit == cast.unit and first.status == Status.HANDLING
    assert Notification.objects.filter(user=crew, kind="assigned", case=first).exists()
    # The assignee sees it first; the others see the newest dispatch first.
    assert queue_ids(cast.client(crew).get("/desk/"), "new") == [first.pk, second.pk]
    assert queue_ids(client.get("/desk/"), "new") == [second.pk, first.pk]
    assert "→ crew" in client.get(f"/desk/case/{first.pk}", **HX).content.decode()


# --- figures ----------------------------------------------------------------------------------------


def test_the_units_figures_show_this_week_and_last_and_drill_down_to_its_own_cases():
    cast = make_cast()
    case_in(cast, Status.CHECKING)
    theirs = case_in(cast, Status.HANDLING)
    theirs = act(
        act(theirs, "request_return", cast.unit_member, reason="x"),
        "approve_return",
        cast.dispatcher,
    )
    act(theirs, "dispatch", cast.dispatcher, unit=cast.other_unit)
    client = cast.client(cast.unit_member)
    page = client.get("/desk/figures")
    assert page.status_code == 200
    weeks = {f["key"]: f for f in page.context["figures"]}
    assert set(weeks) == {"this", "last"} and weeks["this"]["row"]["disposed"] == 1
    assert weeks["this"]["row"]["rank"] is not None
    drill = client.get("/desk/figures", {"week": "this", "metric": "disposed"})
    cases = drill.context["drill"]["cases"]
    assert len(cases) == 1 and cases[0].unit_id == cast.unit.pk
    other = cast.client(cast.other_unit_member).get(
        "/desk/figures", {"week": "this", "metric": "disposed"}
    )
    assert other.context["drill"]["cases"] == []
    # The metrics page opens at their level, their row only; other levels stay closed to them.
    metrics = client.get("/metrics/")
    assert metrics.status_code == 200 and [r["id"] for r in metrics.context["rows"]] == [
        cast.unit.pk
    ]
    assert client.get("/metrics/?level=street").status_code == 403


# --- alerts carry where to open the case -------------------------------------------------------------


def test_unit_alerts_link_to_the_desk_and_officers_to_their_task_page():
    cast = make_cast()
    case = handling(cast)
    dispatched = Notification.objects.get(user=cast.unit_member, kind="dispatched", case=case)
    assert dispatched.payload["link"] == f"/desk/?case={case.pk}"
    act(case, "supervise", cast.shift_leader)
    assert (
        Notification.objects.get(user=cast.unit_member, kind="supervised", case=case).payload[
            "link"
        ]
        == f"/desk/?case={case.pk}"
    )
    case = act(case, "feedback", cast.unit_member, photos=[photo_record()])
    assert (
        Notification.objects.get(user=cast.officer, kind="check_task", case=case).payload["link"]
        == f"/m/task?id={case.pk}"
    )
    act(case, "check", cast.officer, outcome="fail", reason="x")
    assert (
        Notification.objects.get(user=cast.unit_member, kind="rework", case=case).payload["link"]
        == f"/desk/?case={case.pk}"
    )


# --- the transition API: idempotent replays, the multipart form in OpenAPI ----------------------------


def test_a_replayed_transition_with_the_same_key_answers_the_stored_result_and_writes_one_event():
    cast = make_cast()
    case = handling(cast)
    client = cast.client(cast.unit_member)
    photo = jpeg_bytes()

    def send(key="feedback-key-1", body=None):
        f = io.BytesIO(photo)
        f.name = "after.jpg"
        return client.post(
            f"/api/cases/{case.pk}/transition",
            body
            or {"action": "feedback", "version": case.version, "reason": "已处置", "photos": f},
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first = send()
    assert first.status_code == 200 and first.json()["status"] == "checking"
    again = send()
    assert (
        again.status_code == 200
        and again["Idempotent-Replayed"] == "true"
        and again.json() == first.json()
    )
    assert CaseEvent.objects.filter(case=case, action="feedback").count() == 1
    different = send(body={"action": "feedback", "version": case.version, "reason": "另一个"})
    assert different.status_code == 422
    # A refused request stores nothing: the key may be used again once the request is right.
    refused = send(
        key="k2", body={"action": "request_return", "version": case.version, "reason": "x"}
    )
    assert refused.status_code == 409 and not IdempotencyRecord.objects.filter(key="k2").exists()
    assert CaseEvent.objects.filter(case=case).count() == 5


def test_the_transition_schema_documents_the_multipart_form_with_photos():
    cast = make_cast()
    schema = cast.client(cast.dispatcher).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    import yaml

    doc = yaml.safe_load(schema.content)
    body = doc["paths"]["/api/cases/{id}/transition"]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]["schema"]
    ref = form["$ref"].rsplit("/", 1)[-1]
    photos = doc["components"]["schemas"][ref]["properties"]["photos"]
    assert photos["type"] == "array" and photos["items"]["format"] == "binary"
    assert "application/json" in body
    params = {p["name"] for p in doc["paths"]["/api/cases/{id}/transition"]["post"]["parameters"]}
    assert {"If-Match", "Idempotency-Key"} <= params


def test_feedback_on_an_illegal_construction_case_asks_for_its_disposition_at_the_desk():
    """A ledger case (docs/domain.md §12): the desk's feedback form asks the disposition and the m²
    demolished; without them the workflow's message names the field and nothing is written."""
    from campaigns.models import LedgerLink
    from tests.test_campaigns import make_world, report_construction, to_handling

    world = make_world()
    case = to_handling(world, report_construction(world, area=120))
    client = world.cast.client(world.cast.unit_member)
    panel = client.get(f"/desk/case/{case.pk}", **HX).content.decode()
    assert 'name="disposition"' in panel and 'name="demolished_m2"' in panel and "120" in panel
    refused = client.post(
        f"/desk/case/{case.pk}/act",
        {"action": "feedback", "version": case.version, "photos": [upload()]},
        **HX,
    )
    assert refused.status_code == 400 and "disposition" in refused.content.decode()
    case.refresh_from_db()
    assert case.status == Status.HANDLING and not case.events.filter(action="feedback").exists()
    done = client.post(
        f"/desk/case/{case.pk}/act",
        {
            "action": "feedback",
            "version": case.version,
            "disposition": "demolish",
            "demolished_m2": "45.5",
            "photos": [upload()],
        },
        **HX,
    )
    assert done.status_code == 200, done.content.decode()[:500]
    event = case.events.get(action="feedback")
    assert event.data["disposition"] == "demolish" and event.data["demolished_m2"] == "45.50"
    assert LedgerLink.objects.filter(case=case).exists()
