"""The console's server-rendered parts in Debian's Chromium (frontend/console.py, templates
frontend/console/): the alerts list is a usable box at 1440×900 and 1920×1080 and a click opens
the case; a case found by number from the search box; merging asks first; every status the server
has reads in words in the panel and timeline — Chinese by default, English with the language cookie.

Data is built before Playwright starts and checked after (Django refuses the ORM inside its loop).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from django.utils import translation

from cases.models import Case, CaseEvent, Status
from grids.models import Grid
from people.models import Organisation
from tests.cast import case_in, make_cast, report
from tests.conftest import screenshot_path
from tests.test_console import sign_in
from tests.test_console_pages import RAW_KEY
from tests.test_home_browser import CHROMIUM_ARGS

CJK = re.compile(r"[\u4e00-\u9fff]")
USERNAMES = {"officer", "acceptor", "shiftleader", "dispatcher", "unit"}


@contextmanager
def _chromium(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _password(cast, *users) -> str:
    for user in users:
        user.set_password("pw-console-pages")
        user.save()
    return "pw-console-pages"


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_alerts_open_a_case_search_finds_by_number_and_merge_asks_first(live_server, chromium_path):
    cast = make_cast()
    password = _password(cast, cast.acceptor)
    first = report(cast, description="人行道堆放杂物")
    second = report(cast, description="人行道堆放杂物，同一处")
    closed = case_in(cast, Status.CLOSED)
    with _chromium(chromium_path) as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url, "acceptor", password)
        # The alerts: a box tall enough to use, at both desk sizes; a click opens the case.
        page.wait_for_function("() => !document.getElementById('gcc-alert-badge').hidden")
        page.click("#gcc-alerts-button")
        page.wait_for_selector("#gcc-alerts li[data-seq] a[data-case]")
        for size in ({"width": 1440, "height": 900}, {"width": 1920, "height": 1080}):
            page.set_viewport_size(size)
            box = page.locator("#gcc-alerts").bounding_box()
            assert box["height"] >= 100 and box["width"] >= 250, (size, box)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(screenshot_path("console-alerts.png")))
        alert = page.locator("#gcc-alerts li[data-seq] a[data-case]").first
        opened = alert.get_attribute("data-case")
        assert "新上报" in alert.inner_text() or "上报" in alert.inner_text()
        alert.click()
        page.wait_for_selector(f"#gcc-panel[data-case='{opened}']")
        page.click("#gcc-mark-read")
        page.wait_for_function("() => document.getElementById('gcc-alert-badge').hidden")
        assert page.locator("#gcc-alerts li.gcc-unread").count() == 0

        # Search by number finds the closed case; its row opens it.
        page.fill("#gcc-q", closed.number)
        page.press("#gcc-q", "Enter")
        row = page.locator(f"#gcc-found li[data-case='{closed.pk}'] a")
        row.wait_for()
        assert "已结案" in row.inner_text()
        row.click()
        page.wait_for_selector(f"#gcc-panel[data-case='{closed.pk}'][data-status=closed]")

        # Merge asks first: without the tick the form does not go; with it, the case is merged.
        page.fill("#gcc-q", second.number)
        page.press("#gcc-q", "Enter")
        page.locator(f"#gcc-found li[data-case='{second.pk}'] a").click()
        page.wait_for_selector(f"#gcc-panel[data-case='{second.pk}'][data-status=reported]")
        assert page.locator("#gcc-panel .gcc-merge").count() >= 1, page.locator(
            "#gcc-panel"
        ).inner_text()
        merge = page.locator(f"#gcc-panel .gcc-merge:has(input[value='{first.number}'])")
        merge.locator("button[type=submit]").click()
        page.wait_for_timeout(500)
        assert page.locator("#gcc-panel").get_attribute("data-status") == "reported"
        assert merge.locator("input[name=confirm]").evaluate("(box) => !box.checkValidity()")
        merge.locator("input[name=confirm]").check()
        page.screenshot(path=str(screenshot_path("console-merge-confirm.png")))
        merge.locator("button[type=submit]").click()
        page.wait_for_selector(f"#gcc-panel[data-case='{second.pk}'][data-status=merged]")
        assert "已合并" in page.locator("#gcc-panel .gcc-status").inner_text()
        assert not errors, errors
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.duplicate_of_id == first.pk


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_every_status_reads_in_chinese_and_in_english_with_the_cookie(live_server, chromium_path):
    cast = make_cast()
    password = _password(cast, cast.shift_leader)
    cases = {status: case_in(cast, status) for status in Status.values}
    # What the data says (names, reasons) may be Chinese in an English page; the labels may not.
    data = {
        *Organisation.objects.values_list("name", flat=True),
        *Grid.objects.values_list("name", flat=True),
        cast.category.name,
        cast.category.big_class.name,
        *CaseEvent.objects.exclude(reason="").values_list("reason", flat=True),
    }
    with _chromium(chromium_path) as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page = context.new_page()
        sign_in(page, live_server.url, "shiftleader", password)
        for lang in ("zh", "en"):
            if lang == "en":
                context.add_cookies(
                    [{"name": "django_language", "value": "en", "url": live_server.url}]
                )
                sign_in(page, live_server.url, "shiftleader", password)
            for status, case in cases.items():
                page.evaluate(f"window.gridcaseConsole.openRef('{case.number}')")
                page.wait_for_selector(f"#gcc-panel[data-case='{case.pk}'][data-status={status}]")
                text = page.locator("#gcc-panel").inner_text()
                assert not RAW_KEY.search(text), (lang, status, RAW_KEY.search(text))
                if lang == "zh":
                    latin = set(re.findall(r"[A-Za-z_]{2,}", text)) - USERNAMES - {"GPS"}
                    assert not latin, (status, latin)
                else:
                    for word in data:
                        text = text.replace(word, "")
                    assert not CJK.search(text), (status, CJK.findall(text))
                    with translation.override("en"):
                        assert str(Status(status).label) in text
                if status == Status.CLOSED:
                    page.screenshot(path=str(screenshot_path(f"console-closed-{lang}.png")))
                    assert ("剩" not in text) and ("left" not in text)
    assert Case.objects.filter(status=Status.CLOSED).exists()


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_the_map_shows_finished_cases_of_the_period_when_asked(live_server, chromium_path):
    """The map shows open cases; its status filter also offers the finished statuses, and then
    shows the cases of that status reported in the chosen period (a closed case of last quarter is
    not among this month's), and follows the period when it changes."""
    import datetime as dt

    from django.utils import timezone

    cast = make_cast()
    password = _password(cast, cast.dispatcher)
    waiting = report(cast, description="待受理")
    closed = case_in(cast, Status.CLOSED)
    old = case_in(cast, Status.CLOSED)
    Case.objects.filter(pk=old.pk).update(reported_at=timezone.now() - dt.timedelta(days=70))
    with _chromium(chromium_path) as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url, "dispatcher", password)
        page.wait_for_selector(f"path.gcc-case-{waiting.pk}", state="attached")
        assert page.locator(f"path.gcc-case-{closed.pk}").count() == 0
        finished = page.locator("#gcc-status optgroup option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert set(finished) == {"closed", "rejected", "voided", "merged"}
        assert (
            page.locator("#gcc-status optgroup").get_attribute("label")
            == "已结束（统计周期内上报）"
        )

        page.select_option("#gcc-status", "closed")
        page.wait_for_selector(f"path.gcc-case-{closed.pk}", state="attached")
        page.wait_for_selector(f"path.gcc-case-{waiting.pk}", state="detached")
        assert page.locator(f"path.gcc-case-{old.pk}").count() == 0  # reported before this month

        page.select_option("#gcc-period", "custom")  # the last 70+ days: the old one comes in
        start = (timezone.localdate() - dt.timedelta(days=80)).isoformat()
        page.fill("#gcc-start", start)
        page.dispatch_event("#gcc-start", "change")
        # Both closed cases now, at one spot: clustered into one marker, so read the map's cases.
        page.wait_for_function(
            f"() => window.gridcaseConsole.state.cases.has({old.pk})"
            f" && window.gridcaseConsole.state.cases.has({closed.pk})"
        )

        page.select_option("#gcc-status", "")  # back to every open case
        page.wait_for_selector(f"path.gcc-case-{waiting.pk}", state="attached")
        page.wait_for_selector(f"path.gcc-case-{closed.pk}", state="detached")
        assert errors == []
