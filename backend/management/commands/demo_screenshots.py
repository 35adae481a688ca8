"""Screenshots of a running demo city for the README (issue 18): the console's map with the case
choropleth, the metrics page and the latest published weekly report (周通报), taken with Debian's
Chromium (never a downloaded browser) from a server started by `make run`:

    .venv/bin/python manage.py demo_screenshots --url http://127.0.0.1:8000

They land in docs/screenshots/demo-*.png (or --out). The weekly report must be published: the
scheduler of `make run` publishes the demo's queued reports within minutes of the start; the
command waits for the latest week's (--wait seconds)."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from people.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


class Command(BaseCommand):
    help = "Screenshots of a running demo city: console, metrics page, weekly report (docs/screenshots/demo-*)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "docs" / "screenshots")
        parser.add_argument(
            "--wait", type=int, default=900, help="seconds to wait for a published weekly report"
        )

    def handle(self, *args, url: str, out: Path, wait: int, **options):
        from playwright.sync_api import sync_playwright

        base = url.rstrip("/")
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
                page.goto(base + "/accounts/login/?next=/console/")
                page.fill("input[name=username]", "dispatcher")
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click(".gc-login button[type=submit]")
                page.wait_for_selector(
                    "#console[data-state=ready]", state="attached", timeout=60000
                )
                page.select_option("#gcc-period", "last_week")  # a full week of the history
                page.wait_for_timeout(3000)  # the tiles and the choropleth settle
                page.screenshot(path=str(out / "demo-console.png"))
                page.goto(base + "/metrics/?level=street")
                page.screenshot(path=str(out / "demo-metrics.png"), full_page=True)
                report = self._published_weekly(page, base, wait)
                page.goto(base + report["links"]["html"])
                page.screenshot(path=str(out / "demo-report.png"))
            finally:
                browser.close()
        self.stdout.write(
            f"Saved demo-console.png, demo-metrics.png and demo-report.png ({report['label']}) "
            f"in {out}."
        )

    def _published_weekly(self, page, base: str, wait: int) -> dict:
        deadline = time.monotonic() + wait
        while True:
            rows = page.request.get(base + "/api/reports/?kind=weekly").json()["results"]
            latest = max(rows, key=lambda r: r["start"], default=None)  # the last full week
            if latest and latest["state"] == "published" and latest["links"]:
                return latest
            if time.monotonic() > deadline:
                raise CommandError(
                    f"No weekly report published within {wait} s: is the scheduler running?"
                )
            time.sleep(10)
