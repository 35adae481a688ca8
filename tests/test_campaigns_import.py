"""The 违建台账 import (campaigns/importer.py): every row checked first, nothing written when any row is
wrong, each problem naming its row and column; the template, the command and the admin upload."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from campaigns.importer import import_ledger
from campaigns.models import CampaignSettings, EntryKind, LedgerEntry
from tests.cast import IN_A, make_cast
from tests.factories import make_admin_user

pytestmark = pytest.mark.django_db
IN_B = (120.7605, 31.3305)
HEADER = ["编号", "面积（m²）", "结构", "用途", "发现日期", "经度", "纬度", "地址"]


def workbook(rows, header=HEADER) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def good_rows():
    return [
        ["WJ-1", 120, "钢结构棚", "仓储", dt.date(2019, 5, 1), *IN_A, "一路1号"],
        ["WJ-2", "35.5", "砖混", "居住", "2021-07-09", *IN_B, "二路2号"],
        ["WJ-3", 8, "", "", "2023年1月5日", IN_A[0] + 0.0003, IN_A[1] + 0.0003, ""],
    ]


def test_a_good_workbook_is_imported_and_placed_in_its_grids():
    cast = make_cast()
    report = import_ledger(workbook(good_rows()), name="ledger.xlsx")
    assert report.ok and report.written == 3, report.summary()
    entries = {e.number: e for e in LedgerEntry.objects.all()}
    assert (
        entries["WJ-1"].grid_code == cast.grid.code
        and entries["WJ-2"].grid_code == cast.other_grid.code
    )
    assert (entries["WJ-2"].area_m2, entries["WJ-2"].structure, entries["WJ-2"].found_on) == (
        Decimal("35.50"),
        "brick",
        dt.date(2021, 7, 9),
    )
    assert entries["WJ-3"].found_on == dt.date(2023, 1, 5) and entries["WJ-3"].structure == ""
    assert {e.kind for e in entries.values()} == {
        EntryKind.EXISTING
    }  # before the baseline (2026-01-01)


def test_a_row_on_or_after_the_baseline_is_new():
    make_cast()
    settings = CampaignSettings.current()
    settings.baseline_date = dt.date(2021, 1, 1)
    settings.save()
    import_ledger(workbook(good_rows()))
    assert dict(LedgerEntry.objects.values_list("number", "kind")) == {
        "WJ-1": "existing",
        "WJ-2": "new",
        "WJ-3": "new",
    }


FAR = (121.25, 31.30)  # ~52 km east of every grid


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({1: None}, "area_m2", "required"),
        ({1: -5}, "area_m2", "more than 0"),
        ({1: 0}, "area_m2", "more than 0"),
        ({1: 250000}, "area_m2", "100000"),
        ({1: "lots"}, "area_m2", "not a number"),
        ({5: FAR[0], 6: FAR[1]}, "lon/lat", "km from the nearest grid"),
        ({0: "WJ-1"}, "number", "also in row 2"),
        ({0: None}, "number", "required"),
        ({0: "2026010100001"}, "number", "case number"),
        ({4: "FUTURE"}, "found_on", "in the future"),
        ({4: "someday"}, "found_on", "not a date"),
        ({2: "茅草"}, "structure", "not one of"),
        ({5: None}, "lon", "required"),
    ],
)
def test_one_bad_row_names_its_row_and_field_and_nothing_is_written(change, field, words):
    make_cast()
    rows = good_rows()
    bad = list(rows[2])  # spreadsheet row 4
    for column, value in change.items():
        bad[column] = (timezone.localdate() + dt.timedelta(days=1)) if value == "FUTURE" else value
    rows[2] = bad
    report = import_ledger(workbook(rows))
    assert not report.ok and report.written == 0
    assert LedgerEntry.objects.count() == 0
    assert [p.row for p in report.problems] == [4], report.summary()
    assert field in report.problems[0].field and words in report.problems[0].message, (
        report.summary()
    )
    assert "row 4" in report.summary() and "nothing written" in report.summary()


def test_an_entry_number_already_in_the_ledger_is_refused():
    make_cast()
    assert import_ledger(workbook(good_rows()[:1])).written == 1
    report = import_ledger(workbook(good_rows()))
    assert [(p.row, p.message) for p in report.problems] == [(2, "WJ-1 is already in the ledger")]
    assert LedgerEntry.objects.count() == 1


def test_a_workbook_without_a_required_column_or_not_a_workbook_is_refused(tmp_path):
    from campaigns.importer import LedgerFileError

    make_cast()
    with pytest.raises(LedgerFileError, match="面积"):
        import_ledger(
            workbook(
                [["WJ-1", dt.date(2020, 1, 1), *IN_A]], header=["编号", "发现日期", "经度", "纬度"]
            )
        )
    with pytest.raises(LedgerFileError, match="not a readable"):
        import_ledger(io.BytesIO(b"number,area\nWJ-1,3\n"), name="ledger.csv")


def test_the_command_writes_a_template_it_can_import_and_checks_before_writing(tmp_path):
    make_cast()
    template = tmp_path / "template.xlsx"
    call_command("import_ledger", template=template, stdout=io.StringIO())
    book = load_workbook(template)
    assert [c.value for c in book.active[1]][:2] == [
        "编号",
        "面积（m²）",
    ] and "说明" in book.sheetnames
    out = io.StringIO()
    call_command("import_ledger", template, dry_run=True, stdout=out)  # the example row is valid
    assert "1 rows read" in out.getvalue() and LedgerEntry.objects.count() == 0
    bad = tmp_path / "bad.xlsx"
    rows = good_rows()
    rows[1][1] = -1
    bad.write_bytes(workbook(rows).getvalue())
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing written"):
        call_command("import_ledger", bad, stdout=out)
    assert "row 3, 面积 area_m2" in out.getvalue() and LedgerEntry.objects.count() == 0
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook(good_rows()).getvalue())
    call_command("import_ledger", good, stdout=io.StringIO())
    assert LedgerEntry.objects.count() == 3


def test_the_admin_upload_shows_the_problems_or_imports():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    make_cast()
    client = Client()
    client.force_login(make_admin_user())
    rows = good_rows()
    rows[0][4] = None

    def upload(data):
        return client.post(
            "/admin/campaigns/ledgerentry/import/",
            {"workbook": SimpleUploadedFile("ledger.xlsx", data.getvalue())},
        )

    answer = upload(workbook(rows))
    assert (
        answer.status_code == 200
        and "row 2, 发现日期 found_on: required" in answer.content.decode()
    )
    assert LedgerEntry.objects.count() == 0
    answer = upload(workbook(good_rows()))
    assert answer.status_code == 302 and LedgerEntry.objects.count() == 3
    template = client.get("/admin/campaigns/ledgerentry/template/")
    assert (
        template.status_code == 200
        and load_workbook(io.BytesIO(template.content)).active["A1"].value == "编号"
    )
    assert client.get("/admin/campaigns/ledgerentry/").status_code == 200


def test_the_demo_city_gets_its_baseline_ledger_through_the_import_and_new_entries_from_its_cases():
    from django.test import override_settings

    from campaigns import figures
    from campaigns.models import DemolitionTarget, Disposition

    with override_settings(DEMO=True):
        out = io.StringIO()
        call_command("load_demo", cases=80, stdout=out)
    imported = LedgerEntry.objects.filter(source="import")
    assert imported.count() == 300 and not imported.filter(grid__isnull=True).exists()
    assert set(imported.values_list("kind", flat=True)) == {EntryKind.EXISTING}
    streets = {code[:9] for code in imported.values_list("grid_code", flat=True)}
    assert len(streets) >= 5
    assert "300 rows read from demo-ledger.xlsx: no errors" in out.getvalue()
    made = LedgerEntry.objects.filter(source="case")
    assert made.exists() and set(made.values_list("kind", flat=True)) == {EntryKind.NEW}
    assert Disposition.objects.filter(state="confirmed").exists()
    assert DemolitionTarget.objects.filter(year=timezone.localdate().year).count() == len(streets)
    today = timezone.localdate()
    city = figures.construction_rows(
        level="city",
        period=figures.Period(today - dt.timedelta(days=70), today + dt.timedelta(days=1)),
    )[0]
    counted = made.exclude(
        origin_case__status__in=["rejected", "voided", "merged"]
    )  # those do not count
    assert 0 < counted.count() <= made.count()
    assert (
        city["existing_count"] == 300
        and city["new_count"] == counted.count()
        and not city["zero_growth"]
    )
