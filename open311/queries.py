"""GET requests: the GeoReport v2 filters and the common extensions, parsed and applied.

Rules:
- an empty parameter is the same as an absent one (the spec's "Optional Arguments");
- `service_request_id` (comma list, at most 1000) overrides every other argument, the date window
  and paging included; the requests come back in the order asked;
- `service_code` and `status` (open, closed) are comma lists and may also be repeated;
- `start_date`/`end_date` filter requested_datetime, both inclusive; a W3C date-time, or a date
  (the whole day in Asia/Shanghai; a date-time without offset is Asia/Shanghai too). Neither →
  the most recent 90 days; only start → the 90 days from it; only end → the 90 days up to it;
  a span over 90 days, or an end before the start → 400;
- extensions: `updated_after`/`updated_before` filter updated_datetime by the same rules (given
  without start/end, the default window moves to updated_datetime); `lat`+`long`+`radius` (metres,
  default 1000, at most 50 000); `bbox`=min_lon,min_lat,max_lon,max_lat; `page` (from 1) and
  `page_size` (default and at most 1000, the spec's "first 1000 requests");
- newest requested first.
Every problem is reported at once, each naming its parameter (400).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from django.db.models import ExpressionWrapper, F, FloatField, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from cases.models import OPEN_STATUSES, Case
from open311.formats import Open311Error
from open311.public import public_requests

WINDOW = dt.timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 1000
DEFAULT_RADIUS_M = 1000.0
MAX_RADIUS_M = 50_000.0
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_AT_EQUATOR = 111_320.0

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)

Window = tuple[dt.datetime, dt.datetime]
# A "+08:00" offset sent without URL-encoding arrives as " 08:00".
_UNENCODED_PLUS = re.compile(r"([T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


@dataclass
class RequestQuery:
    ids: list[str] | None = None
    service_ids: list[int] | None = None
    statuses: set[str] | None = None
    requested: Window | None = None
    updated: Window | None = None
    near: tuple[float, float, float] | None = None  # lon, lat, radius (m)
    bbox: tuple[float, float, float, float] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def parse_query(params: QueryDict, *, now: dt.datetime) -> RequestQuery:
    """The query GET requests asks for; Open311Error(400) naming every bad parameter."""
    errors: list[str] = []
    ids = _values(params, "service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"service_request_id: at most {MAX_IDS} ids at once.")
        return RequestQuery(ids=list(dict.fromkeys(ids)))
    query = RequestQuery(
        service_ids=_service_ids(params, errors), statuses=_statuses(params, errors)
    )
    start, end = (
        _moment(params, "start_date", errors),
        _moment(params, "end_date", errors, end=True),
    )
    after, before = (
        _moment(params, "updated_after", errors),
        _moment(params, "updated_before", errors, end=True),
    )
    if start or end or not (after or before):
        query.requested = _window(
            start, end, now=now, names=("start_date", "end_date"), errors=errors
        )
    if after or before:
        query.updated = _window(
            after, before, now=now, names=("updated_after", "updated_before"), errors=errors
        )
    query.near = _near(params, errors)
    query.bbox = _bbox(params, errors)
    query.page = _int(params, "page", errors, low=1, high=10**6, default=1)
    query.page_size = _int(
        params, "page_size", errors, low=1, high=MAX_PAGE_SIZE, default=MAX_PAGE_SIZE
    )
    if errors:
        raise Open311Error(400, *errors)
    return query


def find_requests(query: RequestQuery) -> tuple[list[Case], bool]:
    """The page of requests the query selects, and whether another page follows."""
    rows = public_requests()
    if query.ids is not None:
        found = {case.number: case for case in rows.filter(number__in=query.ids)}
        return [found[number] for number in query.ids if number in found], False
    rows = _filter(rows, query).order_by("-reported_at", "-id")
    offset = (query.page - 1) * query.page_size
    page = list(rows[offset : offset + query.page_size + 1])
    return page[: query.page_size], len(page) > query.page_size


def _filter(rows: QuerySet[Case], query: RequestQuery) -> QuerySet[Case]:
    if query.service_ids:
        rows = rows.filter(category_id__in=query.service_ids)
    if query.statuses == {"open"}:
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif query.statuses == {"closed"}:
        rows = rows.exclude(status__in=OPEN_STATUSES)
    if query.requested:
        rows = rows.filter(reported_at__range=query.requested)
    if query.updated:
        rows = rows.filter(updated_at__range=query.updated)
    if query.bbox:
        min_lon, min_lat, max_lon, max_lat = query.bbox
        rows = rows.filter(lon__range=(min_lon, max_lon), lat__range=(min_lat, max_lat))
    if query.near:
        rows = _within(rows, *query.near)
    return rows


def _within(rows: QuerySet[Case], lon: float, lat: float, radius: float) -> QuerySet[Case]:
    """Cases within `radius` metres: a bbox on the (lon, lat) index, then the equirectangular
    distance in SQL (plain arithmetic, so SQLite and PostgreSQL agree; at city scale it is
    within a few metres of the great-circle distance)."""
    kx = M_PER_DEG_LON_AT_EQUATOR * max(math.cos(math.radians(lat)), 1e-6)
    dlon, dlat = radius / kx, radius / M_PER_DEG_LAT
    rows = rows.filter(lon__range=(lon - dlon, lon + dlon), lat__range=(lat - dlat, lat + dlat))
    dx, dy = (F("lon") - lon) * kx, (F("lat") - lat) * M_PER_DEG_LAT
    return rows.alias(d2=ExpressionWrapper(dx * dx + dy * dy, output_field=FloatField())).filter(
        d2__lte=radius**2
    )


# --- parameters -------------------------------------------------------------------------------


def _values(params: QueryDict, name: str) -> list[str]:
    """Every value of a comma-list parameter that may also be repeated; empty ones dropped."""
    return [
        part.strip() for value in params.getlist(name) for part in value.split(",") if part.strip()
    ]


def _one(params: QueryDict, name: str) -> str | None:
    values = [v.strip() for v in params.getlist(name) if v.strip()]
    return values[-1] if values else None


def _service_ids(params: QueryDict, errors: list[str]) -> list[int] | None:
    codes = _values(params, "service_code")
    bad = [c for c in codes if not (c.isascii() and c.isdigit() and len(c) < 19)]
    if bad:
        errors.append(f"service_code: no service {', '.join(bad)} (GET services.xml lists them).")
    return [int(c) for c in codes if c not in bad] or None


def _statuses(params: QueryDict, errors: list[str]) -> set[str] | None:
    statuses = {s.lower() for s in _values(params, "status")}
    if statuses - {"open", "closed"}:
        errors.append(
            f"status: {', '.join(sorted(statuses - {'open', 'closed'}))} — use open, closed."
        )
    return statuses & {"open", "closed"} or None


def _moment(
    params: QueryDict, name: str, errors: list[str], *, end: bool = False
) -> dt.datetime | None:
    """A W3C date-time; a date alone is that whole day (its start, or its end for `end`)."""
    value = _one(params, name)
    if value is None:
        return None
    tz = timezone.get_default_timezone()
    try:  # the date first: parse_datetime reads "2026-01-01" as that day's midnight
        day = parse_date(value)
        moment = None if day else parse_datetime(_UNENCODED_PLUS.sub(r"\1+\2", value))
    except ValueError:
        moment = day = None
    if moment is not None:
        moment = timezone.make_aware(moment, tz) if timezone.is_naive(moment) else moment
    elif day is not None and dt.date(1970, 1, 1) <= day < dt.date(9000, 1, 1):
        start = dt.datetime.combine(day, dt.time(), tz)
        moment = start + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else start
    elif day is not None:
        moment = dt.datetime.combine(day, dt.time(), dt.UTC)  # refused just below
    if moment is not None:
        # Windows are 90 days wide and compared in UTC: far ends of the calendar would overflow.
        if not EARLIEST <= moment <= LATEST:
            errors.append(f"{name}: {value!r} is outside {EARLIEST.year}–{LATEST.year - 1}.")
            return None
        return moment
    errors.append(f"{name}: {value!r} is not a W3C date-time (e.g. 2026-01-01T00:00:00+08:00).")
    return None


def _window(
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    now: dt.datetime,
    names: tuple[str, str],
    errors: list[str],
) -> Window | None:
    if start is None and end is None:
        return now - WINDOW, now
    if start is None:
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        errors.append(f"{names[1]}: before {names[0]}.")
        return None
    if end - start > WINDOW:
        errors.append(f"{names[0]}, {names[1]}: the range may not span more than 90 days.")
        return None
    return start, end


def _float(
    params: QueryDict, name: str, errors: list[str], *, low: float, high: float
) -> float | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (low <= number <= high):
        errors.append(f"{name}: {value!r} is not a number from {low:g} to {high:g}.")
        return None
    return number


def _int(
    params: QueryDict, name: str, errors: list[str], *, low: int, high: int, default: int
) -> int:
    value = _one(params, name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        errors.append(f"{name}: {value!r} is not a whole number from {low} to {high}.")
        return default
    return int(value)


def _near(params: QueryDict, errors: list[str]) -> tuple[float, float, float] | None:
    lat = _float(params, "lat", errors, low=-90, high=90)
    lon = _float(params, "long", errors, low=-180, high=180)
    radius = _float(params, "radius", errors, low=1, high=MAX_RADIUS_M)
    given = {name for name in ("lat", "long", "radius") if _one(params, name) is not None}
    if given and not {"lat", "long"} <= given:
        missing = sorted({"lat", "long"} - given)
        errors.append(f"{', '.join(missing)}: required with {', '.join(sorted(given))}.")
        return None
    if lat is None or lon is None:
        return None
    return lon, lat, radius or DEFAULT_RADIUS_M


def _bbox(params: QueryDict, errors: list[str]) -> tuple[float, float, float, float] | None:
    value = _one(params, "bbox")
    if value is None:
        return None
    try:
        box = tuple(float(part) for part in value.split(","))
    except ValueError:
        box = ()
    ok = (
        len(box) == 4
        and all(math.isfinite(v) for v in box)
        and -180 <= box[0] <= box[2] <= 180
        and -90 <= box[1] <= box[3] <= 90
    )
    if not ok:
        errors.append(f"bbox: {value!r} is not min_lon,min_lat,max_lon,max_lat.")
        return None
    return box  # type: ignore[return-value]
