"""A handling unit's field crew on the phone app /m/ (docs/units.md): their home and 任务 tab are the
unit's cases, nearest first; feedback with before/after photos queued offline is sent exactly once;
no report or patrol screen is offered. Chromium with phone emulation (tests/test_mobile.py's helpers).
Screenshots go to docs/screenshots/ only with GRIDCASE_SCREENSHOTS=1 (else a temporary folder)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from cases.models import CaseEvent, Photo, Status
from tests.cast import case_in, make_cast
from tests.conftest import screenshot_path
from tests.test_home_browser import remote_requests
from tests.test_mobile import HERE, PASSWORD, phone, photo_file, wait_for_service_worker


def shot(page, name: str) -> None:
    page.screenshot(path=screenshot_path(f"{name}.png"))


def sign_in_unit(page, base: str, username: str = "unit") -> None:
    page.goto(base + "/m/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/m/"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".gc-login button[type=submit]")
    expect(page).to_have_url(base + "/m/")
    expect(page.locator("#home-user")).to_contain_text(username)


@pytest.mark.django_db
def test_the_phone_shells_mark_officer_only_screens_and_the_unit_cards():
    cast = make_cast()
    client = cast.client(cast.unit_member)
    home = client.get("/m/").content.decode()
    assert 'id="tile-report" data-no-crew' in home and 'id="tile-handle" data-crew-only' in home
    assert re.search(r'href="/m/report" data-no-crew', home) and re.search(
        r'href="/m/patrol" data-no-crew', home
    )
    tasks = client.get("/m/tasks").content.decode()
    assert (
        'id="handle-list"' in tasks
        and 'id="before-photos"' in client.get("/m/task").content.decode()
    )


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_a_crew_member_gives_feedback_offline_and_the_case_holds_exactly_one_feedback_event(
    live_server, chromium_path
):
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    far = case_in(cast, Status.HANDLING)
    far.lon, far.lat = far.lon + 0.01, far.lat  # ~950 m east: listed after the near one
    far.save(update_fields=["lon", "lat"])
    theirs = case_in(cast, Status.HANDLING)
    theirs.unit = cast.other_unit
    theirs.save(update_fields=["unit"])
    base = live_server.url

    with phone(chromium_path, geolocation=HERE) as (context, page, seen):
        sign_in_unit(page, base)
        wait_for_service_worker(page)
        # Their home: the unit's tasks, no 上报 / 巡查 / 我的上报.
        expect(page.locator("#home-tasks")).to_have_text("2")
        expect(page.locator("#tile-handle")).to_be_visible()
        for hidden in (
            "#tile-report",
            "#tile-patrol",
            "#tile-mine",
            '.m-tabs a[href="/m/report"]',
            '.m-tabs a[href="/m/patrol"]',
        ):
            expect(page.locator(hidden)).to_be_hidden()
        # Every link a crew member is shown answers 200 (no 403 page behind any of them).
        shown = page.evaluate("""() => Array.from(document.querySelectorAll('a[href]'))
            .filter((a) => a.getClientRects().length > 0).map((a) => a.getAttribute('href'))""")
        assert {"/m/", "/m/tasks", "/m/alerts", "/m/queue"} <= set(
            shown
        ) and "/m/report" not in shown, shown
        assert {
            href: context.request.get(base + href).status for href in shown if href.startswith("/")
        } == {href: 200 for href in shown if href.startswith("/")}
        page.click("#tile-handle")
        rows = page.locator("#handle-list a")
        expect(rows).to_have_count(2)
        expect(rows.first).to_have_attribute("data-case-id", str(case.pk))  # nearest first
        expect(rows.first).to_contain_text("北 40 米")
        expect(rows.nth(1)).to_contain_text("东 951 米")
        shot(page, "units-phone-tasks")
        rows.first.click()
        expect(page.locator("#action-title")).to_have_text("现场处置")
        expect(page.locator("#outcomes label")).to_have_text(
            ["处置反馈", "申请回退", "申请延期", "申请挂账"]
        )

        # Offline: the feedback with a before and an after photo is stored on the phone.
        context.set_offline(True)
        expect(page.locator("#m-net")).to_have_text("离线")
        page.set_input_files(
            "#before-photos", files=[photo_file("before.jpg", colour=(90, 90, 90))]
        )
        page.set_input_files("#action-photos", files=[photo_file("after.jpg")])
        expect(page.locator("#before-photo-list img")).to_have_count(1)
        expect(page.locator("#action-photo-list img")).to_have_count(1)
        page.fill("#action-reason", "已拆除违章搭建")
        shot(page, "units-phone-task")
        page.click("#action-submit")
        expect(page.locator("#action-done-title")).to_have_text("已保存到本机")
        expect(page.locator("#m-unsynced")).to_have_text("1 条未同步 · 查看")

        page.reload()  # still offline: the cached shell, the item in IndexedDB
        expect(page.locator("#m-net")).to_have_text("离线")
        expect(page.locator("#action-done-title")).to_have_text("已保存到本机")

        context.set_offline(False)  # `online` sends it, once
        expect(page.locator("#action-done-title")).to_have_text("已提交", timeout=30_000)
        expect(page.locator("#m-unsynced")).to_be_hidden()
        # Sending again and reopening the app change nothing.
        page.goto(base + "/m/queue")
        page.click("#queue-send")
        expect(page.locator("#queue-list > li .m-chip")).to_have_text("已发送")
        page.goto(base + f"/m/task?id={case.pk}")
        expect(page.locator("#action-done-title")).to_have_text("没有待办")
        expect(page.locator("#case-events")).to_contain_text("处置反馈")
        body = context.request.get(base + f"/api/cases/{case.pk}").json()

    assert body["status"] == "checking"
    feedback = CaseEvent.objects.filter(case=case, action="feedback")
    assert feedback.count() == 1
    event = feedback.get()
    assert (event.actor, event.reason) == (cast.unit_member, "已拆除违章搭建")
    photos = list(Photo.objects.filter(event=event).order_by("id"))
    assert len(photos) == 2 and {p.stage for p in photos} == {"feedback"}
    # Compressed on the phone (≤ 1600 px), the camera's EXIF kept as evidence.
    assert all(
        max(p.width, p.height) <= 1600 and p.taken_at is not None and p.gps_lon is not None
        for p in photos
    )
    assert (
        not CaseEvent.objects.filter(case=theirs)
        .exclude(action__in=["report", "accept", "register", "dispatch"])
        .exists()
    )
    assert seen["errors"] == [] and remote_requests(seen["requests"]) == []


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_the_crews_feedback_on_an_illegal_construction_case_asks_the_disposition(
    live_server, chromium_path
):
    """A ledger case's feedback names its disposition on the phone as on the desk (docs/domain.md §12); the
    form says what is missing before sending, and the event records the disposition."""
    from tests.test_campaigns import make_world, report_construction, to_handling

    world = make_world()
    case = to_handling(world, report_construction(world, area=40))
    plain = case_in(world.cast, Status.HANDLING)
    base = live_server.url

    with phone(chromium_path, geolocation=HERE) as (context, page, seen):
        sign_in_unit(page, base)
        page.goto(base + f"/m/task?id={plain.pk}")
        expect(page.locator("#action-title")).to_have_text("现场处置")
        expect(page.locator("#disposition-box")).to_be_hidden()
        page.goto(base + f"/m/task?id={case.pk}")
        expect(page.locator("#disposition-box")).to_be_visible()
        expect(page.locator("#disposition-entry")).to_contain_text("40")
        page.set_input_files("#action-photos", files=[photo_file("after.jpg")])
        expect(page.locator("#action-photo-list img")).to_have_count(1)
        page.click("#action-submit")
        expect(page.locator("#action-error")).to_have_text("请选择处置方式")
        page.select_option("#action-disposition", "demolish")
        page.click("#action-submit")
        expect(page.locator("#action-error")).to_have_text("请填写拆除面积（m²）")
        page.fill("#action-demolished", "25")
        page.click("#action-submit")
        expect(page.locator("#action-done-title")).to_have_text("已提交", timeout=30_000)
    event = CaseEvent.objects.filter(case=case, action="feedback").get()
    assert (event.data["disposition"], Decimal(event.data["demolished_m2"])) == (
        "demolish",
        Decimal(25),
    )
    assert seen["errors"] == []
