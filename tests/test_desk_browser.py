"""The whole loop through the pages, on a desktop viewport (issue #15): the dispatcher dispatches in
the console; the unit member finds the case in 待处置 on the unit desk and asks for an extension;
the dispatcher approves it in the console; the unit member gives feedback with a photo; the
officer's check fails on the phone; the case is in the unit's 返工 queue; a second feedback passes
the check; the shift leader closes it. Every step through the UI; the API only reads results.

Browser tests build their data before Playwright starts and check the database after it stops.
Screenshots go to docs/screenshots/ only with GRIDCASE_SCREENSHOTS=1 (else a temporary folder)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from cases.models import Case, CaseEvent, Status
from tests.cast import make_cast
from tests.test_console import to_dispatching
from tests.test_home_browser import CHROMIUM_ARGS
from tests.test_mobile import HERE, PASSWORD, photo_file
from tests.test_mobile_unit import shot

TIMEOUT_MS = 20_000


def desk_photo() -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (60, 140, 60)).save(buffer, "JPEG")
    return {"name": "done.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def sign_in(page, base: str, username: str, path: str, ready: str) -> None:
    page.goto(base + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".gc-login button[type=submit]")
    page.wait_for_selector(ready, state="attached")


def officer_answers_check(
    phone_page, base: str, case_id: int, outcome: str, *, reason: str = "", photo: bool = False
) -> None:
    phone_page.goto(base + f"/m/task?id={case_id}")
    expect(phone_page.locator("#action-title")).to_have_text("现场核查")
    phone_page.locator("#outcomes label").filter(
        has=phone_page.locator(f"input[value={outcome}]")
    ).click()
    if photo:
        phone_page.set_input_files("#action-photos", files=[photo_file("check.jpg")])
        expect(phone_page.locator("#action-photo-list img")).to_have_count(1)
    if reason:
        phone_page.fill("#action-reason", reason)
    phone_page.click("#action-submit")
    expect(phone_page.locator("#action-done-title")).to_have_text("已提交")


def give_feedback(desk, case_id: int, note: str) -> None:
    form = desk.locator("#gcd-panel form[data-action=feedback]")
    if not form.is_visible():
        desk.locator("#gcd-panel details[data-action=feedback] > summary").click()
    form.locator("input[name=photos]").set_input_files([desk_photo()])
    form.locator("textarea[name=reason]").fill(note)
    form.locator("button[type=submit]").click()
    desk.wait_for_selector(f"#gcd-case[data-case='{case_id}'][data-status=checking]")
    expect(desk.locator("#gcd-panel .gcd-ok")).to_be_visible()


@pytest.mark.browser
@pytest.mark.chinese
@pytest.mark.django_db(transaction=True)
def test_dispatch_extension_feedback_rework_feedback_close_through_the_pages(
    live_server, chromium_path
):
    cast = make_cast()
    case = to_dispatching(cast, description="人行道上堆放建筑垃圾", address="人民路 12 号")
    base = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:

            def desktop():
                context = browser.new_context(
                    viewport={"width": 1440, "height": 900},
                    locale="zh-CN",
                    timezone_id="Asia/Shanghai",
                )
                context.set_default_timeout(TIMEOUT_MS)
                return context, context.new_page()

            errors: list[str] = []
            centre_context, centre = desktop()
            unit_context, desk = desktop()
            for page in (centre, desk):
                page.on("pageerror", lambda error: errors.append(str(error)))
            phone_context = browser.new_context(
                viewport={"width": 360, "height": 740},
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                geolocation=HERE,
                permissions=["geolocation"],
            )
            phone_context.set_default_timeout(TIMEOUT_MS)
            phone = phone_context.new_page()

            # 1. The dispatcher dispatches the case to the unit from the console's queue.
            sign_in(centre, base, "dispatcher", "/console/", "#console[data-state=ready]")
            row = centre.locator(f".gcc-queue[data-queue=dispatch] .gcc-row[data-case='{case.pk}']")
            row.locator("select").select_option(str(cast.unit.pk))
            row.locator("button[data-action=dispatch]").click()
            centre.wait_for_selector(
                f".gcc-queue[data-queue=dispatch] .gcc-row[data-case='{case.pk}']", state="detached"
            )

            # 2. The unit member finds it in 待处置 and asks for an extension of 4 working hours.
            sign_in(desk, base, "unit", "/desk/", "#desk[data-state=ready]")
            expect(desk.locator(".gcd-queue[data-queue=new] .gcd-queue-name")).to_have_text(
                "待处置"
            )
            desk.locator(f".gcd-queue[data-queue=new] .gcd-row[data-case='{case.pk}']").click()
            desk.wait_for_selector(f"#gcd-case[data-case='{case.pk}'][data-status=handling]")
            expect(desk.locator("#gcd-panel details[data-action] > summary")).to_have_text(
                ["处置反馈", "申请延期", "申请回退", "申请挂账"]
            )
            shot(desk, "units-desk")
            desk.locator("#gcd-panel details[data-action=request_extension] > summary").click()
            form = desk.locator("#gcd-panel form[data-action=request_extension]")
            form.locator("input[name=hours]").fill("4")
            form.locator("textarea[name=reason]").fill("需要调用吊车，材料未到")
            form.locator("button[type=submit]").click()
            expect(desk.locator("#gcd-panel .gcd-ok")).to_be_visible()
            expect(desk.locator("#gcd-panel .gcd-pending")).to_be_visible()
            expect(
                desk.locator(f".gcd-queue[data-queue=requests] .gcd-row[data-case='{case.pk}']")
            ).to_be_visible()
            deadline_before = centre_context.request.get(base + f"/api/cases/{case.pk}").json()[
                "deadline"
            ]

            # 3. The dispatcher approves it in the console.
            centre.reload()
            centre.wait_for_selector("#console[data-state=ready]", state="attached")
            approve = centre.locator(
                f".gcc-queue[data-queue=requests] .gcc-row[data-case='{case.pk}'] "
                "button[data-action=approve_extension]"
            )
            approve.click()
            centre.wait_for_selector(
                f".gcc-queue[data-queue=requests] .gcc-row[data-case='{case.pk}']", state="detached"
            )
            read = centre_context.request.get(base + f"/api/cases/{case.pk}").json()
            assert read["deadline"] > deadline_before and read["pending_request"] is None

            # 4. The unit sees the answer, and gives feedback with a photo.
            desk.goto(base + f"/desk/?case={case.pk}")
            desk.wait_for_selector("#desk[data-state=ready]", state="attached")
            expect(
                desk.locator(f".gcd-answers [data-case='{case.pk}'][data-answer=approve_extension]")
            ).to_be_visible()
            give_feedback(desk, case.pk, "已清运")

            # 5. The officer's check fails on the phone.
            sign_in(phone, base, "officer", "/m/", "#home-user")
            officer_answers_check(phone, base, case.pk, "fail", reason="仍有残留")

            # 6. Back to the unit: the case is in its 返工 queue; a second feedback.
            desk.goto(base + "/desk/")
            desk.wait_for_selector("#desk[data-state=ready]", state="attached")
            rework = desk.locator(f".gcd-queue[data-queue=rework] .gcd-row[data-case='{case.pk}']")
            expect(rework).to_be_visible()
            shot(desk, "units-desk-rework")
            rework.click()
            desk.wait_for_selector(f"#gcd-case[data-case='{case.pk}'][data-status=handling]")
            expect(desk.locator("#gcd-panel .gcd-timeline li[data-action=check]")).to_contain_text(
                "仍有残留"
            )
            give_feedback(desk, case.pk, "残留已清理")
            expect(
                desk.locator(f".gcd-queue[data-queue=checking] .gcd-row[data-case='{case.pk}']")
            ).to_be_visible()

            # 7. The check passes; 8. the shift leader closes the case in the console.
            officer_answers_check(phone, base, case.pk, "pass", photo=True)
            centre_context.clear_cookies()
            sign_in(centre, base, "shiftleader", "/console/", "#console[data-state=ready]")
            centre.locator(
                f".gcc-queue[data-queue=close] .gcc-row[data-case='{case.pk}'] "
                "button[data-action=close]"
            ).click()
            centre.wait_for_selector(
                f".gcc-queue[data-queue=close] .gcc-row[data-case='{case.pk}']", state="detached"
            )
            final = centre_context.request.get(base + f"/api/cases/{case.pk}").json()
            assert not errors, errors
        finally:
            browser.close()

    assert final["status"] == "closed"
    actions = list(
        CaseEvent.objects.filter(case=case).order_by("seq").values_list("action", "actor__username")
    )
    assert actions == [
        ("report", "officer"),
        ("accept", "acceptor"),
        ("register", "shiftleader"),
        ("dispatch", "dispatcher"),
        ("request_extension", "unit"),
        ("approve_extension", "dispatcher"),
        ("feedback", "unit"),
        ("check", "officer"),
        ("feedback", "unit"),
        ("check", "officer"),
        ("close", "shiftleader"),
    ]
    extension = CaseEvent.objects.get(case=case, action="request_extension")
    assert extension.data["amount_minutes"] == 240
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED
    assert [e.photos.count() for e in CaseEvent.objects.filter(case=case, action="feedback")] == [
        1,
        1,
    ]
