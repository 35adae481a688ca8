"""Object-level permissions: every role × every endpoint that reads or acts on a case × own/other
object (RELIABILITY.md §0.3: BOLA lives in lists, exports, searches and side doors).

Expectations come from the documented rules (cases/access.py's docstring, DOMAIN.md §3), written
out here per person — not from what the code answers:
- administrators: every case; centre roles (acceptor, shift leader, dispatcher, viewer): their
  organisation's area, the city when it has none;
- officers: cases in their grids and their own reports;
- handling unit members: cases their unit holds or has held;
- the public: their own reports; anonymous callers: nothing (403 from the API).
A case someone may not see answers 404, never 403, and never changes.

Every URL pattern of the project is classified in ENDPOINTS: a new endpoint fails
test_every_url_is_classified until someone decides which check covers it."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from cases.models import Case, Status
from grids.models import Area
from people.models import Organisation, Role
from tests.cast import IN_A, act, make_cast, photo_record, report
from tests.factories import make_admin_user, make_organisation, make_user

pytestmark = pytest.mark.django_db
IN_B = (120.7605, 31.3305)

# name (or namespace:*) → the check that covers it.
ENDPOINTS = {
    # per case: detail, transition, photos, the console's suggestion
    "case-detail": "object", "case-transition": "object", "case-photo": "object", "console-suggestion": "object",
    # lists of cases: exactly the visible ones (or a subset, for searches)
    "cases": "list", "case-export": "list", "case-mine": "list", "case-nearby": "list", "alerts": "list",
    "console-queues": "list", "console-grid-counts": "list", "metric-cases": "list",
    # per person, never about others' objects
    "alerts-unread": "own", "alerts-read": "own", "api-me": "own", "patrol-points": "own",
    "patrol-coverage": "role", "metrics": "role", "console-units": "role",
    # public by design (DOMAIN §10 Open311, the map layers, the dictionary): checked for what they
    # must not show (non-public cases, originals)
    "open311-request": "public", "open311-photo": "public", "case-status": "public", "open311-requests": "public",
    "open311-discovery": "no object", "open311-services": "no object", "open311-service": "no object",
    "open311-token": "no object (a submitter's own token)", "open311-not-found": "no object",
    "grid-layer": "no object", "area-layer": "no object", "grid-locate": "no object",
    "grid-detail": "no object (a grid, not a case: any signed-in person, docs/api.md)",
    "categories": "no object", "api-token": "no object", "api-health": "no object",
    "schema": "no object", "api-docs": "no object",
    # pages: shells only, their data comes from the APIs above
    "home": "page", "console": "page", "m-home": "page", "m-report": "page", "m-tasks": "page", "m-task": "page",
    "m-mine": "page", "m-alerts": "page", "m-patrol": "page", "m-queue": "page", "m-session": "page",
    "m-manifest": "page", "m-sw": "page", "set_language": "page",
    # Django's own: admin (staff only), login/logout/password views
    "admin:*": "django", "accounts:*": "django",
    # periodic reports: city-wide bulletins, read by role (test_reports_are_read_by_their_roles_only)
    "api-reports": "role", "api-report": "role", "report-file": "role", "reports-page": "role",
    "api-report-publish": "role", "report-review": "role",
    "metrics-page": "role",
}
AUTH_VIEWS = {"login", "logout", "password_change", "password_change_done", "password_reset", "password_reset_done",
              "password_reset_confirm", "password_reset_complete"}


def _names(patterns, namespace: str = "") -> set[str]:
    found: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            found |= {f"{ns}:*"} if ns == "admin" else _names(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            name = p.name or f"<unnamed {p.pattern}>"
            found.add("accounts:*" if name in AUTH_VIEWS else name)
    return found


def test_every_url_is_classified():
    names = _names(get_resolver().url_patterns) - {"<unnamed ^(?P<path>.*)$>"}  # open311's catch-all 404
    unclassified = sorted(names - set(ENDPOINTS))
    assert not unclassified, f"classify these endpoints in ENDPOINTS (and check them): {unclassified}"


# --- the world -----------------------------------------------------------------------------------

def build_world():
    cast = make_cast()
    admin = make_admin_user(username="root")
    street = Area.objects.get(code=cast.grid.code[:9])
    street_office = make_organisation(kind=Organisation.Kind.CENTRE, code="street-centre", area=street)
    area_viewer = make_user(role=Role.VIEWER, username="street_viewer", organisation=street_office)
    people = {"admin": admin, "acceptor": cast.acceptor, "shift_leader": cast.shift_leader,
              "dispatcher": cast.dispatcher, "viewer": cast.viewer, "area_viewer": area_viewer,
              "officer": cast.officer, "officer_elsewhere": cast.officer_elsewhere, "unit_member": cast.unit_member,
              "other_unit_member": cast.other_unit_member, "public": cast.public, "anonymous": None}
    dispatched = [("accept", cast.acceptor, {}), ("register", cast.shift_leader, {})]
    # a: grid A, the officer's report, held by unit A, with a photo
    a = report(cast, photos=[photo_record()])
    for action, actor, inputs in dispatched + [("dispatch", cast.dispatcher, {"unit": cast.unit})]:
        a = act(a, action, actor, **inputs)
    # b: grid B, the other officer's report, held by unit B, with a photo
    b = report(cast, by=cast.officer_elsewhere, at=IN_B, photos=[photo_record()])
    for action, actor, inputs in dispatched + [("dispatch", cast.dispatcher, {"unit": cast.other_unit})]:
        b = act(b, action, actor, **inputs)
    # moved: grid B, dispatched to unit A, returned, now held by unit B (unit A held it)
    moved = report(cast, by=cast.officer_elsewhere, at=IN_B)
    for action, actor, inputs in dispatched + [
            ("dispatch", cast.dispatcher, {"unit": cast.unit}), ("request_return", cast.unit_member, {"reason": "非本单位"}),
            ("approve_return", cast.dispatcher, {}), ("dispatch", cast.dispatcher, {"unit": cast.other_unit})]:
        moved = act(moved, action, actor, **inputs)
    # p: a citizen's report in grid A, with a photo (Open311 shows its public copy)
    p = report(cast, by=cast.public, source="public", photos=[photo_record()])
    everything = {a.pk, b.pk, moved.pk, p.pk}
    visible = {
        "admin": everything, "acceptor": everything, "shift_leader": everything, "dispatcher": everything,
        "viewer": everything, "area_viewer": {a.pk, p.pk},  # grid A's street only
        "officer": {a.pk, p.pk}, "officer_elsewhere": {b.pk, moved.pk},
        "unit_member": {a.pk, moved.pk}, "other_unit_member": {b.pk, moved.pk},
        "public": {p.pk}, "anonymous": set(),
    }
    own = {name: {c.pk for c in (a, b, moved, p) if user is not None and c.reporter_id == user.pk}
           for name, user in people.items()}
    cases = {"a": a, "b": b, "moved": moved, "p": p}
    assert {c.status for c in cases.values()} == {Status.HANDLING, Status.REPORTED}
    return cast, people, cases, visible, own


@pytest.fixture
def world():
    cast, people, cases, visible, own = build_world()
    clients = {}
    for name, user in people.items():
        clients[name] = Client()
        if user is not None:
            clients[name].force_login(user)
    return cast, people, cases, visible, own, clients


CONSOLE = {"admin", "acceptor", "shift_leader", "dispatcher", "viewer", "area_viewer"}


def _denied(code: int, who: str) -> bool:
    return code == 403 if who == "anonymous" else code == 404


# --- per object ----------------------------------------------------------------------------------

def test_each_case_answers_only_those_who_may_see_it(world):
    _cast, _people, cases, visible, _own, clients = world
    leaks = []
    for who, client in clients.items():
        for label, case in cases.items():
            may = case.pk in visible[who]
            checks = {"detail": client.get(f"/api/cases/{case.pk}").status_code}
            for photo in case.photos.all():
                for kind in ("thumbnail", "public", "original"):
                    checks[f"photo {kind}"] = client.get(f"/api/photos/{photo.pk}/{kind}").status_code
            for what, code in checks.items():
                if (may and code != 200) or (not may and not _denied(code, who)):
                    leaks.append(f"{who} → case {label} {what}: {code} (may see: {may})")
            code = client.get(f"/api/console/case/{case.pk}/suggestion").status_code
            want = (200 if may else 404) if who in CONSOLE else 403
            if code != want:
                leaks.append(f"{who} → case {label} console suggestion: {code}, want {want}")
    assert not leaks, "\n".join(leaks)


def test_acting_on_an_invisible_case_is_a_404_and_changes_nothing(world):
    _cast, _people, cases, visible, _own, clients = world
    wrong = []
    for who, client in clients.items():
        for label, case in cases.items():
            case.refresh_from_db()
            version = case.version
            # a centre action, a unit's and an officer's: each allowed to someone on some case
            for action in ("supervise", "request_extension", "check"):
                response = client.post(f"/api/cases/{case.pk}/transition",
                                       {"action": action, "version": version, "reason": "x", "amount_minutes": 60,
                                        "outcome": "fail"},
                                       content_type="application/json")
                if case.pk in visible[who]:
                    if response.status_code == 404:
                        wrong.append(f"{who} {action} on visible case {label}: 404")
                    if response.status_code == 200:
                        version = response.json()["version"]
                elif not _denied(response.status_code, who):
                    wrong.append(f"{who} {action} on invisible case {label}: {response.status_code}")
            case.refresh_from_db()
            if case.pk not in visible[who] and case.version != version:
                wrong.append(f"{who} changed invisible case {label}")
    assert not wrong, "\n".join(wrong)


def test_open311_and_status_pages_show_public_requests_only(world):
    _cast, _people, cases, _visible, _own, clients = world
    anyone = clients["anonymous"]
    for label, case in cases.items():
        public = label == "p"
        assert (anyone.get(f"/open311/v2/requests/{case.number}.json").status_code == 200) is public, label
        assert (anyone.get(f"/status/{case.number}").status_code == 200) is public, label
        for photo in case.photos.all():
            assert (anyone.get(f"/open311/v2/photos/{photo.pk}.jpg").status_code == 200) is public, label
    listed = anyone.get("/open311/v2/requests.json").json()
    assert {r["service_request_id"] for r in listed} <= {cases["p"].number}


# --- lists ---------------------------------------------------------------------------------------

def _ids(rows) -> set[int]:
    return {r["id"] for r in rows}


def test_every_list_holds_exactly_or_only_the_visible_cases(world):
    cast, people, cases, visible, own, clients = world
    numbers = {c.pk: c.number for c in cases.values()}
    leaks = []
    for who, client in clients.items():
        if who == "anonymous":
            for path in ("/api/cases/", "/api/cases/export.csv", "/api/cases/mine", "/api/alerts/",
                         "/api/console/queues", f"/api/cases/nearby?category={cast.category.pk}&lon={IN_A[0]}&lat={IN_A[1]}"):
                code = client.get(path).status_code
                if code != 403:
                    leaks.append(f"anonymous {path}: {code}")
            continue
        seen = _ids(client.get("/api/cases/?page_size=500").json()["results"])
        if seen != visible[who]:
            leaks.append(f"{who} list: {sorted(seen)} ≠ {sorted(visible[who])}")
        exported = {row[0] for row in list(csv.reader(io.StringIO(
            b"".join(client.get("/api/cases/export.csv").streaming_content).decode("utf-8-sig"))))[1:]}
        if exported != {numbers[i] for i in visible[who]}:
            leaks.append(f"{who} export: {sorted(exported)}")
        mine = _ids(client.get("/api/cases/mine").json()["results"])
        if mine != own[who]:
            leaks.append(f"{who} mine: {sorted(mine)} ≠ {sorted(own[who])}")
        for label, case in cases.items():
            near = _ids(client.get(f"/api/cases/nearby?category={cast.category.pk}&lon={case.lon}&lat={case.lat}")
                        .json()["results"])
            if near - visible[who]:
                leaks.append(f"{who} nearby case {label}: {sorted(near - visible[who])}")
        alerted = {a["case"]["id"] for a in client.get("/api/alerts/?limit=500").json()["results"] if a.get("case")}
        if alerted - visible[who]:
            leaks.append(f"{who} alerts about invisible cases {sorted(alerted - visible[who])}")
        queues = client.get("/api/console/queues")
        if who in CONSOLE:
            queued = {r["id"] for q in queues.json()["queues"] for r in q["rows"]}
            if queued - visible[who]:
                leaks.append(f"{who} console queues: {sorted(queued - visible[who])}")
            counted = set(client.get("/api/console/grid-counts").json()["results"])
            allowed = {c.grid.code for c in cases.values() if c.pk in visible[who] and c.is_open}
            if counted - allowed:
                leaks.append(f"{who} grid counts: {sorted(counted - allowed)}")
        elif queues.status_code != 403:
            leaks.append(f"{who} console queues: {queues.status_code}")
    assert not leaks, "\n".join(leaks)


def test_metric_drill_down_lists_only_cases_the_reader_may_see(world):
    cast, people, cases, visible, _own, clients = world
    from django.utils import timezone

    today = timezone.localdate()
    period = f"start={today.replace(day=1).isoformat()}&end={(today + timezone.timedelta(days=1)).isoformat()}"
    asks = {  # (who, level, subject) → may they read it?
        ("officer", "officer", cast.officer.username): True,
        ("officer", "officer", cast.officer_elsewhere.username): False,
        ("unit_member", "unit", str(cast.unit.pk)): True,
        ("unit_member", "unit", str(cast.other_unit.pk)): False,
        ("public", "unit", str(cast.unit.pk)): False,
        ("viewer", "unit", str(cast.other_unit.pk)): True,
    }
    wrong = []
    for (who, level, subject), may in asks.items():
        metric = "reports" if level == "officer" else "dispatched"
        response = clients[who].get(f"/api/metrics/cases?level={level}&id_or_code={subject}&metric={metric}&{period}")
        if not may:
            if response.status_code not in (403, 404):
                wrong.append(f"{who} reads {level} {subject}: {response.status_code}")
            continue
        assert response.status_code == 200, (who, level, subject, response.content[:300])
        numbers = set(response.json()["cases"])
        listed = {c.pk for c in cases.values() if c.number in numbers}
        if listed - visible[who]:
            wrong.append(f"{who} drill-down {level} {subject}: invisible {sorted(listed - visible[who])}")
    assert not wrong, "\n".join(wrong)


def test_patrol_coverage_of_another_officer_is_not_readable(world):
    cast, _people, _cases, _visible, _own, clients = world
    assert clients["officer"].get(f"/api/patrol/coverage?officer={cast.officer_elsewhere.username}").status_code == 404
    assert clients["officer"].get(f"/api/patrol/coverage?officer={cast.officer.username}").status_code == 200
    for who in ("unit_member", "public"):
        assert clients[who].get("/api/patrol/coverage").status_code == 403, who
    assert clients["anonymous"].get("/api/patrol/coverage").status_code == 403
    assert clients["dispatcher"].get(f"/api/patrol/coverage?officer={cast.officer_elsewhere.username}").status_code == 200


def test_reports_are_read_by_their_roles_only(world):
    """Reports are city-wide bulletins (DOMAIN §7): centre roles, unit members and administrators
    read them; officers and the public do not; only centre roles and administrators publish."""
    import datetime as dt

    from django.utils import timezone

    from reports import jobs
    from reports.periods import Kind, containing, previous

    _cast, _people, _cases, _visible, _own, clients = world
    span = previous(containing(Kind.WEEKLY, timezone.now()))
    report = jobs.request(span)
    assert jobs.publish(jobs._claim(timezone.now())).state == "published"
    readers = {"admin", "acceptor", "shift_leader", "dispatcher", "viewer", "area_viewer", "unit_member",
               "other_unit_member"}
    urls = ["/api/reports/", f"/api/reports/{report.pk}", f"/api/reports/weekly/{span.key}.pdf",
            f"/api/reports/weekly/{span.key}.html", "/reports/", "/metrics/?level=unit"]
    for who, client in clients.items():
        for url in urls:
            code = client.get(url).status_code
            if who in readers:
                assert code == 200, (who, url, code)
            elif who == "anonymous":
                assert code in (302, 403), (who, url, code)  # pages: to the sign-in page
            else:
                assert code == 403, (who, url, code)
        answer = client.post("/api/reports/", {"kind": "weekly", "period": (span.start - dt.timedelta(days=7)).date()
                                               .isoformat()}, content_type="application/json")
        publishers = {"admin", "acceptor", "shift_leader", "dispatcher", "viewer", "area_viewer"}
        assert answer.status_code == (202 if who in publishers else 403), (who, answer.status_code)
