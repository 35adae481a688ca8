"""Export a filtered case list as CSV or XLSX, streamed: rows are read in chunks and written out as
they come, so 100,000 rows start arriving at once and never hit a request timeout. Every text
cell goes through cases.text.spreadsheet_text: no formula, no character that breaks the file.

The XLSX is written by hand as a streamed zip (Python's zipfile writes data descriptors when the
output cannot seek): one worksheet with inline strings, which Excel, WPS and openpyxl open.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

from django.db.models import QuerySet
from django.utils import timezone, translation

from cases.models import Case, Source, Status
from cases.text import spreadsheet_text

COLUMNS = [
    ("number", "案卷号"),
    ("status", "状态"),
    ("source", "来源"),
    ("category__big_class__name", "大类"),
    ("category__code", "小类编码"),
    ("category__name", "小类"),
    ("grid__code", "网格编码"),
    ("grid__name", "网格"),
    ("grid__community__name", "社区"),
    ("grid__community__parent__name", "街道"),
    ("address", "地址"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("description", "描述"),
    ("unit__name", "处置单位"),
    ("reported_at", "上报时间"),
    ("dispatched_at", "派遣时间"),
    ("deadline", "处置时限"),
    ("disposed_at", "反馈时间"),
    ("closed_at", "结案时间"),
    ("supervised", "督办"),
]
CHUNK = 2000
SOURCE_NAMES = {
    "patrol": "监督员上报",
    "public": "公众举报",
    "hotline_12345": "12345热线",
    "hotline_12319": "12319热线",
    "leader": "领导交办",
    "media": "媒体曝光",
    "video": "视频监控",
}
assert set(SOURCE_NAMES) == set(Source.values)


def _status_names() -> dict[str, str]:
    """The statuses' Chinese names: the translated Status labels, whatever the request's language."""
    with translation.override("zh-hans"):
        return {status.value: str(status.label) for status in Status}


def rows(cases: QuerySet[Case]) -> Iterator[list]:
    """Display values per case, read `CHUNK` rows at a time."""
    tz = timezone.get_current_timezone()
    status_names = _status_names()
    fields = [name for name, _title in COLUMNS]
    for values in cases.order_by("-id").values_list(*fields).iterator(chunk_size=CHUNK):
        row = []
        for (name, _title), value in zip(COLUMNS, values, strict=True):
            if isinstance(value, dt.datetime):
                value = value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            elif name == "status":
                value = status_names[value]
            elif name == "source":
                value = SOURCE_NAMES[value]
            elif name == "supervised":
                value = "是" if value else ""
            row.append("" if value is None else value)
        yield row


def csv_chunks(data: Iterable[list]) -> Iterator[bytes]:
    """UTF-8 with a BOM, so Excel shows the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([title for _name, title in COLUMNS])
    for i, row in enumerate(data, 1):
        writer.writerow([spreadsheet_text(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable stream whose written bytes are taken out in pieces."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="案卷" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _cell(value) -> str:
    if isinstance(value, bool) or value == "":
        return f'<c t="inlineStr"><is><t>{"是" if value is True else ""}</t></is></c>'
    if isinstance(value, (int, float)):
        return f"<c><v>{value}</v></c>"
    text = escape(spreadsheet_text(str(value)).replace("\r", ""))
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def xlsx_chunks(data: Iterable[list]) -> Iterator[bytes]:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, xml in _STATIC.items():
            archive.writestr(name, xml)
        yield pipe.take()
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = "".join(_cell(title) for _name, title in COLUMNS)
            sheet.write(f"<row>{header}</row>".encode())
            for i, row in enumerate(data, 1):
                sheet.write(("<row>" + "".join(_cell(v) for v in row) + "</row>").encode())
                if i % 500 == 0:
                    yield pipe.take()
            sheet.write(b"</sheetData></worksheet>")
    yield pipe.take()
