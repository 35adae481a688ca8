"""Object-level permissions: every role × every endpoint that reads or acts on a case × own/other
object (docs/reliability.md §0.3: BOLA lives in lists, exports, searches and side doors).

Expectations come from the documented rules (cases/access.py's docstring, docs/domain.md §3), written
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
import json

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
    "case-detail": "object",
    "case-transition": "object",
    "case-photo": "object",
    "console-suggestion": "object",
    # lists of cases: exactly the visible ones (or a subset, for searches)
    "cases": "list",
    "case-export": "list",
    "case-mine": "list",
    "case-nearby": "list",
    "alerts": "list",
    "console-queues": "list",
    "console-grid-counts": "list",
    "metric-cases": "list",
    # per person, never about others' objects
    "alerts-unread": "own",
    "alerts-read": "own",
    "api-me": "own",
    "patrol-points": "own",
    # API tokens: one's own (administrators: anyone's), tests/test_security_auth.py
    "api-token-renew": "own",
    "api-logout": "own",
    "api-tokens": "own",
    "api-token-revoke": "own",
    "patrol-coverage": "role",
    "metrics": "role",
    "console-units": "role",
    "patrol-unpatrolled": "role",
    "patrol-track": "role",
    # public by design (docs/domain.md §10 Open311, the map layers, the dictionary): checked for what they
    # must not show (non-public cases, originals)
    "open311-request": "public",
    "open311-photo": "public",
    "case-status": "public",
    "open311-requests": "public",
    "open311-discovery": "no object",
    "open311-services": "no object",
    "open311-service": "no object",
    "open311-token": "no object (a submitter's own token)",
    "open311-not-found": "no object",
    "grid-layer": "no object",
    "area-layer": "no object",
    "grid-locate": "no object",
    "grid-detail": "no object (a grid, not a case: any signed-in person, docs/api.md)",
    "favicon": "no object (a redirect to the app icon)",
    "categories": "no object",
    "workflow": "no object",
    "api-token": "no object",
    "api-health": "no object",
    "schema": "no object",
    "api-docs": "no object",
    "ops-metrics": "no object (counts only; a token or this machine: tests/test_onboarding_ops.py)",
    # pages: shells only, their data comes from the APIs above
    # the handling unit's desk (server-rendered): test_the_unit_desk_shows_and_acts_on_its_own_cases_only
    "desk": "desk",
    "desk-queues": "desk",
    "desk-figures": "desk",
    "desk-case": "object",
    "desk-act": "object",
    # the centre's console (server-rendered): test_the_console_shows_and_acts_on_visible_cases_only
    "console-queues-page": "list",
    "console-search": "list",
    "console-alerts": "own",
    "console-case": "object",
    "console-find": "object",
    "console-act": "object",
    "home": "page",
    "console": "page",
    "m-home": "page",
    "m-report": "page",
    "m-tasks": "page",
    "m-task": "page",
    "m-mine": "page",
    "m-alerts": "page",
    "m-patrol": "page",
    "m-queue": "page",
    "m-session": "page",
    "m-manifest": "page",
    "m-sw": "page",
    "set_language": "page",
    "javascript-catalog": "no object (the words of the pages, tests/test_labels.py)",
    # Django's own: admin (staff only), login/logout/password views
    "admin:*": "django",
    "accounts:*": "django",
    # periodic reports: city-wide bulletins, read by role (test_reports_are_read_by_their_roles_only)
    "api-reports": "role",
    "api-report": "role",
    "report-file": "role",
    "reports-page": "role",
    "api-report-publish": "role",
    "report-review": "role",
    "metrics-page": "role",
    # campaigns (docs/domain.md §12): figures by role and area; the ledger by cases/access.py's rules
    # (tests/test_campaigns.py: test_who_sees_which_entries_and_figures)
    "campaign-construction": "role",
    "campaign-dumping": "role",
    "campaign-entries": "list",
}
AUTH_VIEWS = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


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
    names = _names(get_resolver().url_patterns) - {
        "<unnamed ^(?P<path>.*)$>"
    }  # open311's catch-all 404
    unclassified = sorted(names - set(ENDPOINTS))
    assert not unclassified, (
        f"classify these endpoints in ENDPOINTS (and check them): {unclassified}"
    )


# --- the world -----------------------------------------------------------------------------------


def build_world():
    cast = make_cast()
    admin = make_admin_user(username="root")
    street = Area.objects.get(code=cast.grid.code[:9])
    street_office = make_organisation(
        kind=Organisation.Kind.CENTRE, code="street-centre", area=street
    )
    area_viewer = make_user(role=Role.VIEWER, username="street_viewer", organisation=street_office)
    admin_role = make_user(
        role=Role.ADMIN, username="city_admin"
    )  # the administrator role, no superuser
    people = {
        "admin": admin,
        "admin_role": admin_role,
        "acceptor": cast.acceptor,
        "shift_leader": cast.shift_leader,
        "dispatcher": cast.dispatcher,
        "viewer": cast.viewer,
        "area_viewer": area_viewer,
        "officer": cast.officer,
        "officer_elsewhere": cast.officer_elsewhere,
        "unit_member": cast.unit_member,
        "other_unit_member": cast.other_unit_member,
        "public": cast.public,
        "anonymous": None,
    }
    dispatched = [("accept", cast.acceptor, {}), ("register", cast.shift_leader, {})]
    # a: grid A, the officer's report, held by unit A, with a photo
    a = report(cast, photos=[photo_record()])
    for action, actor, inputs in dispatched + [("dispatch", cast.dispatcher, {"unit": cast.unit})]:
        a = act(a, action, actor, **inputs)
    # b: grid B, the other officer's report, held by unit B, with a photo
    b = report(cast, by=cast.officer_elsewhere, at=IN_B, photos=[photo_record()])
    for action, actor, inputs in dispatched + [
        ("dispatch", cast.dispatcher, {"unit": cast.other_unit})
    ]:
        b = act(b, action, actor, **inputs)
    # moved: grid B, dispatched to unit A, returned, now held by unit B (unit A held it)
    moved = report(cast, by=cast.officer_elsewhere, at=IN_B)
    for action, actor, inputs in dispatched + [
        ("dispatch", cast.dispatcher, {"unit": cast.unit}),
        ("request_return", cast.unit_member, {"reason": "非本单位"}),
        ("approve_return", cast.dispatcher, {}),
        ("dispatch", cast.dispatcher, {"unit": cast.other_unit}),
    ]:
        moved = act(moved, action, actor, **inputs)
    # p: a citizen's report in grid A, with a photo (Open311 shows its public copy)
    p = report(cast, by=cast.public, source="public", photos=[photo_record()])
    # o: the officer's own report in grid B, outside the officer's grids
    o = report(cast, by=cast.officer, at=IN_B)
    everything = {a.pk, b.pk, moved.pk, p.pk, o.pk}
    visible = {
        "admin": everything,
        "admin_role": everything,
        "acceptor": everything,
        "shift_leader": everything,
        "dispatcher": everything,
        "viewer": everything,
        "area_viewer": {a.pk, p.pk},  # grid A's street only
        "officer": {a.pk, p.pk, o.pk},
        "officer_elsewhere": {b.pk, moved.pk, o.pk},
        "unit_member": {a.pk, moved.pk},
        "other_unit_member": {b.pk, moved.pk},
        "public": {p.pk},
        "anonymous": set(),
    }
    own = {
        name: {c.pk for c in (a, b, moved, p, o) if user is not None and c.reporter_id == user.pk}
        for name, user in people.items()
    }
    cases = {"a": a, "b": b, "moved": moved, "p": p, "o": o}
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


CONSOLE = {"admin", "admin_role", "acceptor", "shift_leader", "dispatcher", "viewer", "area_viewer"}


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
                    checks[f"photo {kind}"] = client.get(
                        f"/api/photos/{photo.pk}/{kind}"
                    ).status_code
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
                response = client.post(
                    f"/api/cases/{case.pk}/transition",
                    {
                        "action": action,
                        "version": version,
                        "reason": "x",
                        "amount_minutes": 60,
                        "outcome": "fail",
                    },
                    content_type="application/json",
                )
                if case.pk in visible[who]:
                    if response.status_code == 404:
                        wrong.append(f"{who} {action} on visible case {label}: 404")
                    if response.status_code == 200:
                        version = response.json()["version"]
                elif not _denied(response.status_code, who):
                    wrong.append(
                        f"{who} {action} on invisible case {label}: {response.status_code}"
                    )
            case.refresh_from_db()
            if case.pk not in visible[who] and case.version != version:
                wrong.append(f"{who} changed invisible case {label}")
    assert not wrong, "\n".join(wrong)


def test_open311_and_status_pages_show_public_requests_only(world):
    _cast, _people, cases, _visible, _own, clients = world
    anyone = clients["anonymous"]
    for label, case in cases.items():
        public = label == "p"
        assert (
            anyone.get(f"/open311/v2/requests/{case.number}.json").status_code == 200
        ) is public, label
        assert (anyone.get(f"/status/{case.number}").status_code == 200) is public, label
        for photo in case.photos.all():
            assert (
                anyone.get(f"/open311/v2/photos/{photo.pk}.jpg").status_code == 200
            ) is public, label
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
            for path in (
                "/api/cases/",
                "/api/cases/export.csv",
                "/api/cases/mine",
                "/api/alerts/",
                "/api/console/queues",
                f"/api/cases/nearby?category={cast.category.pk}&lon={IN_A[0]}&lat={IN_A[1]}",
            ):
                code = client.get(path).status_code
                if code != 403:
                    leaks.append(f"anonymous {path}: {code}")
            continue
        seen = _ids(client.get("/api/cases/?page_size=500").json()["results"])
        if seen != visible[who]:
            leaks.append(f"{who} list: {sorted(seen)} ≠ {sorted(visible[who])}")
        exported = {
            row[0]
            for row in list(
                csv.reader(
                    io.StringIO(
                        b"".join(client.get("/api/cases/export.csv").streaming_content).decode(
                            "utf-8-sig"
                        )
                    )
                )
            )[1:]
        }
        if exported != {numbers[i] for i in visible[who]}:
            leaks.append(f"{who} export: {sorted(exported)}")
        mine = _ids(client.get("/api/cases/mine").json()["results"])
        if mine != own[who]:
            leaks.append(f"{who} mine: {sorted(mine)} ≠ {sorted(own[who])}")
        for label, case in cases.items():
            near = _ids(
                client.get(
                    f"/api/cases/nearby?category={cast.category.pk}&lon={case.lon}&lat={case.lat}"
                ).json()["results"]
            )
            if near - visible[who]:
                leaks.append(f"{who} nearby case {label}: {sorted(near - visible[who])}")
        alerted = {
            a["case"]["id"]
            for a in client.get("/api/alerts/?limit=500").json()["results"]
            if a.get("case")
        }
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
        response = clients[who].get(
            f"/api/metrics/cases?level={level}&id_or_code={subject}&metric={metric}&{period}"
        )
        if not may:
            if response.status_code not in (403, 404):
                wrong.append(f"{who} reads {level} {subject}: {response.status_code}")
            continue
        assert response.status_code == 200, (who, level, subject, response.content[:300])
        numbers = set(response.json()["cases"])
        listed = {c.pk for c in cases.values() if c.number in numbers}
        if listed - visible[who]:
            wrong.append(
                f"{who} drill-down {level} {subject}: invisible {sorted(listed - visible[who])}"
            )
    assert not wrong, "\n".join(wrong)


def test_patrol_coverage_of_another_officer_is_not_readable(world):
    cast, _people, _cases, _visible, _own, clients = world
    assert (
        clients["officer"]
        .get(f"/api/patrol/coverage?officer={cast.officer_elsewhere.username}")
        .status_code
        == 404
    )
    assert (
        clients["officer"].get(f"/api/patrol/coverage?officer={cast.officer.username}").status_code
        == 200
    )
    for who in ("unit_member", "public"):
        assert clients[who].get("/api/patrol/coverage").status_code == 403, who
    assert clients["anonymous"].get("/api/patrol/coverage").status_code == 403
    assert (
        clients["dispatcher"]
        .get(f"/api/patrol/coverage?officer={cast.officer_elsewhere.username}")
        .status_code
        == 200
    )
    # The lists and tracks: the same readers; an officer sees only their own grids and track.
    assert (
        clients["officer"]
        .get(f"/api/patrol/track?officer={cast.officer_elsewhere.username}")
        .status_code
        == 404
    )
    assert (
        clients["officer"].get(f"/api/patrol/track?officer={cast.officer.username}").status_code
        == 200
    )
    for who in ("unit_member", "public", "anonymous"):
        assert clients[who].get("/api/patrol/unpatrolled").status_code == 403, who
        assert (
            clients[who].get(f"/api/patrol/track?officer={cast.officer.username}").status_code
            == 403
        ), who
    codes = {r["code"] for r in clients["officer"].get("/api/patrol/unpatrolled").json()["results"]}
    assert cast.other_grid.code not in codes


def test_reports_are_read_by_their_roles_only(world):
    """Reports are city-wide bulletins (docs/domain.md §7): centre roles, unit members and administrators
    read them; officers and the public do not; only centre roles and administrators publish."""
    import datetime as dt

    from django.utils import timezone

    from reports import jobs
    from reports.periods import Kind, containing, previous

    _cast, _people, _cases, _visible, _own, clients = world
    span = previous(containing(Kind.WEEKLY, timezone.now()))
    report = jobs.request(span)
    assert jobs.publish(jobs._claim(timezone.now())).state == "published"
    readers = {
        "admin",
        "admin_role",
        "acceptor",
        "shift_leader",
        "dispatcher",
        "viewer",
        "area_viewer",
        "unit_member",
        "other_unit_member",
    }
    urls = [
        "/api/reports/",
        f"/api/reports/{report.pk}",
        f"/api/reports/weekly/{span.key}.pdf",
        f"/api/reports/weekly/{span.key}.html",
        "/reports/",
        "/metrics/?level=unit",
    ]
    for who, client in clients.items():
        for url in urls:
            code = client.get(url).status_code
            if who in readers:
                assert code == 200, (who, url, code)
            elif who == "anonymous":
                assert code in (302, 403), (who, url, code)  # pages: to the sign-in page
            else:
                assert code == 403, (who, url, code)
        answer = client.post(
            "/api/reports/",
            {"kind": "weekly", "period": (span.start - dt.timedelta(days=7)).date().isoformat()},
            content_type="application/json",
        )
        publishers = {
            "admin",
            "admin_role",
            "acceptor",
            "shift_leader",
            "dispatcher",
            "viewer",
            "area_viewer",
        }
        assert answer.status_code == (202 if who in publishers else 403), (who, answer.status_code)


# --- the live map's sockets (issue #16 item 9): derived from cases/access.py -----------------------


def test_live_map_groups_admit_exactly_the_visible_cases(world):
    from cases.access import live_groups_for, live_groups_of

    _cast, people, cases, visible, _own, _clients = world
    wrong = []
    for who, user in people.items():
        if user is None:
            continue
        joined = set(live_groups_for(user))
        for label, case in cases.items():
            reaches = bool(
                joined & set(live_groups_of(Case.objects.select_related("grid").get(pk=case.pk)))
            )
            if reaches != (case.pk in visible[who]):
                wrong.append(
                    f"{who} ← case {label}: reaches {reaches}, may see {case.pk in visible[who]}"
                )
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_live_map_sockets_carry_exactly_the_visible_cases():
    """Every person's /ws/cases/ socket over the real ASGI stack; one change of each case; each
    socket gets the changes of the cases its person may see and no other. Anonymous: refused."""
    from asgiref.sync import async_to_sync, sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.conf import settings

    from alerts import relay
    from backend.asgi import application

    # Live-map changes queued in this process by earlier tests (no relay ran to push them) are not
    # this world's: the relay would push them to these sockets first.
    relay._live.clear()
    cast, people, cases, visible, _own = build_world()
    origin = (b"origin", b"http://testserver")

    def headers(user):
        if user is None:
            return [origin]
        client = Client()
        client.force_login(user)
        return [
            origin,
            (
                b"cookie",
                f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode(),
            ),
        ]

    cookies = {who: headers(user) for who, user in people.items()}

    def change_every_case():
        for case in cases.values():
            act(case, "supervise", cast.shift_leader)

    async def scenario():
        sockets, refused = {}, {}
        for who, hdrs in cookies.items():
            socket = WebsocketCommunicator(application, "/ws/cases/", headers=hdrs)
            connected, code = await socket.connect()
            if connected:
                sockets[who] = socket
            else:
                refused[who] = code
        await sync_to_async(change_every_case)()
        got = {}
        for who, socket in sockets.items():
            numbers = set()
            # receive_nothing waits without cancelling the application (receive_json_from's timeout would)
            while not await socket.receive_nothing(
                timeout=1.5 if not numbers else 0.5, interval=0.02
            ):
                numbers.add((await socket.receive_json_from())["case"]["number"])
            got[who] = numbers
            await socket.disconnect()
        return got, refused

    got, refused = async_to_sync(scenario)()
    assert set(refused) == {"anonymous"}
    numbers = {c.pk: c.number for c in cases.values()}
    wrong = [
        f"{who}: {sorted(seen)} ≠ {sorted(numbers[i] for i in visible[who])}"
        for who, seen in got.items()
        if seen != {numbers[i] for i in visible[who]}
    ]
    assert not wrong, "\n".join(wrong)


def test_the_public_reads_their_own_case_as_the_status_page_shows_it(world):
    cast, people, cases, _visible, _own, clients = world
    p = act(cases["p"], "reject", cast.acceptor, reason="举报人与邻居有纠纷，疑似恶意投诉")
    text = clients["public"].get(f"/api/cases/{p.pk}").content.decode()
    staff = {u.username for who, u in people.items() if u is not None and who != "public"}

    def values(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from values(v)
        elif isinstance(node, list):
            for v in node:
                yield from values(v)
        else:
            yield node

    leaked = staff & {v for v in values(json.loads(text)) if isinstance(v, str)}
    assert not leaked, leaked
    assert "恶意投诉" not in text and "不予受理" in text
    body = clients["public"].get(f"/api/cases/{p.pk}").json()
    assert body["status"] == "rejected" and body["allowed_actions"] == []


def test_grid_officers_are_listed_only_to_those_who_may_see_the_grid(world):
    cast, _people, _cases, _visible, _own, clients = world
    sees = {
        "admin",
        "admin_role",
        "acceptor",
        "shift_leader",
        "dispatcher",
        "viewer",
        "area_viewer",
        "officer",
        "unit_member",
        "other_unit_member",
    }
    for who, client in clients.items():
        response = client.get(f"/api/grids/{cast.grid.code}")
        if who == "anonymous":
            assert response.status_code == 403
            continue
        assert response.status_code == 200, (who, response.status_code)
        names = (
            {o["username"] for o in response.json()["officers"]}
            if response.json()["officers"]
            else set()
        )
        assert (cast.officer.username in names) is (who in sees), (who, names)


# --- the handling unit's desk (server-rendered pages and partials, docs/units.md) -----------------

DESK = {"unit_member", "other_unit_member"}


def _listed_beyond_sight(who: str, client, paths, want: int, sees: set[int]) -> list[str]:
    """Problems with `paths` for `who`: a status other than `want`, or a page (when it answers
    200) listing a case `who` may not see (`data-case` attributes)."""
    import re

    wrong = []
    for path in paths:
        response = client.get(path)
        if response.status_code != want:
            wrong.append(f"{who} {path}: {response.status_code}")
        elif want == 200:
            listed = {int(i) for i in re.findall(r'data-case="(\d+)"', response.content.decode())}
            if listed - sees:
                wrong.append(f"{who} {path} lists invisible cases {sorted(listed - sees)}")
    return wrong


def _desk_want(who: str, ok: int) -> int:
    if who in DESK:
        return ok
    return 302 if who in CONSOLE or who == "anonymous" else 403  # the centre goes to its console


def test_the_unit_desk_shows_and_acts_on_its_own_cases_only(world):
    _cast, _people, cases, visible, _own, clients = world
    wrong = []
    for who, client in clients.items():
        paths = (
            "/desk/",
            "/desk/queues",
            "/desk/figures",
            "/desk/figures?week=this&metric=dispatched",
        )
        wrong += _listed_beyond_sight(who, client, paths, _desk_want(who, 200), visible[who])
        for label, case in cases.items():
            case.refresh_from_db()
            may = case.pk in visible[who]
            code = client.get(f"/desk/case/{case.pk}", HTTP_HX_REQUEST="true").status_code
            if code != _desk_want(who, 200 if may else 404):
                wrong.append(f"{who} desk panel of case {label}: {code} (may see: {may})")
            before = case.version
            # A stale version: nothing may change whoever asks; a visible case answers the conflict.
            code = client.post(
                f"/desk/case/{case.pk}/act",
                {"action": "request_return", "version": 1, "reason": "x"},
                HTTP_HX_REQUEST="true",
            ).status_code
            if code != _desk_want(who, 409 if may else 404):
                wrong.append(f"{who} desk action on case {label}: {code} (may see: {may})")
            case.refresh_from_db()
            if case.version != before:
                wrong.append(f"{who} changed case {label} through the desk")
    assert not wrong, "\n".join(wrong)


def _console_want(who: str, ok: int) -> int:
    if who in CONSOLE:
        return ok
    return 302 if who == "anonymous" else 403


def test_the_console_shows_and_acts_on_visible_cases_only(world):
    _cast, _people, cases, visible, _own, clients = world
    wrong = []
    for who, client in clients.items():
        paths = (
            "/console/queues",
            "/console/queues?order=newest",
            "/console/search?q=20",
            "/console/alerts",
        )
        wrong += _listed_beyond_sight(who, client, paths, _console_want(who, 200), visible[who])
        for label, case in cases.items():
            case.refresh_from_db()
            may = case.pk in visible[who]
            for path in (f"/console/case/{case.pk}", f"/console/case?ref={case.number}"):
                code = client.get(path, HTTP_HX_REQUEST="true").status_code
                if code != _console_want(who, 200 if may else 404):
                    wrong.append(
                        f"{who} console panel {path} of case {label}: {code} (may see: {may})"
                    )
            before = case.version
            # A stale version: nothing may change whoever asks; a visible case answers the conflict.
            code = client.post(
                f"/console/case/{case.pk}/act",
                {"action": "supervise", "version": before + 100},
                HTTP_HX_REQUEST="true",
            ).status_code
            if (
                may and who in CONSOLE and code in (403, 409)
            ):  # not theirs to supervise, or the conflict
                code = 409
            if code != _console_want(who, 409 if may else 404):
                wrong.append(f"{who} console action on case {label}: {code} (may see: {may})")
            case.refresh_from_db()
            if case.version != before:
                wrong.append(f"{who} changed case {label} through the console")
    assert not wrong, "\n".join(wrong)
