"""From track points to patrols (docs/domain.md §8): which points count, visits, the dwell rule, 在岗时长
and 里程, kept per (officer, day) and per (officer, grid, day) as points arrive.

Rules, in the order they apply to one officer's points of one day (Asia/Shanghai, device clock),
sorted by recording time whatever order they arrived in:

1. A point recorded at the same instant as an earlier one is a duplicate: stored, not counted.
2. A point less accurate than `max_accuracy_m` (when the phone says) is not counted.
3. A point that would need a move faster than `max_speed_kmh` from the last counted point (plus 50 m
   of GPS noise) is not counted: a jump of 10 km in 30 s, a fix 500 km away between two in the city.
   When 3 such points in a row agree with each other, the track moved there: they count, and the
   track goes on from them (the jump between is neither distance nor time on duty).
4. 在岗时长 adds the time between consecutive counted points not more than `gap_minutes` apart;
   里程 adds the great-circle distance of the same steps.
5. A visit to a grid is a run of its counted points inside it (not snapped to it), none more than
   `gap_minutes` after the one before: steps out of it in between (a boundary street, GPS noise,
   a shop across the road) do not end it. A grid is patrolled by the officer that day when one
   visit has at least `dwell_points` points spanning at least `dwell_minutes` (3 and 5 by default).
   Whether it counts for coverage depends on the assignments of that day (patrol/coverage.py).

`summarise_days()` recomputes whole officer-days from the stored points (a late or out-of-order
point may join two visits or split one), in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone

from patrol.models import GridDay, OfficerDay, PatrolSettings, TrackPoint

EARTH_RADIUS_M = 6_371_008.8
GPS_SLACK_M = 50.0  # noise two fixes may show without anyone moving
REANCHOR_POINTS = 3
TZ = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE; no daylight saving since 1991


@dataclass(frozen=True)
class Rules:
    dwell_points: int
    dwell_seconds: int
    gap_seconds: int
    max_speed_mps: float
    max_accuracy_m: float

    @classmethod
    def current(cls) -> Rules:
        s = PatrolSettings.current()
        return cls(
            dwell_points=s.dwell_points,
            dwell_seconds=s.dwell_minutes * 60,
            gap_seconds=s.gap_minutes * 60,
            max_speed_mps=s.max_speed_kmh / 3.6,
            max_accuracy_m=float(s.max_accuracy_m),
        )


@dataclass(frozen=True)
class Fix:
    """A stored point as the summary reads it."""

    at: dt.datetime
    lon: float
    lat: float
    accuracy: float | None
    grid_id: int | None  # only when inside the grid (not snapped to it)


@dataclass
class GridVisits:
    points: int = 0
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    visit_points: int = 0
    visit_seconds: int = 0
    patrolled: bool = False


@dataclass
class DaySummary:
    points: int
    counted: list[bool]
    on_duty_seconds: int
    distance_m: float
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    grids: dict[int, GridVisits] = field(default_factory=dict)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _plausible(a: Fix, b: Fix, rules: Rules) -> bool:
    reach = rules.max_speed_mps * max((b.at - a.at).total_seconds(), 0) + GPS_SLACK_M
    # Degrees of latitude are never shorter than 110.5 km, nor degrees of longitude at the
    # officers' latitudes shorter than cos(lat) of that: a cheap bound first, haversine when close.
    if abs(b.lat - a.lat) * 110_500 > reach:
        return False
    return distance_m(a.lon, a.lat, b.lon, b.lat) <= reach


def counted_flags(points: list[Fix], rules: Rules) -> list[bool]:
    """Which of `points` (sorted by time) count: rules 1–3 of the module docstring."""
    flags = [False] * len(points)
    anchor: Fix | None = None
    run: list[int] = []  # refused points that agree with each other
    previous_at = None
    for i, p in enumerate(points):
        if p.at == previous_at:
            continue
        previous_at = p.at
        if p.accuracy is not None and p.accuracy > rules.max_accuracy_m:
            continue
        if anchor is None or _plausible(anchor, p, rules):
            flags[i], anchor, run = True, p, []
            continue
        run = run + [i] if run and _plausible(points[run[-1]], p, rules) else [i]
        if len(run) >= REANCHOR_POINTS:
            for j in run:
                flags[j] = True
            anchor, run = p, []
    return flags


def summarise_points(points: list[Fix], rules: Rules) -> DaySummary:
    """One officer-day from its points sorted by time: rules 1–5 of the module docstring."""
    flags = counted_flags(points, rules)
    kept = [p for p, ok in zip(points, flags, strict=True) if ok]
    on_duty, walked = 0.0, 0.0
    for a, b in itertools.pairwise(kept):
        seconds = (b.at - a.at).total_seconds()
        if seconds <= rules.gap_seconds and _plausible(a, b, rules):
            on_duty += seconds
            walked += distance_m(a.lon, a.lat, b.lon, b.lat)
    inside: dict[int, list[Fix]] = {}
    for p in kept:
        if p.grid_id is not None:
            inside.setdefault(p.grid_id, []).append(p)
    grids: dict[int, GridVisits] = {}
    for grid_id, fixes in inside.items():
        row = grids[grid_id] = GridVisits(
            points=len(fixes), first_at=fixes[0].at, last_at=fixes[-1].at
        )
        start = 0
        for i in range(1, len(fixes) + 1):
            if (
                i < len(fixes)
                and (fixes[i].at - fixes[i - 1].at).total_seconds() <= rules.gap_seconds
            ):
                continue
            visit = fixes[start:i]
            seconds = int((visit[-1].at - visit[0].at).total_seconds())
            qualifies = len(visit) >= rules.dwell_points and seconds >= rules.dwell_seconds
            if (qualifies, seconds, len(visit)) > (
                row.patrolled,
                row.visit_seconds,
                row.visit_points,
            ):
                row.visit_points, row.visit_seconds = len(visit), seconds
            row.patrolled = row.patrolled or qualifies
            start = i
    return DaySummary(
        points=len(points),
        counted=flags,
        on_duty_seconds=round(on_duty),
        distance_m=round(walked, 1),
        first_at=kept[0].at if kept else None,
        last_at=kept[-1].at if kept else None,
        grids=grids,
    )


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00, next 00:00) of `day` in the project time zone (Asia/Shanghai)."""
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time(), tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TZ).date()


def summarise_days(
    *,
    officer_id: int,
    days: Iterable[dt.date],
    rules: Rules | None = None,
    fixes: dict[dt.date, list[Fix]] | None = None,
) -> None:
    """Recompute the OfficerDay and GridDay rows of these officer-days from the stored points.

    Side effects: replaces those rows (one read of the points of the span of days, one delete and
    one insert per table); runs in the caller's transaction, which must hold the officer's lock
    (patrol.tracks.record_points) so two batches never summarise the same day at once. `fixes`:
    every stored point of these days, sorted by time, when the caller has them (no read then)."""
    days = sorted(set(days))
    if not days:
        return
    rules = rules or Rules.current()
    start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
    by_day: dict[dt.date, list[Fix]] = {d: list((fixes or {}).get(d, ())) for d in days}
    rows = (
        []
        if fixes is not None
        else (
            TrackPoint.objects.filter(
                officer_id=officer_id, recorded_at__gte=start, recorded_at__lt=end
            )
            .order_by("recorded_at", "id")
            .values_list("recorded_at", "lon", "lat", "accuracy_m", "grid_id", "grid_distance_m")
        )
    )
    for at, lon, lat, acc, grid, dist in rows.iterator(chunk_size=5000) if fixes is None else ():
        bucket = by_day.get(local_day(at))
        if bucket is not None:
            bucket.append(Fix(at, lon, lat, acc, grid if grid is not None and dist == 0 else None))
    officer_rows, grid_rows = [], []
    for day, fixes in by_day.items():
        if not fixes:
            continue
        s = summarise_points(fixes, rules)
        officer_rows.append(
            OfficerDay(
                officer_id=officer_id,
                day=day,
                points=s.points,
                counted=sum(s.counted),
                first_at=s.first_at,
                last_at=s.last_at,
                on_duty_seconds=s.on_duty_seconds,
                distance_m=s.distance_m,
            )
        )
        grid_rows.extend(
            GridDay(
                officer_id=officer_id,
                grid_id=grid_id,
                day=day,
                points=g.points,
                first_at=g.first_at,
                last_at=g.last_at,
                visit_points=g.visit_points,
                visit_seconds=g.visit_seconds,
                patrolled=g.patrolled,
            )
            for grid_id, g in sorted(s.grids.items())
        )
    OfficerDay.objects.filter(officer_id=officer_id, day__in=days).delete()
    GridDay.objects.filter(officer_id=officer_id, day__in=days).delete()
    OfficerDay.objects.bulk_create(officer_rows, batch_size=500)
    GridDay.objects.bulk_create(grid_rows, batch_size=500)


@dataclass
class Track:
    points: list[
        tuple[Fix, bool, int | None]
    ]  # (fix, counted, grid the point is in, snapped or not)
    summary: DaySummary


def track_of_day(*, officer_id: int, day: dt.date, rules: Rules | None = None) -> Track:
    """One officer-day's stored points with whether each counts, and the day's summary, computed
    from the points (what the console shows on demand; coverage reads the stored summaries)."""
    start, end = day_bounds(day)
    rows = list(
        TrackPoint.objects.filter(
            officer_id=officer_id, recorded_at__gte=start, recorded_at__lt=end
        )
        .order_by("recorded_at", "id")
        .values_list("recorded_at", "lon", "lat", "accuracy_m", "grid_id", "grid_distance_m")
    )
    fixes = [
        Fix(at, lon, lat, acc, grid if grid is not None and dist == 0 else None)
        for at, lon, lat, acc, grid, dist in rows
    ]
    s = summarise_points(fixes, rules or Rules.current())
    return Track([(f, ok, row[4]) for f, ok, row in zip(fixes, s.counted, rows, strict=True)], s)
