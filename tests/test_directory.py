"""The city directory workbook (issue 23): organisations, people, grid assignments, dispatch rules;
validated before anything is written, re-imported by code and user name, never a password."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook, load_workbook

from cases.models import DispatchRule
from grids.models import GridAssignment
from people import directory
from people.models import Organisation, Role, User
from tests.cast import make_cast

pytestmark = pytest.mark.django_db
GRID_A, GRID_B = "320505006001001", "320506009001001"  # tests/cast.py

ORGS = [
    ["编码", "名称", "类型", "所属区域", "电话"],
    ["sip-centre", "园区监督指挥中心", "监督中心", "", "0512-1"],
    ["water", "园区自来水公司", "处置单位", "", ""],
    ["xietang-office", "斜塘街道办事处", "处置单位", "320505006", ""],
    ["weiting-office", "唯亭街道办事处", "街道办事处", "320506009", ""],
]
PEOPLE = [
    ["用户名", "姓名", "电话", "组织", "角色", "启用"],
    ["zhang.san", "张三", "13800000001", "sip-centre", "监督员", "是"],
    ["li.si", "李四", "13800000002", "sip-centre", "监督员", "是"],
    ["wang.wu", "王五", "", "sip-centre", "派遣员", "是"],
    ["zhao.liu", "赵六", "", "water", "处置单位人员", "是"],
]
ASSIGN = [
    ["网格编码", "监督员", "开始日期", "结束日期"],
    [GRID_A, "zhang.san", dt.date(2026, 1, 1), None],
    [GRID_B, "li.si", "2026-01-01", ""],
]


def rules(cast) -> list[list]:
    code = cast.category.code
    return [
        ["类型", "类别编码", "区域编码前缀", "处置单位", "优先级"],
        ["事件", code, "320505", "xietang-office", 1],
        ["事件", code, "320506", "water", 1],
        ["事件", cast.category.big_class.code, "", "water", 5],
    ]


def workbook(path: Path, **sheets: list[list]) -> Path:
    names = {"orgs": "组织", "people": "人员", "assign": "网格分配", "rules": "派遣规则"}
    book = Workbook()
    book.remove(book.active)
    for key, rows in sheets.items():
        ws = book.create_sheet(names[key])
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def full(tmp_path: Path, cast, **changes) -> Path:
    sheets = {"orgs": ORGS, "people": PEOPLE, "assign": ASSIGN, "rules": rules(cast)}
    sheets.update(changes)
    return workbook(tmp_path / "city.xlsx", **sheets)


def import_(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_directory", str(path), *args, stdout=out)
    return out.getvalue()


def snapshot() -> tuple:
    rows = (
        Organisation.objects.values_list("code", "name", "kind", "active"),
        User.objects.values_list("username", "first_name", "role", "is_active", "organisation_id"),
        GridAssignment.objects.values_list("grid_id", "officer_id", "since"),
        DispatchRule.objects.values_list(
            "small_class_id", "big_class_id", "area_prefix", "unit_id", "priority"
        ),
    )
    return tuple(sorted(query, key=repr) for query in rows)


def test_a_workbook_imports_the_city_and_new_people_sign_in_once(tmp_path):
    cast = make_cast()
    out = import_(full(tmp_path, cast), "--base-url", "http://testserver")
    assert "0 errors" in out and "people new 4" in out
    office = Organisation.objects.get(code="xietang-office")
    assert (office.kind, office.area.code) == ("handling_unit", "320505006")
    zhang = User.objects.get(username="zhang.san")
    assert (zhang.first_name, zhang.role, zhang.phone, zhang.organisation.code) == (
        "张三",
        Role.OFFICER,
        "13800000001",
        "sip-centre",
    )
    assert not zhang.has_usable_password()
    assert set(
        GridAssignment.objects.filter(officer=zhang).values_list("grid__code", flat=True)
    ) == {GRID_A}
    assert DispatchRule.objects.count() == 3
    # The one-time link: choose a password, sign in with it; the link then stops working.
    link = next(line.split("\t")[2] for line in out.splitlines() if line.startswith("zhang.san\t"))
    assert "password" not in link and link.startswith("http://testserver/accounts/reset/")
    browser = Client()
    form = browser.get(link.removeprefix("http://testserver"), follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Chosen-pw-2026!", "new_password2": "Chosen-pw-2026!"},
    )
    assert done.status_code == 302
    assert Client().login(username="zhang.san", password="Chosen-pw-2026!")
    again = Client().get(link.removeprefix("http://testserver"), follow=True)
    assert b"new_password1" not in again.content


BAD_ROWS = [
    (
        "unknown grid",
        {"assign": ASSIGN + [["320505006001999", "zhang.san", "2026-01-01", None]]},
        "网格分配 row 4, 网格编码",
    ),
    (
        "unknown class",
        {"rules": lambda cast: rules(cast) + [["事件", "99999", "", "water", 1]]},
        "派遣规则 row 5, 类别编码",
    ),
    (
        "not a handling unit",
        {"rules": lambda cast: rules(cast) + [["事件", cast.category.code, "", "sip-centre", 1]]},
        "派遣规则 row 5, 处置单位",
    ),
    (
        "overlapping assignments",
        {"assign": ASSIGN + [[GRID_A, "zhang.san", "2026-03-01", "2026-04-01"]]},
        "网格分配 row 4, 开始日期",
    ),
    (
        "equal priority",
        {"rules": lambda cast: rules(cast) + [["事件", cast.category.code, "320505", "water", 1]]},
        "派遣规则 row 5, 优先级",
    ),
    (
        "unknown role",
        {"people": PEOPLE + [["sun.qi", "孙七", "", "sip-centre", "队长", "是"]]},
        "人员 row 6, 角色",
    ),
    (
        "unknown organisation",
        {"people": PEOPLE + [["sun.qi", "孙七", "", "nowhere", "监督员", "是"]]},
        "人员 row 6, 组织",
    ),
    (
        "unknown area",
        {"orgs": ORGS + [["x", "某单位", "处置单位", "999999", ""]]},
        "组织 row 6, 所属区域",
    ),
    (
        "duplicate user name",
        {"people": PEOPLE + [["li.si", "李四", "", "sip-centre", "监督员", "是"]]},
        "人员 row 6, 用户名",
    ),
    (
        "bad date",
        {"assign": ASSIGN + [[GRID_A, "li.si", "next monday", None]]},
        "网格分配 row 4, 开始日期",
    ),
    (
        "not an officer",
        {"assign": ASSIGN + [[GRID_A, "wang.wu", "2026-01-01", None]]},
        "网格分配 row 4, 监督员",
    ),
]


@pytest.mark.parametrize("what, change, where", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_one_bad_row_is_named_and_nothing_is_written(tmp_path, what, change, where):
    cast = make_cast()
    change = {k: (v(cast) if callable(v) else v) for k, v in change.items()}
    before = snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 errors: nothing was written"):
        call_command("import_directory", str(full(tmp_path, cast, **change)), stdout=out)
    errors = [line for line in out.getvalue().splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and where in errors[0], out.getvalue()
    assert snapshot() == before


def test_a_dry_run_writes_nothing(tmp_path):
    cast = make_cast()
    before = snapshot()
    out = import_(full(tmp_path, cast), "--dry-run")
    assert "Dry run: nothing was written." in out and "people new 4" in out
    assert snapshot() == before


def test_reimport_updates_by_code_and_user_name_and_closes_what_the_file_no_longer_has(tmp_path):
    cast = make_cast()
    import_(full(tmp_path, cast))
    zhang = User.objects.get(username="zhang.san")
    zhang.set_password("Kept-pw-2026!")
    zhang.save()
    people = [row for row in PEOPLE if row[0] != "li.si"]
    people = [
        ["zhang.san", "张三丰", "139", "sip-centre", "监督员", "是"] if r[0] == "zhang.san" else r
        for r in people
    ]
    orgs = [row for row in ORGS if row[0] != "weiting-office"]
    assign = [
        ASSIGN[0],
        [GRID_A, "zhang.san", "2026-01-01", None],
        [GRID_B, "zhang.san", "2026-01-01", None],
    ]
    out = import_(full(tmp_path, cast, people=people, orgs=orgs, assign=assign))
    assert "people new 0" in out and "people updated 1" in out
    li = User.objects.get(username="li.si")  # deactivated, never deleted
    # deactivated, and their assignments closed (kept as history, docs/domain.md §8), not deleted
    assert not li.is_active and not GridAssignment.objects.in_force().filter(officer=li).exists()
    assert GridAssignment.objects.filter(officer=li, until__isnull=False).exists()
    zhang.refresh_from_db()
    assert (zhang.first_name, zhang.phone) == ("张三丰", "139") and zhang.check_password(
        "Kept-pw-2026!"
    )
    assert set(
        GridAssignment.objects.in_force().filter(officer=zhang).values_list("grid__code", flat=True)
    ) == {GRID_A, GRID_B}
    assert not Organisation.objects.get(code="weiting-office").active
    # The people and organisations the test city had before the workbook are closed too, except the
    # accounts the workbook never manages (superusers, the public).
    assert not User.objects.get(username="dispatcher").is_active
    assert User.objects.get(username="citizen").is_active


def test_the_template_holds_the_current_data_and_imports_as_it_is(tmp_path):
    cast = make_cast()
    import_(full(tmp_path, cast))
    before = snapshot()
    out = io.StringIO()
    call_command("import_directory", "--template", str(tmp_path / "out.xlsx"), stdout=out)
    book = load_workbook(tmp_path / "out.xlsx")
    assert {"组织", "人员", "网格分配", "派遣规则", "说明"} <= set(book.sheetnames)
    people = {row[0]: row for row in book["人员"].iter_rows(min_row=2, values_only=True)}
    assert people["zhang.san"][1:5] == ("张三", "13800000001", "sip-centre", "监督员")
    assert not any(
        "pbkdf2" in str(cell) or "md5" in str(cell)
        for row in book["人员"].iter_rows(values_only=True)
        for cell in row
    )
    again = import_(tmp_path / "out.xlsx")
    assert "people new 0, people updated 0, people deactivated 0" in again
    assert snapshot() == before


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    bad = tmp_path / "city.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match="not an .xlsx workbook"):
        import_(bad)
    other = Workbook()
    other.active.title = "Sheet1"
    other.save(tmp_path / "other.xlsx")
    empty = tmp_path / "other.xlsx"  # a workbook without any of the four sheets
    with pytest.raises(CommandError, match="1 errors"):
        import_(empty)


def test_save_assignments_is_the_one_writer(tmp_path):
    cast = make_cast()
    today = dt.date(2026, 6, 1)
    rows = [
        directory.Assignment(
            grid_id=cast.grid.pk, officer_id=cast.officer.pk, start=dt.date(2026, 1, 1), end=None
        ),
        directory.Assignment(
            grid_id=cast.other_grid.pk,
            officer_id=cast.officer.pk,
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 3, 1),
        ),
    ]
    counts = directory.save_assignments(rows, today=today)
    in_force = set(
        GridAssignment.objects.filter(officer=cast.officer).values_list("grid_id", flat=True)
    )
    if (
        directory._has_history()
    ):  # since/until (the patrol branch): both periods kept, the others closed
        assert (counts["assignments new"], counts["assignments closed"]) == (2, 2)
        assert (
            GridAssignment.objects.filter(
                until__isnull=True, grid=cast.grid, officer=cast.officer
            ).count()
            == 1
        )
    else:
        assert (
            in_force == {cast.grid.pk} and counts["assignments closed"] == 1
        )  # cast.officer_elsewhere's


def test_the_admin_page_previews_then_imports_and_shows_the_links(tmp_path):
    from tests.factories import make_admin_user

    cast = make_cast()
    admin = Client()
    admin.force_login(make_admin_user(username="root"))
    url = "/admin/people/organisation/directory/"
    assert b"directory/" in admin.get("/admin/people/organisation/").content
    page = admin.get(url)
    assert page.status_code == 200
    template = admin.get(url + "template.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"

    before = snapshot()
    bad = full(
        tmp_path, cast, assign=ASSIGN + [["320505006001999", "zhang.san", "2026-01-01", None]]
    )
    with bad.open("rb") as f:
        refused = admin.post(url, {"workbook": f, "preview": "1"})
    assert refused.status_code == 400
    assert "网格分配" in refused.content.decode() and "320505006001999" in refused.content.decode()
    assert b"upload_id" not in refused.content

    with full(tmp_path, cast).open("rb") as f:
        preview = admin.post(url, {"workbook": f, "preview": "1"})
    assert preview.status_code == 200 and "people new: 4" in preview.content.decode()
    assert snapshot() == before  # a preview writes nothing
    upload_id = preview.context["upload_id"]
    done = admin.post(url, {"upload_id": upload_id, "name": "city.xlsx"})
    assert done.status_code == 200, done.content.decode()[-2000:]
    assert "sign-in-links" in done.content.decode() and "/accounts/reset/" in done.content.decode()
    assert User.objects.get(username="zhao.liu").organisation.code == "water"
    replay = admin.post(url, {"upload_id": upload_id, "name": "city.xlsx"})
    assert replay.status_code == 400  # the preview is used up

    staff = make_user_staff()
    assert staff.get(url).status_code == 403


def make_user_staff() -> Client:
    from tests.factories import make_user

    user = make_user(role=Role.ADMIN, username="staffer")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client
