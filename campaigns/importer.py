"""Import the city's existing 违建台账 from a workbook (docs/domain.md §12), like grids/importer.py: read and
validate every row first, write only when no row is wrong, all in one transaction.

Columns (first sheet, header in row 1; Chinese or English names, any order):
编号 number (required, unique, not 13 digits: those are case numbers), 面积 area_m2 (required,
0 < m² ≤ 100,000), 结构 structure (钢结构棚/砖混/其他 or steel_shed/brick/other; optional), 用途 use,
发现日期 found_on (required, not in the future), 经度 lon and 纬度 lat (required, WGS84/CGCS2000), 地址
address, 备注 note. Each entry is placed in its grid like a case (docs/domain.md §1: containing grid, or the
nearest within the snap distance); a point further from every grid is refused with its distance.
An entry found before the baseline date (`CampaignSettings`) is 存量, on or after it 新增.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

import numpy as np
import shapely
from django.db import transaction
from django.utils import timezone
from pyproj import Geod
from shapely.ops import nearest_points

from campaigns.models import (
    MAX_AREA_M2,
    CampaignSettings,
    EntryKind,
    EntrySource,
    LedgerEntry,
    Structure,
)

COLUMNS = {  # key → (header written in the template, other names accepted)
    "number": ("编号", ("台账编号", "number", "entry_number")),
    "area_m2": ("面积（m²）", ("面积", "面积(m²)", "面积（平方米）", "area_m2", "area")),
    "structure": ("结构", ("structure",)),
    "use": ("用途", ("use",)),
    "found_on": ("发现日期", ("日期", "found_on", "date")),
    "lon": ("经度", ("lon", "longitude")),
    "lat": ("纬度", ("lat", "latitude")),
    "address": ("地址", ("address",)),
    "note": ("备注", ("note",)),
}
REQUIRED = ("number", "area_m2", "found_on", "lon", "lat")
STRUCTURE_NAMES = {
    "钢结构棚": Structure.STEEL_SHED,
    "钢棚": Structure.STEEL_SHED,
    "彩钢棚": Structure.STEEL_SHED,
    "砖混": Structure.BRICK,
    "砖": Structure.BRICK,
    "砖木": Structure.BRICK,
    "其他": Structure.OTHER,
    **{value: value for value in Structure.values},
}
CASE_NUMBER = re.compile(r"^[0-9]{13}$")
_GEOD = Geod(ellps="WGS84")


@dataclass
class Problem:
    row: int  # the spreadsheet's row number (the header is row 1)
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


@dataclass
class LedgerImport:
    source: str
    entries: list[LedgerEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0
    written: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        kinds = {k: sum(e.kind == k for e in self.entries) for k in EntryKind.values}
        if self.ok:
            lines.append(
                f"{self.rows} rows read from {self.source}: no errors; {kinds['existing']} existing and "
                f"{kinds['new']} new entries, {sum(e.area_m2 for e in self.entries)} m²; "
                f"{self.written} written."
            )
        else:
            lines.append(
                f"{self.rows} rows read from {self.source}: {len(self.problems)} errors; nothing written."
            )
        return "\n".join(lines)


class LedgerFileError(Exception):
    """The file cannot be read as a workbook, or lacks a required column."""


def write_template(target: Path | IO[bytes]) -> None:
    """A workbook with the columns, one example row and a sheet explaining each column."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "违建台账"
    sheet.append([header for header, _names in COLUMNS.values()])
    sheet.append(
        [
            "WJ-2024-0001",
            120.5,
            "钢结构棚",
            "仓储",
            dt.date(2024, 5, 17),
            120.7005,
            31.3005,
            "示例路1号",
            "示例行，导入前删除",
        ]
    )
    notes = book.create_sheet("说明")
    notes.append(["列", "必填", "说明"])
    for key, (header, names) in COLUMNS.items():
        notes.append(
            [
                header,
                "是" if key in REQUIRED else "否",
                _HELP[key] + f"（也可用列名：{', '.join(names)}）",
            ]
        )
    book.save(target)


_HELP = {
    "number": "台账编号，唯一；不可为13位纯数字（案卷号格式）",
    "area_m2": "违建面积，平方米，大于0且不超过100000",
    "structure": "钢结构棚 / 砖混 / 其他",
    "use": "用途，如仓储、居住、经营",
    "found_on": "发现（建成）日期，YYYY-MM-DD，不晚于今天；基准日前为存量，之后为新增",
    "lon": "经度，WGS84/CGCS2000（勿用GCJ-02）",
    "lat": "纬度，WGS84/CGCS2000",
    "address": "地址",
    "note": "备注",
}


def read_workbook(source: Path | IO[bytes], *, name: str = "") -> tuple[LedgerImport, list[dict]]:
    """The rows of the first sheet as dicts keyed by column key, with their row number under "_row"."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many kinds for a file that is no workbook
        raise LedgerFileError(
            f"{name or source}: not a readable .xlsx workbook ({exc.__class__.__name__})."
        ) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    keys = [_column_key(cell) for cell in header]
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in keys]
    if missing:
        raise LedgerFileError(f"{name or source}: missing column(s) {', '.join(missing)} in row 1.")
    records = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        record = {"_row": number}
        for key, value in zip(keys, values, strict=False):  # a row may be shorter or longer
            if key:
                record[key] = value
        records.append(record)
    book.close()
    return LedgerImport(source=name or str(source), rows=len(records)), records


def _column_key(cell) -> str | None:
    text = str(cell or "").strip()
    for key, (header, names) in COLUMNS.items():
        if text == header or text in names or text.lower() in names:
            return key
    return None


def validate(
    report: LedgerImport, records: list[dict], *, today: dt.date | None = None
) -> LedgerImport:
    """Check every row; fill `report.entries` (unsaved) and `report.problems`. Reads only."""
    today = today or timezone.localdate()
    baseline = CampaignSettings.current().baseline_date
    seen: dict[str, int] = {}
    parsed = []
    for record in records:
        row = record["_row"]
        bad = lambda fld, msg, row=row: report.problems.append(Problem(row, fld, msg))  # noqa: E731
        number = _text(record.get("number"))
        if not number:
            bad("编号 number", "required")
        elif len(number) > 40:
            bad("编号 number", "at most 40 characters")
        elif CASE_NUMBER.match(number):
            bad("编号 number", f"{number} has the form of a case number (13 digits); use another")
        elif number in seen:
            bad("编号 number", f"{number} is also in row {seen[number]}")
        else:
            seen[number] = row
        area = _decimal(record.get("area_m2"))
        if record.get("area_m2") in (None, ""):
            bad("面积 area_m2", "required")
        elif area is None:
            bad("面积 area_m2", f"not a number: {record.get('area_m2')!r}")
        elif area <= 0:
            bad("面积 area_m2", f"must be more than 0 (got {area})")
        elif area > MAX_AREA_M2:
            bad("面积 area_m2", f"{area} m² is more than {MAX_AREA_M2} m²: check the unit")
        structure = _text(record.get("structure"))
        if structure and structure not in STRUCTURE_NAMES:
            bad("结构 structure", f"{structure!r} is not one of 钢结构棚, 砖混, 其他")
        found_on = _date(record.get("found_on"))
        if record.get("found_on") in (None, ""):
            bad("发现日期 found_on", "required")
        elif found_on is None:
            bad("发现日期 found_on", f"not a date (YYYY-MM-DD): {record.get('found_on')!r}")
        elif found_on > today:
            bad("发现日期 found_on", f"{found_on} is in the future")
        elif found_on.year < 1950:
            bad("发现日期 found_on", f"{found_on} is before 1950")
        lon, lat = _float(record.get("lon")), _float(record.get("lat"))
        if lon is None or not -180 <= lon <= 180:
            bad(
                "经度 lon",
                f"required, a longitude between -180 and 180 (got {record.get('lon')!r})",
            )
        if lat is None or not -90 <= lat <= 90:
            bad("纬度 lat", f"required, a latitude between -90 and 90 (got {record.get('lat')!r})")
        use, address, note = (
            _text(record.get("use")),
            _text(record.get("address")),
            _text(record.get("note")),
        )
        for label, value, limit in (("用途 use", use, 100), ("地址 address", address, 300)):
            if len(value) > limit:
                bad(label, f"at most {limit} characters")
        parsed.append(
            (
                row,
                number,
                area,
                STRUCTURE_NAMES.get(structure, ""),
                use,
                found_on,
                lon,
                lat,
                address,
                note,
            )
        )
    taken = set(LedgerEntry.objects.filter(number__in=list(seen)).values_list("number", flat=True))
    for number in sorted(taken):
        report.problems.append(
            Problem(seen[number], "编号 number", f"{number} is already in the ledger")
        )
    _place(report, parsed)
    report.problems.sort(key=lambda p: (p.row, p.field))
    if report.problems:
        report.entries = []
        return report
    for _row, number, area, structure, use, found_on, lon, lat, address, note, grid in parsed:
        report.entries.append(
            LedgerEntry(
                number=number,
                kind=EntryKind.NEW if found_on >= baseline else EntryKind.EXISTING,
                source=EntrySource.IMPORT,
                area_m2=area.quantize(Decimal("0.01")),
                structure=structure,
                use=use,
                found_on=found_on,
                lon=lon,
                lat=lat,
                address=address,
                note=note,
                grid_id=grid[0],
                grid_code=grid[1],
            )
        )
    return report


def _place(report: LedgerImport, parsed: list) -> None:
    """Append each row's (grid id, code), located in bulk; a point outside the snap distance of
    every grid is an error naming its distance to the nearest grid."""
    from grids.geo import NO_GRID, grid_index

    index = grid_index()
    usable = [
        i
        for i, p in enumerate(parsed)
        if p[6] is not None and p[7] is not None and -180 <= p[6] <= 180 and -90 <= p[7] <= 90
    ]
    found = {}
    if usable:
        lons = np.array([parsed[i][6] for i in usable])
        lats = np.array([parsed[i][7] for i in usable])
        positions, _distance = index.locate_many(lons, lats)
        for i, position in zip(usable, positions, strict=True):
            if position == NO_GRID:
                report.problems.append(
                    Problem(
                        parsed[i][0],
                        "经度/纬度 lon/lat",
                        _far_message(index, parsed[i][6], parsed[i][7]),
                    )
                )
            else:
                found[i] = (int(index.ids[position]), str(index.codes[position]))
    for i, p in enumerate(parsed):
        parsed[i] = (*p, found.get(i, (None, "")))


def _far_message(index, lon: float, lat: float) -> str:
    if len(index) == 0:
        return "there are no grids to place the entry in: import the grids first"
    point = shapely.Point(lon, lat)
    nearest = index.geometries[int(np.argmin(shapely.distance(index.geometries, point)))]
    _a, on_grid = nearest_points(point, nearest)
    _az1, _az2, metres = _GEOD.inv(lon, lat, on_grid.x, on_grid.y)
    where = f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"
    return (
        f"({lon}, {lat}) is {where} from the nearest grid, beyond the {index.snap_distance_m:.0f} m a point may "
        f"be placed from one (a GCJ-02 or swapped coordinate?)"
    )


def apply(report: LedgerImport) -> LedgerImport:
    """Write the validated entries in one transaction; nothing when the report has a problem."""
    if not report.ok:
        return report
    with transaction.atomic():
        LedgerEntry.objects.bulk_create(report.entries, batch_size=500)
    report.written = len(report.entries)
    return report


def import_ledger(
    source: Path | IO[bytes], *, name: str = "", dry_run: bool = False
) -> LedgerImport:
    """Read, validate and (unless `dry_run`) write. Raises LedgerFileError for an unreadable file."""
    report, records = read_workbook(source, name=name)
    validate(report, records)
    return report if dry_run else apply(report)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _float(value) -> float | None:
    number = _decimal(value)
    return float(number) if number is not None else None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        match = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
        if match:
            try:
                return dt.date(*map(int, match.groups()))
            except ValueError:
                return None
        return None
