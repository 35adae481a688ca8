"""日巡查 on the supervision console (frontend/static/frontend/console/patrol.js, docs/patrol.md):
the coverage layer colours today's grids patrolled / not yet / not for N days, the lists show
today's not-patrolled grids, an officer's track shows on demand — in Debian's Chromium, labels in
Chinese from Django's translations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from grids.models import GridAssignment
from patrol.tracks import record_points
from tests.cast import IN_A, make_cast
from tests.conftest import screenshot_path
from tests.factories import make_grid
from tests.test_console import sign_in
from tests.test_home_browser import CHROMIUM_ARGS
from tests.test_patrol_rules import at, every_day_a_workday, stay

IN_C = (120.7005, 31.3015)


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_the_console_shows_the_coverage_layer_todays_list_and_a_track(live_server, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    cast = make_cast()
    cast.dispatcher.set_password("pw-patrol-1")
    cast.dispatcher.save()
    today = timezone.localdate()
    every_day_a_workday(today - dt.timedelta(days=40), today)
    third = make_grid(
        code="320505006001002",
        bounds=(120.700, 31.301, 120.701, 31.302),
        name="北侧网格",
        officers=[cast.officer],
    )
    GridAssignment.objects.update(since=today - dt.timedelta(days=5))
    start = max(timezone.now() - dt.timedelta(minutes=40), at(today, 0))
    record_points(
        cast.officer,
        stay(IN_A, start)  # grid A: patrolled today
        + stay(IN_C, at(today - dt.timedelta(days=1), 10)),
    )  # the third: yesterday, not yet today
    # Grid B (the other officer's): never patrolled in its 6 days → not for 3 days or more.

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, live_server.url, "dispatcher", "pw-patrol-1")
            toggle = page.locator("#gcc-patrol-toggle")
            expect(toggle).to_have_text("巡查覆盖率")
            toggle.click()
            page.wait_for_selector("#gcc-patrol[data-state=ready]")
            page.wait_for_function(
                "() => document.querySelectorAll('path.gcc-patrol-grid[data-patrol]').length >= 3"
            )
            status = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll(
                'path.gcc-patrol-grid')).map((p) => [p.getAttribute('fill'), p.dataset.patrol]))""")
            assert set(status.values()) == {"done", "todo", "stale"}, status
            assert status == {"#16a34a": "done", "#f59e0b": "todo", "#dc2626": "stale"}
            expect(page.locator("#gcc-patrol-summary")).to_contain_text("今日已巡查 1 / 3 个网格")
            today_list = page.locator("#gcc-patrol-today li[data-code]")
            expect(today_list).to_have_count(2)
            assert today_list.evaluate_all("(rows) => rows.map((r) => r.dataset.code)") == [
                cast.other_grid.code,
                third.code,
            ]  # the longest streak first
            expect(page.locator("#gcc-patrol-today summary")).to_have_text("今日未巡查 (2)")
            stale = page.locator("#gcc-patrol-stale li[data-code]")
            expect(stale).to_have_count(1)
            expect(stale.first).to_contain_text(cast.other_grid.code)
            expect(stale.first).to_contain_text("6 天")
            page.screenshot(path=str(screenshot_path("console-patrol.png")))

            # The officer's track of the day, on demand.
            page.locator(
                f"#gcc-patrol-officers li[data-officer='{cast.officer.pk}'] button"
            ).click()
            expect(page.locator("#gcc-patrol-track")).to_contain_text("3 个点（计入 3 个）")
            expect(page.locator("path.gcc-patrol-line")).to_have_count(1)
            page.screenshot(path=str(screenshot_path("console-patrol-track.png")))
            # Off again: the console's own colouring is back.
            toggle.click()
            expect(page.locator("path.gcc-patrol-grid")).to_have_count(0)
            assert not errors, errors
        finally:
            browser.close()
