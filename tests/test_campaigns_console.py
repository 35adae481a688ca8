"""The console's campaigns box and ledger layer (campaigns.js) in Debian's Chromium, on the demo city.

The screenshot for docs/campaigns.md is written to docs/screenshots/ only with GRIDCASE_SCREENSHOTS=1,
else to a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from campaigns.models import LedgerEntry
from tests.conftest import screenshot_path
from tests.test_console import sign_in
from tests.test_home_browser import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_the_console_draws_the_ledger_by_status_and_the_street_figures(live_server, chromium_path):
    from playwright.sync_api import sync_playwright

    with override_settings(DEMO=True):
        call_command("load_demo", cases=60, stdout=open(os.devnull, "w"))
    entries = LedgerEntry.objects.exclude(lon__isnull=True)
    total, new = entries.count(), entries.filter(kind="new").count()
    assert total >= 300 and new >= 1

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, live_server.url, "viewer", "gridcase-demo")
            page.click("#gcc-campaigns > summary")
            page.wait_for_selector(
                "#gcc-campaigns[data-state=ready]", state="attached", timeout=20000
            )
            assert page.locator("#gcc-campaigns > summary").inner_text() == "专项治理"
            rows = page.locator(".gcc-cp-table tr[data-code]")
            assert rows.count() >= 5
            assert (
                page.locator(".gcc-cp-growth").count() >= 1
            )  # the demo's new cases: no zero growth somewhere
            page.check("#gcc-ledger-toggle")
            page.wait_for_selector("#gcc-campaigns[data-ledger]", state="attached", timeout=20000)
            assert page.locator("path.gcc-ledger").count() == total
            assert page.locator("path.gcc-ledger-new").count() == new
            fills = set(
                page.evaluate(
                    "() => Array.from(document.querySelectorAll('path.gcc-ledger'))"
                    ".map((p) => p.getAttribute('fill'))"
                )
            )
            assert len(fills) >= 2  # coloured by status: open and disposed of
            page.screenshot(path=str(screenshot_path("console-campaigns.png")))
            page.uncheck("#gcc-ledger-toggle")
            assert page.locator("path.gcc-ledger").count() == 0
            assert not errors, errors
        finally:
            browser.close()
