"""The mobile app at /m/ (issue #7) in Debian's Chromium with phone emulation (Playwright): sign in,
report with a photo, report offline and reload, a lost answer, verify and check tasks, patrol,
alerts, and a 360×740 layout check. Plus the page shells, the manifest and the service worker
through the test client.

Browser tests build their data before starting Playwright and check the database after it stops:
Playwright's sync API runs an event loop, inside which Django refuses synchronous ORM calls. In
between they read the server through the API (`context.request`, with the page's cookies).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from alerts.models import Notification
from cases.categories import CONSTRUCTION_SCHEMA
from cases.models import Case, CaseEvent, Photo, SmallClass, Status
from patrol.models import PatrolSettings, TrackPoint
from tests.cast import IN_A, case_in, make_cast
from tests.conftest import screenshot_path
from tests.factories import make_small_class
from tests.test_home_browser import CHROMIUM_ARGS, remote_requests

PASSWORD = "pw-for-tests-1"
# The officer stands ~40 m south of the middle of grid A, still inside it.
HERE = {"longitude": IN_A[0], "latitude": IN_A[1] - 0.00036, "accuracy": 12}
TIMEOUT_MS = 20_000


def phone_jpeg(size=(2400, 1800), *, orientation: int = 1, colour=(180, 90, 40)) -> bytes:
    """A camera-like JPEG with EXIF time, GPS and orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:05:01 09:30:00"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (31, 18, 1.8)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (120, 42, 1.8)
    image = Image.new("RGB", size, colour)
    image.paste((20, 20, 20), (0, 0, size[0] // 4, size[1] // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def photo_file(name="scene.jpg", **kwargs) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": phone_jpeg(**kwargs)}


@contextlib.contextmanager
def phone(
    chromium_path: str, *, geolocation: dict | None = None
) -> Iterator[tuple[BrowserContext, Page, dict]]:
    """A 360×740 touch phone in zh-CN with its position; `seen` collects requests and script errors."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                has_touch=True,
                device_scale_factor=2,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                geolocation=geolocation or HERE,
                permissions=["geolocation"],
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            seen: dict = {"requests": [], "errors": []}
            page.on("request", lambda request: seen["requests"].append(request.url))
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            yield context, page, seen
        finally:
            browser.close()


def sign_in(page: Page, base: str, username: str = "officer", *, screenshot: bool = False) -> None:
    page.goto(base + "/m/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/m/"))
    if screenshot:
        shot(page, "login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".gc-login button[type=submit]")
    expect(page).to_have_url(base + "/m/")
    expect(page.locator("#home-user")).to_contain_text(username)


def wait_for_service_worker(page: Page) -> None:
    """The worker installed (the app shell is cached) and controls the page."""
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )  # a function: the CSP forbids eval


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    page.screenshot(path=screenshot_path(f"mobile-{name}.png"), full_page=full_page)


def choose_category(page: Page, name: str) -> None:
    page.click("#category-button")
    page.locator("#category-lists .m-option", has_text=name).first.click()
    expect(page.locator("#category-sheet")).to_be_hidden()
    expect(page.locator("#category-button")).to_contain_text(name)


def fill_report(page: Page, *, photos: list[dict], description: str = "人行道上搭建彩钢棚") -> None:
    expect(page.locator("#pos-status")).to_have_attribute("data-state", "good")
    choose_category(page, "私搭乱建")
    page.set_input_files("#photos", files=photos)
    expect(page.locator("#photo-list img")).to_have_count(len(photos))
    page.fill("#description", description)


def in_thread(work):
    """Run ORM code while Playwright's event loop runs in this thread (Django refuses it here)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0] if result else None


def cases_via_api(context: BrowserContext, base: str) -> list[dict]:
    return context.request.get(base + "/api/cases/mine").json()["results"]


# --- shells, manifest, service worker (test client; also on PostgreSQL) -------------------------


@pytest.mark.django_db
def test_every_mobile_screen_needs_a_sign_in_and_comes_back_after_it(client):
    cast = make_cast()
    for path in (
        "/m/",
        "/m/report",
        "/m/tasks",
        "/m/task",
        "/m/mine",
        "/m/alerts",
        "/m/patrol",
        "/m/queue",
    ):
        response = client.get(path)
        assert (
            response.status_code == 302 and response["Location"] == f"/accounts/login/?next={path}"
        ), path
    client.force_login(cast.officer)
    page = client.get("/m/report")
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-cache"
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert [a for a in assets if a.startswith(("http:", "https:", "//"))] == []
    assert "/static/leaflet/leaflet.js" in assets and "/static/frontend/mobile/report.js" in assets
    # A shell holds nothing about the person: the service worker hands it to whoever opens the app.
    assert "officer" not in html and "csrfmiddlewaretoken" not in html


@pytest.mark.django_db
def test_the_manifest_makes_the_app_installable_at_m(client):
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/m/", "/m/", "standalone")
    sizes = {icon["sizes"]: icon for icon in body["icons"]}
    assert {"192x192", "512x512"} <= set(sizes)
    for icon in body["icons"]:
        static = Path(__file__).resolve().parent.parent / "frontend" / "static"
        path = static / icon["src"].removeprefix("/static/")
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"


@pytest.mark.django_db
def test_the_service_worker_is_served_from_m_and_lists_the_app_shell(client):
    response = client.get("/m/sw.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache" and response["Service-Worker-Allowed"] == "/m/"
    text = response.content.decode()
    pages = json.loads(re.search(r"const PAGES = (\[.*?\]);", text).group(1))
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", text).group(1))
    assert set(pages) == {
        "/m/",
        "/m/report",
        "/m/tasks",
        "/m/task",
        "/m/mine",
        "/m/alerts",
        "/m/patrol",
        "/m/queue",
        "/jsi18n/",
    }  # the words: cached like a page (it follows the language)
    assert 'importScripts(CATALOG, "/static/frontend/mobile/core.js")' in text
    assert {
        "/static/leaflet/leaflet.js",
        "/static/frontend/mobile/core.js",
        "/static/frontend/mobile/report.js",
    } <= set(assets)
    assert re.search(r'const VERSION = "[0-9a-f]{12}";', text)


@pytest.mark.django_db
def test_the_session_endpoint_gives_a_fresh_csrf_token_and_who_is_signed_in(client):
    cast = make_cast()
    anonymous = client.get("/m/session").json()
    assert (
        anonymous["authenticated"] is False
        and anonymous["user"] is None
        and anonymous["csrf_token"]
    )
    client.force_login(cast.officer)
    response = client.get("/m/session")
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    assert body["authenticated"] is True
    assert (body["user"]["username"], body["user"]["role"]) == ("officer", "officer")
    assert client.cookies["csrftoken"].value


# --- in the browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_an_officer_signs_in_and_reports_a_case_with_a_photo(live_server, chromium_path):
    cast = make_cast()
    make_small_class(
        big_class=cast.category.big_class, name="违法建设", attribute_schema=CONSTRUCTION_SCHEMA
    )
    for name in ("积存垃圾渣土", "道路遗撒", "非法小广告", "占道经营"):
        make_small_class(big_class=cast.category.big_class, name=name)
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base, screenshot=True)
        expect(page.locator("#m-net")).to_have_text("在线")
        expect(page.locator("#home-tasks")).to_have_text("0")
        expect(page.locator("#home-coverage")).to_have_text("0%")
        expect(page.locator("#m-unsynced")).to_be_hidden()
        shot(page, "home")
        page.click("#tile-report")
        expect(page.locator("#pos-grid")).to_contain_text(cast.grid.code)
        expect(page.locator("#pos-status")).to_contain_text("±12 米")
        # A class with attributes shows its form from the JSON Schema; then the real choice.
        choose_category(page, "违法建设")
        expect(page.locator("#attr-area_m2")).to_be_visible()
        expect(page.locator("#attr-permanence option")).to_have_text(["请选择", "永久", "临时"])
        page.click("#category-button")
        page.fill("#category-search", "私搭")
        expect(page.locator("#category-lists .m-option")).to_have_count(1)
        page.locator("#category-lists .m-option").click()
        expect(page.locator("#attrs-card")).to_be_hidden()
        page.set_input_files("#photos", files=[photo_file(size=(2400, 1200), orientation=6)])
        expect(page.locator("#photo-list img")).to_have_count(1)
        page.fill("#description", "人行道上搭建彩钢棚")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "report")
        page.locator("#submit-report").scroll_into_view_if_needed()
        shot(page, "report-photos")
        page.click("#submit-report")
        expect(page.locator("#done-title")).to_contain_text("已上报，案卷号")
        number = page.locator("#done-title").inner_text().split()[-1]
        shot(page, "report-sent")
        # Recent classes come first next time.
        page.goto(base + "/m/report")
        page.click("#category-button")
        expect(page.locator("#category-lists h3").first).to_have_text("最近使用")
        expect(page.locator("#category-lists .m-option").first).to_contain_text("私搭乱建")
        shot(page, "categories")

    case = Case.objects.get()
    assert case.number == number and case.grid == cast.grid and case.reporter == cast.officer
    assert (
        case.source == "patrol"
        and case.category == cast.category
        and case.description == "人行道上搭建彩钢棚"
    )
    assert abs(case.lon - HERE["longitude"]) < 1e-6 and abs(case.lat - HERE["latitude"]) < 1e-6
    assert case.client_uuid is not None
    (photo,) = Photo.objects.filter(case=case)
    # Compressed to ≤ 1600 px on the phone, turned upright there (EXIF orientation 6), with the
    # camera's time and position kept as evidence.
    assert (photo.width, photo.height) == (800, 1600)
    assert photo.taken_at is not None and photo.gps_lon == pytest.approx(120.7005, abs=1e-3)
    assert seen["errors"] == [] and remote_requests(seen["requests"]) == []


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_a_report_made_offline_survives_a_reload_and_becomes_exactly_one_case(
    live_server, chromium_path
):
    cast = make_cast()
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        wait_for_service_worker(page)
        page.goto(base + "/m/report")  # online once: the category list is saved for offline use
        expect(page.locator("#pos-grid")).to_contain_text(cast.grid.code)
        context.set_offline(True)
        expect(page.locator("#m-net")).to_have_text("离线")
        expect(page.locator("#m-offline")).to_be_visible()
        fill_report(page, photos=[photo_file(), photo_file("second.jpg", colour=(40, 90, 180))])
        page.click("#submit-report")
        expect(page.locator("#done-title")).to_have_text("已保存到本机")
        expect(page.locator("#m-unsynced")).to_have_text("1 条未同步 · 查看")
        shot(page, "offline")

        # Still offline: the service worker serves the app shell, the queue is in IndexedDB.
        page.reload()
        expect(page.locator("#m-net")).to_have_text("离线")
        expect(page.locator("#m-unsynced")).to_have_text("1 条未同步 · 查看")
        page.goto(base + "/m/queue")
        item = page.locator("#queue-list > li")
        expect(item).to_have_count(1)
        expect(item.locator(".m-chip")).to_have_text("等待发送")
        expect(item).to_contain_text("2 张照片")
        shot(page, "queue-offline")
        assert cases_via_api(context, base) == []

        # The network comes back: the `online` event sends it, once.
        context.set_offline(False)
        expect(item.locator(".m-chip")).to_have_text("已发送")
        expect(item.locator(".m-case-number")).to_contain_text("案卷号")
        expect(page.locator("#m-unsynced")).to_be_hidden()
        number = item.locator(".m-case-number").inner_text().split()[-1]
        shot(page, "queue-sent")
        # Sending again, reloading, reopening the app: still one case.
        page.click("#queue-send")
        page.reload()
        page.goto(base + "/m/")
        page.goto(base + "/m/queue")
        expect(page.locator("#queue-list > li .m-chip")).to_have_text("已发送")
        (listed,) = cases_via_api(context, base)

    (case,) = Case.objects.all()
    assert case.number == number == listed["number"] and case.grid == cast.grid
    assert Photo.objects.filter(case=case).count() == 2
    assert seen["errors"] == [] and remote_requests(seen["requests"]) == []


@pytest.mark.browser
@pytest.mark.chinese  # the phone in zh-hans, the product default (tests/conftest.py)
@pytest.mark.django_db(transaction=True)
def test_a_lost_answer_is_retried_with_the_same_key_and_makes_one_case(live_server, chromium_path):
    """docs/reliability.md R1: the server made the case, the answer never reached the phone."""
    make_cast()
    base = live_server.url
    attempts = []

    def lose_the_first_answer(route):
        attempts.append(route.request.headers.get("idempotency-key"))
        if len(attempts) == 1:
            route.fetch()  # the server does the work...
            route.abort("connectionreset")  # ...and the phone hears nothing
        else:
            route.continue_()

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.route(re.compile(r"/api/cases/$"), lose_the_first_answer)
        page.goto(base + "/m/report")
        fill_report(page, photos=[photo_file()])
        page.click("#submit-report")
        expect(page.locator("#done-text")).to_contain_text("网络中断")
        page.goto(base + "/m/queue")
        page.click("#queue-send")
        expect(page.locator("#queue-list > li .m-chip")).to_have_text("已发送")
        number = page.locator(".m-case-number").inner_text().split()[-1]

    assert len(attempts) == 2 and attempts[0] == attempts[1] and attempts[0]
    (case,) = Case.objects.all()
    assert case.number == number and case.photos.count() == 1


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_a_rejected_report_shows_the_servers_message_and_is_not_retried(live_server, chromium_path):
    cast = make_cast()
    base = live_server.url
    posts = []

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.on(
            "request",
            lambda r: r.method == "POST" and r.url.endswith("/api/cases/") and posts.append(r),
        )
        page.goto(base + "/m/report")
        fill_report(page, photos=[photo_file()])
        # The class is retired while the officer fills in the form: the server refuses (400).
        in_thread(lambda: SmallClass.objects.filter(pk=cast.category.pk).update(active=False))
        page.click("#submit-report")
        expect(page.locator("#done-title")).to_have_text("未被接收")
        expect(page.locator("#done-text")).to_contain_text("类别：")
        page.goto(base + "/m/queue")
        item = page.locator("#queue-list > li")
        expect(item.locator(".m-chip")).to_have_text("被拒绝")
        expect(item.locator(".m-error")).to_contain_text("类别：")
        expect(page.locator("#m-unsynced")).to_be_hidden()
        page.click("#queue-send")  # nothing to send: a rejection is final
        page.wait_for_timeout(500)
        shot(page, "queue-rejected")
        item.locator("button").click()
        expect(item).to_have_count(0)

    assert len(posts) == 1 and not Case.objects.exists()


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_an_officer_completes_a_verify_task_and_a_check_task_from_the_phone(
    live_server, chromium_path
):
    cast = make_cast()
    to_verify = case_in(cast, Status.VERIFYING)
    to_check = case_in(cast, Status.CHECKING)
    elsewhere = case_in(cast, Status.VERIFYING)
    elsewhere.grid = cast.other_grid  # another officer's grid: not my task
    elsewhere.save(update_fields=["grid"])
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        expect(page.locator("#home-tasks")).to_have_text("2")
        expect(page.locator('.m-tabs [data-badge="tasks"]')).to_have_text("2")
        page.click("#tile-tasks")
        verify_link = page.locator(f'#verify-list a[data-case-id="{to_verify.pk}"]')
        check_link = page.locator(f'#check-list a[data-case-id="{to_check.pk}"]')
        expect(page.locator("#verify-list a")).to_have_count(1)
        expect(check_link).to_be_visible()
        expect(verify_link).to_contain_text("北 40 米")  # the spot is 40 m north of the officer
        shot(page, "tasks")

        verify_link.click()
        expect(page.locator("#action-title")).to_have_text("现场核实")
        expect(page.locator("#case-distance")).to_contain_text("北 40 米")
        page.locator("#outcomes label").filter(has=page.locator("input[value=confirmed]")).click()
        page.set_input_files("#action-photos", files=[photo_file("verify.jpg")])
        expect(page.locator("#action-photo-list img")).to_have_count(1)
        shot(page, "task")
        page.click("#action-submit")
        expect(page.locator("#action-done-title")).to_have_text("已提交")
        expect(page.locator("#action-done-text")).to_contain_text("待受理")

        page.goto(base + "/m/tasks")
        expect(page.locator("#verify-list")).to_contain_text("暂无任务")
        check_link.click()
        expect(page.locator("#action-title")).to_have_text("现场核查")
        page.locator("#outcomes label").filter(has=page.locator("input[value=pass]")).click()
        page.click("#action-submit")
        expect(page.locator("#action-error")).to_have_text("现场核查通过需要现场照片")
        page.set_input_files("#action-photos", files=[photo_file("after.jpg")])
        expect(page.locator("#action-photo-list img")).to_have_count(1)
        page.click("#action-submit")
        expect(page.locator("#action-done-title")).to_have_text("已提交")
        expect(page.locator("#action-done-text")).to_contain_text("待结案")
        expect(page.locator("#case-events")).to_contain_text("核查：通过")
        expect(page.locator("#case-status")).to_have_text("待结案")
        shot(page, "task-done")
        # Opening the case again shows the answer, not a second form.
        page.reload()
        expect(page.locator("#action-done-title")).to_have_text("没有待办")

    to_verify.refresh_from_db()
    to_check.refresh_from_db()
    assert (to_verify.status, to_check.status) == (Status.REPORTED, Status.CLOSING)
    verify = CaseEvent.objects.filter(case=to_verify).latest("seq")
    check = CaseEvent.objects.filter(case=to_check).latest("seq")
    assert (verify.action, verify.data["outcome"], verify.actor) == (
        "verify",
        "confirmed",
        cast.officer,
    )
    assert (check.action, check.data["outcome"], check.actor) == ("check", "pass", cast.officer)
    assert verify.photos.count() == 1 and check.photos.count() == 1
    assert seen["errors"] == []


@pytest.mark.browser
@pytest.mark.chinese  # the phone in zh-hans, the product default (tests/conftest.py)
@pytest.mark.django_db(transaction=True)
def test_a_lost_answer_to_a_task_result_counts_as_sent_not_as_a_conflict(
    live_server, chromium_path
):
    """A task result carries an Idempotency-Key (made once, with the item): the retry gets the stored
    answer of the first attempt, and the case holds one event."""
    cast = make_cast()
    to_verify = case_in(cast, Status.VERIFYING)
    base = live_server.url
    answers = []

    def lose_the_first_answer(route):
        response = route.fetch()
        answers.append(response.status)
        if len(answers) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.route(re.compile(r"/api/cases/\d+/transition$"), lose_the_first_answer)
        page.goto(base + f"/m/task?id={to_verify.pk}")
        page.locator("#outcomes label").filter(
            has=page.locator("input[value=not_confirmed]")
        ).click()
        page.fill("#action-reason", "现场无此问题")
        page.click("#action-submit")
        expect(page.locator("#action-done-text")).to_contain_text("网络中断")
        page.goto(base + "/m/queue")
        page.click("#queue-send")
        expect(page.locator("#queue-list > li .m-chip")).to_have_text("已发送")

    assert answers == [200, 200]
    to_verify.refresh_from_db()
    assert to_verify.status == Status.REJECTED
    assert CaseEvent.objects.filter(case=to_verify, action="verify").count() == 1


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_patrol_records_points_offline_too_and_they_arrive(live_server, chromium_path):
    cast = make_cast()
    # A point every 5 s, and one point a patrol (the default dwell rule, 3 points over 5 minutes, is
    # tested in test_patrol_rules.py): the page must show the grid patrolled without a 5-minute wait.
    PatrolSettings(interval_seconds=5, dwell_points=1, dwell_minutes=0).save()
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.click(".m-tabs a[href='/m/patrol']")
        expect(page.locator("#patrol-interval")).to_have_text("5")
        expect(page.locator("#coverage-list")).to_contain_text("✗ 未巡查")
        page.click("#patrol-toggle")
        expect(page.locator("#patrol-state")).to_have_text("巡查中")
        expect(page.locator("#coverage-list")).to_contain_text("✓ 已巡查")
        expect(page.locator("#coverage-rate")).to_have_text("100%")
        expect(page.locator("#patrol-waiting")).to_have_text("0 个点")
        shot(page, "patrol")

        context.set_offline(True)
        context.set_geolocation(
            {"longitude": IN_A[0] + 0.0003, "latitude": IN_A[1] + 0.0003, "accuracy": 8}
        )
        expect(page.locator("#patrol-waiting")).not_to_have_text("0 个点", timeout=15_000)
        shot(page, "patrol-offline")
        page.reload()  # the points wait in IndexedDB; the patrol goes on after a reload
        expect(page.locator("#patrol-state")).to_have_text("巡查中")
        context.set_offline(False)
        expect(page.locator("#patrol-waiting")).to_have_text("0 个点", timeout=15_000)
        page.click("#patrol-toggle")
        expect(page.locator("#patrol-state")).to_have_text("未在巡查")
        on_server = context.request.get(base + "/api/patrol/coverage").json()["officers"][0][
            "points"
        ]

    points = list(TrackPoint.objects.filter(officer=cast.officer))
    assert len(points) == on_server >= 2
    assert {p.grid for p in points} == {cast.grid} and all(p.grid_distance_m == 0 for p in points)
    assert any(abs(p.lon - (IN_A[0] + 0.0003)) < 1e-7 for p in points)  # recorded while offline
    assert seen["errors"] == []


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_alerts_show_as_a_badge_and_a_list_and_are_marked_read(live_server, chromium_path):
    cast = make_cast()
    case_in(cast, Status.VERIFYING)
    case_in(cast, Status.CHECKING)
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        expect(page.locator("#home-alerts")).to_have_text("2")
        expect(page.locator('.m-tabs [data-badge="alerts"]')).to_have_text("2")
        page.click(".m-tabs a[href='/m/alerts']")
        items = page.locator("#alerts-list li")
        expect(items).to_have_count(2)
        expect(items.first).to_contain_text("核查任务")
        expect(items.nth(1)).to_contain_text("核实任务")
        expect(page.locator("#alerts-list .m-unread")).to_have_count(2)
        shot(page, "alerts")
        page.click("#alerts-read-all")
        expect(page.locator('.m-tabs [data-badge="alerts"]')).to_be_hidden()
        expect(page.locator("#alerts-list .m-unread")).to_have_count(0)
        # A new task while the app is closed: it catches up from the last seq it holds.
        in_thread(lambda: case_in(cast, Status.VERIFYING))
        page.reload()
        expect(items).to_have_count(3)
        expect(page.locator("#alerts-list .m-unread")).to_have_count(1)
        expect(page.locator('.m-tabs [data-badge="alerts"]')).to_have_text("1")

    assert Notification.objects.filter(user=cast.officer, read_at__isnull=True).count() == 1
    assert Notification.objects.filter(user=cast.officer).count() == 3
    assert seen["errors"] == []


TOUCH_TARGETS = """() => {
    const small = [];
    for (const node of document.querySelectorAll("a, button, input, select, textarea")) {
        if (node.closest(".m-visually-hidden, .leaflet-control-attribution")) continue;
        let target = node;
        if (node.type === "checkbox" || node.type === "radio") target = node.closest("label") || node;
        const box = target.getBoundingClientRect();
        if (!box.width || !box.height || getComputedStyle(node).visibility === "hidden") continue;
        if (box.height < 44 || box.width < 44) {
            small.push((node.id || node.className || node.tagName) + " " + Math.round(box.width) + "x"
                       + Math.round(box.height));
        }
    }
    return {width: document.documentElement.scrollWidth, small};
}"""


@pytest.mark.browser
@pytest.mark.chinese  # the phone in zh-hans, the product default (tests/conftest.py)
@pytest.mark.django_db(transaction=True)
def test_every_screen_fits_360_px_with_touch_targets_of_at_least_44_px(live_server, chromium_path):
    cast = make_cast()
    task = case_in(cast, Status.VERIFYING)
    base = live_server.url
    problems = {}

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        for path in (
            "/m/",
            "/m/report",
            "/m/tasks",
            f"/m/task?id={task.pk}",
            "/m/mine",
            "/m/alerts",
            "/m/patrol",
            "/m/queue",
        ):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            found = page.evaluate(TOUCH_TARGETS)
            if found["width"] > 360 or found["small"]:
                problems[path] = found
            if path == "/m/mine":
                expect(page.locator("#mine-list")).to_contain_text(task.number)
                expect(page.locator("#mine-list .m-chip")).to_have_text("待核实")
                shot(page, "mine")
        page.goto(base + "/m/report")
        page.click("#category-button")
        found = page.evaluate(TOUCH_TARGETS)
        if found["width"] > 360 or found["small"]:
            problems["category sheet"] = found
        # Signing out: a POST with a fresh token, back to the login page that returns to /m/.
        page.goto(base + "/m/")
        page.click("#logout-button")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/m/$"))
        assert page.evaluate("localStorage.getItem('gc.me')") is None
        page.goto(base + "/m/tasks")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/m/tasks$"))

    assert problems == {}
    assert seen["errors"] == []


@pytest.mark.browser
@pytest.mark.chinese  # the phone in zh-hans, the product default (tests/conftest.py)
@pytest.mark.django_db(transaction=True)
def test_a_trivial_problem_fixed_on_the_spot_is_reported_as_self_handled(
    live_server, chromium_path
):
    make_cast()
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.goto(base + "/m/report")
        expect(page.locator("#pos-status")).to_have_attribute("data-state", "good")
        choose_category(page, "私搭乱建")
        page.check("#self-handle")
        expect(page.locator("#photos-title")).to_have_text("处置后照片（必填）")
        page.click("#submit-report")
        expect(page.locator("#report-error")).to_have_text("自行处置需要至少一张处置后照片。")
        page.set_input_files("#photos", files=[photo_file("after.jpg")])
        expect(page.locator("#photo-list img")).to_have_count(1)
        page.click("#submit-report")
        expect(page.locator("#done-text")).to_contain_text("待结案")

    (case,) = Case.objects.all()
    assert case.status == Status.CLOSING and case.events.filter(action="self_handle").count() == 1
    assert [p.stage for p in case.photos.all()] == ["self_handle"]


# --- alerts pushed over the WebSocket, with a real ASGI server ------------------------------------

ASGI_CITY_SETUP = """
import django, json; django.setup()
from people.tokens import key_for
from cases import workflow
from tests.cast import make_cast, report
cast = make_cast()
case = report(cast, by=cast.acceptor, source="hotline_12345")
print(json.dumps({"case": case.pk, "version": case.version, "number": case.number,
                  "token": key_for(cast.acceptor)}))
"""


@pytest.mark.browser
@pytest.mark.chinese
def test_a_verify_task_arrives_live_over_the_websocket(asgi_city, chromium_path):
    import urllib.request

    base, setup = asgi_city
    with phone(chromium_path) as (context, page, seen):
        sign_in(page, base)
        page.click(".m-tabs a[href='/m/alerts']")
        expect(page.locator("#alerts-live")).to_have_text("实时推送已连接")
        expect(page.locator("#alerts-list li")).to_have_count(1)  # the new report in my grid
        request = urllib.request.Request(
            base + f"/api/cases/{setup['case']}/transition",
            method="POST",
            data=json.dumps({"action": "send_verify", "version": setup["version"]}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Token {setup['token']}",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        # Pushed, not polled (polling runs once a minute): the list, the badge and a toast.
        expect(page.locator("#alerts-list li").first).to_contain_text("核实任务", timeout=5_000)
        expect(page.locator("#m-toast")).to_contain_text("新消息：核实任务 · " + setup["number"])
        expect(page.locator('.m-tabs [data-badge="alerts"]')).to_have_text("2")
        shot(page, "alerts-live")
        page.reload()  # reconnect with `since`: nothing twice
        expect(page.locator("#alerts-live")).to_have_text("实时推送已连接")
        expect(page.locator("#alerts-list li")).to_have_count(2)
    assert seen["errors"] == []
