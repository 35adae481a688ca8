"""Issue #16, items 10–15: what the product writes out is safe — spreadsheets hold no formula
and no character that breaks them, server strings are text in the console, every page carries a
Content-Security-Policy it passes, production is HTTPS, sockets check their origin exactly, and
Open311 media URLs are http(s) URLs only."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from cases.models import Case, Status
from tests.cast import IN_A, case_in, make_cast
from tests.factories import make_admin_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
FORMULAS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]


# --- 10/11. spreadsheets ------------------------------------------------------------------------------


def _export(client, fmt: str) -> bytes:
    return b"".join(client.get(f"/api/cases/export.{fmt}").streaming_content)


def test_no_exported_csv_cell_starts_a_formula():
    cast = make_cast()
    made = [case_in(cast, Status.REPORTED) for _ in FORMULAS]
    for case, text in zip(made, FORMULAS, strict=True):
        Case.objects.filter(pk=case.pk).update(description=text, address=text)
    rows = list(
        csv.reader(io.StringIO(_export(cast.client(cast.viewer), "csv").decode("utf-8-sig")))
    )
    header, body = rows[0], rows[1:]
    described = [row[header.index("描述")] for row in body] + [
        row[header.index("地址")] for row in body
    ]
    assert len(described) == 2 * len(FORMULAS)
    assert all(cell.startswith("'") for cell in described), described
    assert {cell[1:] for cell in described} == set(FORMULAS)
    assert all(
        not row[header.index("经度")].startswith("'") for row in body
    )  # numbers stay numbers


def test_an_xlsx_export_with_non_characters_and_formulas_opens_and_holds_text():
    from openpyxl import load_workbook

    cast = make_cast()
    case = case_in(cast, Status.REPORTED)
    Case.objects.filter(pk=case.pk).update(description="坏字符\uffff\ufffe\x0b结束", address="=1+1")
    book = load_workbook(io.BytesIO(_export(cast.client(cast.viewer), "xlsx")))
    rows = list(book.active.iter_rows(values_only=True))
    header, row = rows[0], rows[1]
    assert row[header.index("描述")] == "坏字符结束"
    assert row[header.index("地址")] == "'=1+1"


def test_the_report_workbook_holds_no_formula_and_survives_control_characters():
    from django.utils import timezone
    from openpyxl import load_workbook

    from reports import jobs, render
    from reports.models import Report
    from reports.periods import Kind, containing, previous

    make_cast()
    span = previous(containing(Kind.WEEKLY, timezone.now()))
    jobs.request(span)
    report = jobs.publish(jobs._claim(timezone.now()))
    report = Report.objects.get(pk=report.pk)
    evil = {
        "number": "20260101000001",
        "category": "=cmd|' /C calc'!A0",
        "grid": "320505006001001",
        "grid_name": "@网格",
        "address": '=HYPERLINK("http://evil.example")\x07路',
        "unit": "-执法大队",
        "deadline": "2026-01-01",
    }
    report.data["lists"]["supervised"] = [evil]
    book = load_workbook(io.BytesIO(render.xlsx(report)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    formulas = [c.coordinate for c in cells if c.data_type == "f"]
    assert not formulas, formulas
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert (
        '\'=HYPERLINK("http://evil.example")路' in texts
        and "'-执法大队" in texts
        and "'@网格" in texts
    )


@pytest.mark.parametrize("field", ["description", "address"])
def test_control_and_non_characters_are_dropped_at_input(field):
    cast = make_cast()
    body = {
        "category": cast.category.pk,
        "lon": IN_A[0],
        "lat": IN_A[1],
        field: "占道\x00经营\x1b\uffff\ud800摊点\n第二行\t！",
    }
    response = cast.client(cast.officer).post(
        "/api/cases/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 201, response.content
    assert getattr(Case.objects.get(), field) == "占道经营摊点\n第二行\t！"


def test_control_characters_in_attributes_and_reasons_are_dropped():
    cast = make_cast()
    case = case_in(cast, Status.REPORTED)
    response = cast.client(cast.acceptor).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "reject", "version": case.version, "reason": "不属实\x08\uffff"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert case.events.get(action="reject").reason == "不属实"


# --- 13. headers, HTTPS in production -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/console/",
        "/m/",
        "/accounts/login/",
        "/admin/login/",
        "/api/docs/",
        "/api/health",
        "/open311/v2/services.json",
    ],
)
def test_every_answer_carries_the_content_security_policy(path):
    response = Client().get(path)
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"


def test_check_deploy_is_clean_with_debug_off():
    env = {k: v for k, v in os.environ.items() if k not in ("HTTPS", "DEBUG", "GRIDCASE_DEMO")}
    env.update(
        DEBUG="0",
        SECRET_KEY="a-production-like-secret-key-0123456789abcdefghijkl",
        ALLOWED_HOSTS="gridcase.example.org",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    warnings = [line for line in (done.stdout + done.stderr).splitlines() if "security.W" in line]
    assert not warnings, warnings


# --- 14. the socket's origin: scheme, host and port -------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "host, origin, accepted",
    [
        ("localhost:8000", "http://localhost:8000", True),
        ("localhost:8000", "http://localhost:9999", False),  # another port: another site
        ("localhost:8000", "https://localhost:8000", False),  # another scheme
        ("localhost:8000", "http://evil.example:8000", False),
        (None, "http://localhost:9999", False),
        (None, "http://localhost", True),
        ("evil.example", "http://evil.example", False),  # not an allowed host
    ],
)
def test_the_socket_origin_must_match_scheme_host_and_port(host, origin, accepted):
    from backend.asgi import application
    from people.tokens import key_for

    cast = make_cast()
    key = key_for(cast.acceptor)
    headers = [(b"origin", origin.encode())] + ([(b"host", host.encode())] if host else [])

    async def attempt():
        communicator = WebsocketCommunicator(
            application, f"/ws/alerts/?token={key}", headers=headers
        )
        connected, _code = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)() is accepted


# --- 15. Open311 media_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        'http://x.example/"><script>alert(1)</script>',
        "javascript:alert(1)",
        "http://x.example/a b",
        "ftp://x.example/a.jpg",
        "http://x.example/<img>",
    ],
)
def test_open311_refuses_media_urls_that_are_not_plain_http_urls(url):
    from urllib.parse import urlencode

    from django.core.cache import cache

    from open311.models import issue_key

    cache.clear()  # Open311's per-key rate limits count in the cache
    cast = make_cast()
    data = urlencode(
        {
            "api_key": issue_key(name="测试应用")[1],
            "service_code": str(cast.category.pk),
            "lat": IN_A[1],
            "long": IN_A[0],
            "description": "路灯不亮",
            "media_url": url,
        }
    )
    response = Client().post(
        "/open311/v2/requests.json",
        data,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert response.status_code == 400, response.content
    assert "media_url" in response.json()[0]["description"]
    assert not Case.objects.exists()


# --- 12 (+13). the console in a browser: server strings are text, and the pages pass the policy ------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_pass_the_policy_and_the_marker_tooltip_shows_names_as_text(
    live_server, chromium_path
):
    from playwright.sync_api import sync_playwright

    from tests.test_console import sign_in
    from tests.test_home_browser import CHROMIUM_ARGS

    cast = make_cast()
    payload = '<img src=x onerror="window.__xss=1">私搭乱建'
    cast.category.name = payload
    cast.category.save()
    case = case_in(cast, Status.REPORTED)
    admin = make_admin_user(username="root", password="pw-csp-1")
    cast.dispatcher.set_password("pw-csp-2")
    cast.dispatcher.save()
    pages = [
        "/",
        "/m/",
        "/reports/",
        "/metrics/",
        "/api/docs/",
        "/admin/",
        f"/status/{case.number}",
    ]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            page.on("pageerror", lambda error: violations.append(str(error)))
            sign_in(page, live_server.url, "dispatcher", "pw-csp-2")
            page.evaluate(f"window.gridcaseConsole.focusCase({case.pk}, false)")
            marker = page.locator(f"path.gcc-case-{case.pk}")
            marker.hover()
            tooltip = page.locator(".leaflet-tooltip").last
            tooltip.wait_for(timeout=10000)
            assert "<img src=x" in tooltip.inner_text()
            assert tooltip.locator("img").count() == 0
            assert page.evaluate("window.__xss") is None
            context = browser.new_context(locale="zh-CN")
            other = context.new_page()
            other.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            other.goto(live_server.url + "/accounts/login/?next=/")
            other.fill("input[name=username]", admin.username)
            other.fill("input[name=password]", "pw-csp-1")
            other.click("button[type=submit], input[type=submit]")
            other.wait_for_load_state("networkidle")
            for path in pages:
                other.goto(live_server.url + path)
                other.wait_for_load_state("networkidle")
            assert other.locator("#swagger-ui").count() == 0  # the last page is the status page
            other.goto(live_server.url + "/api/docs/")
            other.wait_for_selector("#swagger-ui .information-container", timeout=20000)
            assert not violations, violations
        finally:
            browser.close()
