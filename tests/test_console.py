"""The supervision-centre console at /console/ (docs/console.md): who may open it, its small JSON
API (frontend/api.py), and the console itself in Debian's Chromium — a dispatcher dispatching a
case from the map, and a new report appearing live (a real ASGI server, since live_server is WSGI).

Browser tests build their data before starting Playwright and check the database after it stops
(Playwright's sync API runs an event loop, inside which Django refuses synchronous ORM calls).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from alerts.models import Notification
from cases import workflow
from cases.models import Case, CaseStandard, Status
from people.models import Organisation, User
from tests.cast import IN_A, make_cast
from tests.conftest import screenshot_path
from tests.test_home_browser import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent


def config_of(response) -> dict:
    found = re.search(
        r'<script id="console-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(found.group(1))


def to_dispatching(cast, **report):
    case = workflow.report_case(
        workflow.Report(category=cast.category, lon=IN_A[0], lat=IN_A[1], **report),
        reporter=cast.officer,
    )
    for action, who in [("accept", cast.acceptor), ("register", cast.shift_leader)]:
        case.refresh_from_db()
        workflow.transition(case, action, actor=who, version=case.version)
    case.refresh_from_db()
    return case


# --- The page and who may open it ----------------------------------------------------------------


@pytest.mark.django_db
def test_console_sends_the_signed_out_to_login_and_others_a_clear_403():
    cast = make_cast()
    anonymous = Client().get("/console/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(
        "/accounts/login/?next=/console/"
    )
    to_desk = cast.client(cast.unit_member).get("/console/")  # a handling unit works at its desk
    assert to_desk.status_code == 302 and to_desk["Location"] == "/desk/"
    for user in (cast.officer, cast.public):
        response = cast.client(user).get("/console/")
        assert response.status_code == 403
        assert "The console is for the supervision centre" in response.content.decode()
        assert "监督指挥中心" in response.content.decode()
    for user in (cast.acceptor, cast.shift_leader, cast.dispatcher, cast.viewer):
        assert cast.client(user).get("/console/").status_code == 200


@pytest.mark.django_db
def test_console_config_lists_the_role_queues_first_and_what_each_action_needs(settings):
    cast = make_cast()
    config = config_of(cast.client(cast.dispatcher).get("/console/"))
    assert config["queues"][:2] == ["dispatch", "requests"] and config["myQueues"] == [
        "dispatch",
        "requests",
    ]
    assert (
        "actionNeeds" not in config
    )  # the forms are rendered from cases.workflow.TABLE on the server
    assert config["tilesUrl"] == "" and config["tilesGcj02"] is False
    assert config_of(cast.client(cast.acceptor).get("/console/"))["queues"][:2] == [
        "accept",
        "verify",
    ]
    # GCJ-02 tiles: the GRIDCASE_TILES_GCJ02 setting (backend/settings.py reads the environment).
    settings.GRIDCASE_TILES_GCJ02 = True
    assert config_of(cast.client(cast.dispatcher).get("/console/"))["tilesGcj02"] is True
    settings.GRIDCASE_TILES_GCJ02 = False
    assert config_of(cast.client(cast.dispatcher).get("/console/"))["tilesGcj02"] is False


# --- The console's JSON API ------------------------------------------------------------------------


@pytest.mark.django_db
def test_units_lists_active_handling_units_for_the_centre_only():
    cast = make_cast()
    Organisation.objects.create(
        code="closed", name="撤销单位", kind=Organisation.Kind.HANDLING_UNIT, active=False
    )
    body = cast.client(cast.dispatcher).get("/api/units/").json()
    assert body == sorted(
        [{"id": cast.unit.pk, "name": "执法大队"}, {"id": cast.other_unit.pk, "name": "环卫所"}],
        key=lambda u: u["name"],
    )
    assert cast.client(cast.officer).get("/api/units/").status_code == 403
    assert Client().get("/api/units/").status_code in (401, 403)


@pytest.mark.django_db
def test_suggestion_is_the_small_class_default_handling_unit():
    cast = make_cast()
    case = to_dispatching(cast)
    url = f"/api/console/case/{case.pk}/suggestion"
    assert cast.client(cast.dispatcher).get(url).json()["suggested_unit"] is None
    CaseStandard.objects.update_or_create(
        small_class=cast.category, defaults={"default_handling_unit": cast.other_unit}
    )
    assert cast.client(cast.dispatcher).get(url).json()["suggested_unit"] == {
        "id": cast.other_unit.pk,
        "name": "环卫所",
    }
    assert cast.client(cast.officer).get(url).status_code == 403


@pytest.mark.django_db
def test_queues_carry_exactly_the_callers_allowed_actions():
    cast = make_cast()
    CaseStandard.objects.update_or_create(
        small_class=cast.category, defaults={"default_handling_unit": cast.unit}
    )
    waiting = to_dispatching(cast)
    reported = workflow.report_case(
        workflow.Report(category=cast.category, lon=IN_A[0], lat=IN_A[1]), reporter=cast.officer
    )
    queues = {
        q["key"]: q
        for q in cast.client(cast.dispatcher).get("/api/console/queues").json()["queues"]
    }
    assert list(queues)[:2] == ["dispatch", "requests"]
    assert [r["id"] for r in queues["dispatch"]["rows"]] == [waiting.pk] and queues["dispatch"][
        "count"
    ] == 1
    assert queues["dispatch"]["rows"][0]["allowed_actions"] == ["dispatch"]
    assert queues["dispatch"]["rows"][0]["suggested_unit"] == {
        "id": cast.unit.pk,
        "name": "执法大队",
    }
    assert queues["accept"]["rows"][0]["id"] == reported.pk
    assert queues["accept"]["rows"][0]["allowed_actions"] == []  # a dispatcher does not accept
    acceptor = {
        q["key"]: q for q in cast.client(cast.acceptor).get("/api/console/queues").json()["queues"]
    }
    assert acceptor["accept"]["rows"][0]["allowed_actions"] == [
        "send_verify",
        "accept",
        "reject",
        "merge",
        "relocate",
    ]
    # A request from the unit lands in the dispatcher's "requests" queue with approve/deny.
    workflow.transition(
        waiting,
        "dispatch",
        actor=cast.dispatcher,
        version=waiting.version,
        inputs=workflow.Inputs(unit=cast.unit),
    )
    waiting.refresh_from_db()
    workflow.transition(
        waiting,
        "request_return",
        actor=cast.unit_member,
        version=waiting.version,
        inputs=workflow.Inputs(reason="不归我单位"),
    )
    queues = {
        q["key"]: q
        for q in cast.client(cast.dispatcher).get("/api/console/queues").json()["queues"]
    }
    assert queues["requests"]["rows"][0]["allowed_actions"] == ["approve_return", "deny_return"]
    assert cast.client(cast.officer).get("/api/console/queues").status_code == 403


@pytest.mark.django_db
def test_grid_counts_count_open_cases_per_grid():
    cast = make_cast()
    to_dispatching(cast)
    workflow.report_case(
        workflow.Report(category=cast.category, lon=IN_A[0], lat=IN_A[1]), reporter=cast.officer
    )
    body = cast.client(cast.dispatcher).get("/api/console/grid-counts").json()
    assert body["results"] == {cast.grid.code: {"open": 2, "overdue": 0}}
    assert (
        cast.client(cast.dispatcher).get("/api/console/grid-counts?area=320506").json()["results"]
        == {}
    )


# --- In the browser ---------------------------------------------------------------------------------------


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/accounts/login/?next=/console/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click(".gc-login button[type=submit]")
    page.wait_for_selector("#console[data-state=ready]", state="attached", timeout=30000)


GRID_FILLS = """() => Array.from(document.querySelectorAll('path.gcc-grid'))
    .map((p) => p.getAttribute('fill'))"""
LEGEND_COLOURS = """() => Array.from(document.querySelectorAll('#gcc-legend li[data-colour]'))
    .map((li) => li.dataset.colour)"""


def _one_waiting_for_dispatch() -> Case:
    """A street-occupation case the demo officer reports in their grid, accepted and registered
    through the workflow's front doors (the demo's own people)."""
    import shapely

    from cases import workflow
    from cases.models import SmallClass
    from grids.models import GridAssignment

    officer = User.objects.get(username="officer")
    grid = (
        GridAssignment.objects.in_force()
        .filter(officer=officer)
        .select_related("grid")
        .first()
        .grid
    )
    point = shapely.from_geojson(grid.geometry).representative_point()
    category = SmallClass.objects.available().filter(code="09005").first()
    case = workflow.report_case(
        workflow.Report(
            category=category, lon=point.x, lat=point.y, description="店外占道经营摆放货架"
        ),
        reporter=officer,
    )
    for action, who in (("accept", "acceptor"), ("register", "shiftleader")):
        workflow.transition(
            case, action, actor=User.objects.get(username=who), version=case.version
        )
        case.refresh_from_db()
    return case


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_sees_coloured_grids_and_dispatches_a_case_from_the_map(
    live_server, chromium_path
):
    from playwright.sync_api import sync_playwright

    with override_settings(DEMO=True):
        call_command("load_demo", cases=40, patrol_weeks=0, stdout=open(os.devnull, "w"))
    waiting = Case.objects.filter(status=Status.DISPATCHING).order_by("pk").first()
    if (
        waiting is None
    ):  # the demo's history may end with none waiting at this hour: one more, as people do
        waiting = _one_waiting_for_dispatch()
    assert waiting is not None, "the demo city has a case waiting for dispatch"
    unit = Organisation.objects.get(code="unit-enforcement")
    member = User.objects.get(username="unit", organisation=unit)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error) + (error.stack or "")))
            sign_in(page, live_server.url, "dispatcher", "gridcase-demo")
            # The grids are coloured, every fill one of the legend's colours.
            fills = page.evaluate(GRID_FILLS)
            legend = page.evaluate(LEGEND_COLOURS)
            assert len(fills) > 100 and set(fills) <= set(legend), set(fills) - set(legend)
            # Open cases on the map: a queue of work at the side.
            expect_count = page.locator(".gcc-queue[data-queue=dispatch] .gcc-count").inner_text()
            assert int(expect_count) >= 1
            page.screenshot(path=str(screenshot_path("console-map.png")))
            # The metric can be switched: open cases per grid, a count scale.
            page.select_option("#gcc-metric", "open")
            fills = page.evaluate(GRID_FILLS)
            assert set(fills) <= set(page.evaluate(LEGEND_COLOURS)) and len(set(fills)) >= 2
            page.screenshot(path=str(screenshot_path("console-map-open-cases.png")))

            # Open the waiting case from the map and dispatch it.
            page.evaluate(f"window.gridcaseConsole.focusCase({waiting.pk}, false)")
            page.locator(f"path.gcc-case-{waiting.pk}").click()
            page.wait_for_selector(
                f"#gcc-panel[data-case='{waiting.pk}'] form[data-action=dispatch]"
            )
            panel = page.locator("#gcc-panel")
            assert panel.locator(".gcc-actions button[data-action]").all_inner_texts() == [
                "Dispatch"
            ]
            panel.locator("form[data-action=dispatch] select[name=unit]").select_option(
                str(unit.pk)
            )
            page.screenshot(path=str(screenshot_path("console-case.png")))
            panel.locator("form[data-action=dispatch] button[type=submit]").click()
            page.wait_for_selector(f"#gcc-panel[data-case='{waiting.pk}'][data-status=handling]")
            assert "done" in page.locator("#gcc-panel .gcc-panel-message").inner_text()
            page.wait_for_selector(
                f".gcc-queue[data-queue=dispatch] [data-case='{waiting.pk}']", state="detached"
            )
            page.screenshot(path=str(screenshot_path("console-dispatched.png")))
            assert not errors, errors
        finally:
            browser.close()

    detail = Client()
    detail.force_login(User.objects.get(username="dispatcher"))
    body = detail.get(f"/api/cases/{waiting.pk}").json()
    assert body["status"] == "handling" and body["unit"]["id"] == unit.pk
    assert Notification.objects.filter(user=member, kind="dispatched", case_id=waiting.pk).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_stale_version_shows_the_servers_message_and_reloads_the_case(live_server, chromium_path):
    from playwright.sync_api import sync_playwright

    cast = make_cast()
    for user in (cast.dispatcher,):
        user.set_password("pw-console-1")
        user.save()
    case = to_dispatching(cast)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
            sign_in(page, live_server.url, "dispatcher", "pw-console-1")
            page.locator(f".gcc-queue[data-queue=dispatch] [data-case='{case.pk}']").click()
            page.wait_for_selector(f"#gcc-panel[data-case='{case.pk}'] form[data-action=dispatch]")
            # Someone else dispatches first, through the API, with the same session.
            status = page.evaluate(
                """async ([id, version, unit]) => {
                const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
                const r = await fetch('/api/cases/' + id + '/transition', {method: 'POST', credentials: 'same-origin',
                  headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
                  body: JSON.stringify({action: 'dispatch', version: version, unit: unit})});
                return r.status; }""",
                [case.pk, case.version, cast.other_unit.pk],
            )
            assert status == 200
            page.locator("#gcc-panel form[data-action=dispatch] select[name=unit]").select_option(
                str(cast.unit.pk)
            )
            page.locator("#gcc-panel form[data-action=dispatch] button[type=submit]").click()
            page.wait_for_selector(
                f"#gcc-panel[data-case='{case.pk}'][data-status=handling] .gcc-error"
            )
            message = page.locator("#gcc-panel .gcc-panel-message").inner_text()
            assert "Someone else changed this case" in message and "reload" in message
            page.screenshot(path=str(screenshot_path("console-conflict.png")))
        finally:
            browser.close()
    case.refresh_from_db()
    assert (
        case.unit_id == cast.other_unit.pk
    )  # the first dispatch stands, the second changed nothing


# --- Live: a real ASGI server (Daphne through `manage.py serve`) ------------------------------------------------

ASGI_CITY_SETUP = """
import django, json; django.setup()
from people.tokens import key_for
from tests.cast import make_cast
cast = make_cast()
cast.acceptor.set_password('pw-live-1'); cast.acceptor.save()
print(json.dumps({'token': key_for(cast.officer), 'category': cast.category.pk}))
"""


@pytest.mark.browser
def test_a_case_reported_elsewhere_appears_on_the_open_console_within_two_seconds(
    asgi_city, chromium_path
):
    from playwright.sync_api import sync_playwright

    base, setup = asgi_city
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="en-US")
            sign_in(page, base, "acceptor", "pw-live-1")
            page.wait_for_function(
                "() => (document.getElementById('console').dataset.live || '').includes('/ws/cases/')"
                " && document.getElementById('console').dataset.live.includes('/ws/alerts/')"
            )
            assert page.locator(".gcc-queue[data-queue=accept] .gcc-count").inner_text() == "0"
            # An officer reports through the API, from another client.
            body = json.dumps(
                {
                    "category": setup["category"],
                    "lon": IN_A[0],
                    "lat": IN_A[1],
                    "description": "人行道上堆放建筑垃圾",
                }
            ).encode()
            request = urllib.request.Request(
                base + "/api/cases/",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Token {setup['token']}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=10) as response:
                case = json.loads(response.read())
            page.wait_for_selector(f"path.gcc-case-{case['id']}", state="attached", timeout=2000)
            page.wait_for_selector(
                f".gcc-queue[data-queue=accept] [data-case='{case['id']}']", timeout=2000
            )
            page.wait_for_function(
                "() => !document.getElementById('gcc-alert-badge').hidden", timeout=2000
            )
            assert time.monotonic() - started < 2.5
            assert page.locator(".gcc-queue[data-queue=accept] .gcc-count").inner_text() == "1"
            # The toast of the new report opens it with a click.
            page.locator("#gcc-toast.gcc-clickable").click()
            page.wait_for_selector(f"#gcc-panel[data-case='{case['id']}'][data-status=reported]")
            row = page.locator(f".gcc-queue[data-queue=accept] [data-case='{case['id']}']")
            # (The server process speaks its default Chinese: compare actions, not labels.)
            assert [
                b.get_attribute("data-action") for b in row.locator("button[data-action]").all()
            ] == ["send_verify", "accept", "reject", "merge", "relocate"]
            page.evaluate(f"window.gridcaseConsole.focusCase({case['id']}, false)")
            page.wait_for_timeout(800)  # the zoom animation
            page.screenshot(path=str(screenshot_path("console-live.png")))
            # Accept it from the list: it leaves the queue.
            row.locator("button[data-action=accept]").click()
            page.wait_for_selector(
                f".gcc-queue[data-queue=accept] [data-case='{case['id']}']", state="detached"
            )
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_the_console_speaks_chinese_and_converts_wgs84_to_gcj02_for_tiles(
    live_server, chromium_path
):
    from playwright.sync_api import sync_playwright

    cast = make_cast()
    cast.shift_leader.set_password("pw-console-2")
    cast.shift_leader.save()
    to_dispatching(cast)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            sign_in(page, live_server.url, "shiftleader", "pw-console-2")
            assert page.locator("#gcc-queues-title").inner_text() == "工作队列"
            assert (
                page.locator(".gcc-queue[data-queue=register] summary")
                .inner_text()
                .startswith("待立案")
            )
            assert "样本不足" in page.locator("#gcc-legend").inner_text()
            # The public WGS84 → GCJ-02 formula: Tiananmen and Suzhou shift by a few hundred metres.
            lon, lat = page.evaluate("window.gridcaseConsole.toGcj(116.397428, 39.90923)")
            assert (round(lon, 4), round(lat, 4)) == (116.4037, 39.9106)
            lon, lat = page.evaluate("window.gridcaseConsole.toGcj(120.7005, 31.3005)")
            assert 0.003 < lon - 120.7005 < 0.006 and -0.003 < lat - 31.3005 < 0.0
            assert page.evaluate("window.gridcaseConsole.toGcj(2.35, 48.85)") == [
                2.35,
                48.85,
            ]  # outside China
        finally:
            browser.close()
