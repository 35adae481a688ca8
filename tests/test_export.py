"""Exports of a filtered case list: CSV and XLSX, streamed, visible cases only."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from cases.models import Status
from tests.cast import case_in, make_cast, report

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.status_code == 200, response.content if hasattr(response, "content") else ""
    return b"".join(response.streaming_content)


def test_csv_export_has_a_header_and_one_row_per_visible_case():
    cast = make_cast()
    handling = case_in(cast, Status.HANDLING)
    report(cast)
    report(cast, by=cast.officer_elsewhere, at=(120.7605, 31.3305))  # not visible to our officer
    data = body(cast.client(cast.officer).get("/api/cases/export.csv"))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["案卷号", "状态", "来源"]
    assert len(rows) == 3, [r[:7] for r in rows]
    assert [handling.number, "处置中", "监督员上报"] in [r[:3] for r in rows[1:]]


def test_xlsx_export_opens_with_every_filtered_row():
    cast = make_cast()
    for _ in range(3):
        case_in(cast, Status.CLOSED)
    report(cast)
    response = cast.client(cast.acceptor).get("/api/cases/export.xlsx", {"status": "closed"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "案卷号" and len(values) == 4
    assert {row[1] for row in values[1:]} == {"已结案"}
    assert all(row[6] == cast.grid.code for row in values[1:])


def test_export_filters_are_validated():
    cast = make_cast()
    response = cast.client(cast.acceptor).get("/api/cases/export.csv", {"status": "nope"})
    assert response.status_code == 400
