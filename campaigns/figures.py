"""Campaign figures per area and period (docs/domain.md §12), for the API and the periodic reports.

A period is [start, end) in Asia/Shanghai dates. Rows are per area of one level (street, community,
district) or one row for the city, limited to the reader's area (`scope`, a code prefix; "" = city).

Illegal construction (`construction_rows`), per row:
- new_count / new_area_m2: 新增 entries found in the period; `zero_growth` ⇔ new_count == 0;
- existing_count / existing_area_m2: 存量 entries in the ledger by the end of the period;
- demolished_count / demolished_area_m2: entries with a demolition confirmed (check passed) in the
  period and the m² confirmed, also apart for new and existing entries (demolished_new_…, demolished_existing_…);
- open_count: entries found before the end and not finally disposed of by then (partly demolished
  ones are open);
- target_m2: the street's demolition target for the year the period ends in (a district or the
  city: the sum of its streets'; a community: none), `year_demolished_m2` confirmed from 1 January
  to the end of the period, `progress` = year_demolished_m2 / target_m2, `year_elapsed` the share of
  that year elapsed at the end of the period (or now, if earlier).
Entries reported by a case later rejected, voided or merged are not counted.

Earth dumping (`dumping_rows`): cases of the dumping classes reported in the period (not rejected,
voided or merged): count, volume_m3, night_count and night_volume_m3 (reported in the night window,
`CampaignSettings`), and the median response in minutes — from the report to the first dispatch,
calendar time — for all, night and day cases (cases not dispatched are not in the medians).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import (
    OPEN_ENTRY_STATUSES,
    Campaign,
    CampaignSettings,
    DemolitionTarget,
    Disposition,
    DispositionKind,
    DispositionState,
    EntryKind,
    LedgerEntry,
)
from cases.models import Case, Status
from grids.models import Area

LEVELS = ("street", "community", "district", "city")
CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "city": 0}
NOT_COUNTED = (Status.REJECTED, Status.VOIDED, Status.MERGED)
CONSTRUCTION_KEYS = (
    "code",
    "name",
    "new_count",
    "new_area_m2",
    "existing_count",
    "existing_area_m2",
    "demolished_count",
    "demolished_area_m2",
    "open_count",
    "zero_growth",
    "target_m2",
    "progress",
)
DRILLABLE = ("new", "existing", "demolished", "open")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive

    @property
    def start_at(self) -> dt.datetime:
        return _midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        return _midnight(self.end)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_default_timezone())


def _m2(value: Decimal) -> float:
    return float(round(value, 2))


def level_areas(level: str, scope: str) -> list[tuple[str, str]]:
    """(code, name) of the rows: areas of `level` inside the scope or holding it; the city: one row."""
    if level == "city":
        return [("", _("City"))]
    areas = Area.objects.filter(level=level).order_by("code").values_list("code", "name")
    return [
        (code, name) for code, name in areas if code.startswith(scope) or scope.startswith(code)
    ]


def counted_entries(scope: str = ""):
    """Ledger entries that count: under the scope, not from a rejected/voided/merged case."""
    entries = LedgerEntry.objects.all()
    if scope:
        entries = entries.filter(grid_code__startswith=scope)
    return entries.exclude(Q(origin_case__isnull=False) & Q(origin_case__status__in=NOT_COUNTED))


def _row_code(grid_code: str, length: int) -> str | None:
    if length == 0:
        return ""
    return grid_code[:length] if len(grid_code) >= length else None


def construction_rows(
    *, level: str, period: Period, scope: str = "", now: dt.datetime | None = None
) -> list[dict]:
    """The illegal-construction figures, one dict per row (keys: CONSTRUCTION_KEYS and more)."""
    now = now or timezone.now()
    length = CODE_LENGTH[level]
    rows = {code: _empty_row(code, name) for code, name in level_areas(level, scope)}
    entries = list(
        counted_entries(scope)
        .filter(found_on__lt=period.end)
        .values_list("id", "kind", "area_m2", "found_on", "grid_code", "status", "closed_at")
    )
    row_of: dict[int, str | None] = {}
    for pk, kind, area, found_on, grid_code, status, closed_at in entries:
        code = row_of[pk] = _row_code(grid_code, length)
        row = rows.get(code)
        if row is None:
            continue
        if kind == EntryKind.NEW and found_on >= period.start:
            row["new_count"] += 1
            row["new_area_m2"] += area
        if kind == EntryKind.EXISTING:
            row["existing_count"] += 1
            row["existing_area_m2"] += area
        if status in OPEN_ENTRY_STATUSES or closed_at is None or closed_at >= period.end_at:
            row["open_count"] += 1
    kinds = {pk: kind for pk, kind, *_rest in entries}
    year = (period.end - dt.timedelta(days=1)).year
    year_start = _midnight(dt.date(year, 1, 1))
    demolitions = Disposition.objects.filter(
        state=DispositionState.CONFIRMED,
        kind=DispositionKind.DEMOLISH,
        entry_id__in=list(kinds),
        decided_at__gte=min(year_start, period.start_at),
        decided_at__lt=period.end_at,
    ).values_list("entry_id", "demolished_m2", "decided_at")
    seen: dict[str, set] = defaultdict(set)
    for entry_id, area, decided_at in demolitions:
        row = rows.get(row_of.get(entry_id))
        if row is None:
            continue
        if decided_at >= year_start:
            row["year_demolished_m2"] += area
        if decided_at < period.start_at:
            continue
        part = "new" if kinds[entry_id] == EntryKind.NEW else "existing"
        row["demolished_area_m2"] += area
        row[f"demolished_{part}_area_m2"] += area
        if entry_id not in seen[row["code"]]:
            seen[row["code"]].add(entry_id)
            row["demolished_count"] += 1
            row[f"demolished_{part}_count"] += 1
    _targets(rows, level=level, year=year, scope=scope)
    elapsed = _year_elapsed(year, min(now, period.end_at))
    result = []
    for row in rows.values():
        row["zero_growth"] = row["new_count"] == 0
        target = row["target_m2"]
        row["progress"] = round(float(row["year_demolished_m2"] / target), 4) if target else None
        row["year_elapsed"] = elapsed
        for key, value in row.items():
            if isinstance(value, Decimal):
                row[key] = _m2(value)
        result.append(row)
    return result


def _empty_row(code: str, name: str) -> dict:
    zero = Decimal("0")
    return {
        "code": code,
        "name": name,
        "new_count": 0,
        "new_area_m2": zero,
        "existing_count": 0,
        "existing_area_m2": zero,
        "demolished_count": 0,
        "demolished_area_m2": zero,
        "open_count": 0,
        "zero_growth": True,
        "target_m2": None,
        "progress": None,
        "demolished_new_count": 0,
        "demolished_new_area_m2": zero,
        "demolished_existing_count": 0,
        "demolished_existing_area_m2": zero,
        "year_demolished_m2": zero,
        "year_elapsed": 0.0,
    }


def _targets(rows: dict, *, level: str, year: int, scope: str) -> None:
    """Street targets, summed per row; only the streets inside the scope count."""
    if level == "community":
        return
    length = CODE_LENGTH[level]
    targets = DemolitionTarget.objects.filter(year=year, street__code__startswith=scope[:9])
    for street_code, target in targets.values_list("street__code", "target_m2"):
        row = rows.get(street_code[:length] if length else "")
        if row is not None:
            row["target_m2"] = (row["target_m2"] or Decimal("0")) + target


def _year_elapsed(year: int, at: dt.datetime) -> float:
    start, end = _midnight(dt.date(year, 1, 1)), _midnight(dt.date(year + 1, 1, 1))
    share = (at - start).total_seconds() / (end - start).total_seconds()
    return round(min(1.0, max(0.0, share)), 4)


def entries_for_figure(entries, *, figure: str, period: Period):
    """The entries behind one figure of a row (the drill-down), from a queryset of entries."""
    if figure == "new":
        return entries.filter(
            kind=EntryKind.NEW, found_on__gte=period.start, found_on__lt=period.end
        )
    if figure == "existing":
        return entries.filter(kind=EntryKind.EXISTING, found_on__lt=period.end)
    if figure == "demolished":
        ids = Disposition.objects.filter(
            state=DispositionState.CONFIRMED,
            kind=DispositionKind.DEMOLISH,
            decided_at__gte=period.start_at,
            decided_at__lt=period.end_at,
        ).values("entry_id")
        return entries.filter(pk__in=ids)
    if figure == "open":
        return entries.filter(found_on__lt=period.end).filter(
            Q(status__in=OPEN_ENTRY_STATUSES)
            | Q(closed_at__isnull=True)
            | Q(closed_at__gte=period.end_at)
        )
    raise ValueError(figure)


# --- 渣土 -----------------------------------------------------------------------------------------


def dumping_rows(*, level: str, period: Period, scope: str = "") -> list[dict]:
    """The earth-dumping figures, one dict per row."""
    settings = CampaignSettings.current()
    length = CODE_LENGTH[level]
    rows = {
        code: {
            "code": code,
            "name": name,
            "count": 0,
            "volume_m3": 0.0,
            "night_count": 0,
            "night_volume_m3": 0.0,
            "_all": [],
            "_night": [],
            "_day": [],
        }
        for code, name in level_areas(level, scope)
    }
    cases = dumping_cases(period=period, scope=scope).values_list(
        "grid__code", "reported_at", "dispatched_at", "attributes"
    )
    tz = timezone.get_default_timezone()
    for grid_code, reported_at, dispatched_at, attributes in cases:
        row = rows.get(_row_code(grid_code or "", length))
        if row is None:
            continue
        night = settings.is_night(reported_at.astimezone(tz).time())
        volume = _volume(attributes)
        row["count"] += 1
        row["volume_m3"] += volume
        if night:
            row["night_count"] += 1
            row["night_volume_m3"] += volume
        if dispatched_at is not None:
            minutes = (dispatched_at - reported_at).total_seconds() / 60
            row["_all"].append(minutes)
            row["_night" if night else "_day"].append(minutes)
    result = []
    for row in rows.values():
        for key, name in (
            ("_all", "median_response_minutes"),
            ("_night", "night_median_response_minutes"),
            ("_day", "day_median_response_minutes"),
        ):
            values = row.pop(key)
            row[name] = round(statistics.median(values), 1) if values else None
        row["volume_m3"] = round(row["volume_m3"], 2)
        row["night_volume_m3"] = round(row["night_volume_m3"], 2)
        result.append(row)
    return result


def dumping_cases(*, period: Period, scope: str = ""):
    cases = Case.objects.filter(
        category__campaign_class__campaign=Campaign.DUMPING,
        reported_at__gte=period.start_at,
        reported_at__lt=period.end_at,
    ).exclude(status__in=NOT_COUNTED)
    if scope:
        cases = cases.in_area(scope)
    return cases


def _volume(attributes) -> float:
    value = (attributes or {}).get("volume_m3") if isinstance(attributes, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
