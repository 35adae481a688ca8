"""Daily patrol coverage (docs/domain.md §8 and §6), read from the per-(officer, grid, day) summaries
(patrol/summary.py), never from raw points.

A grid is patrolled on a day when an officer assigned to it that day (GridAssignment since ≤ day <
until) patrolled it that day by the dwell rule. Coverage of a day = patrolled assigned grids /
assigned grids; of a period = patrolled grid-days / assigned grid-days over the period's working
days (the working calendar; a day asked for alone counts whatever day it is). An officer's
coverage is the share of their assigned grid-days patrolled, by them or by another officer assigned
to the same grid that day. No assigned grid: no data (`None`), never 0 % or 100 %.

For the periodic reports: `coverage_table(level=…, days=working_days(start, end))` gives the rows
of any level, `unpatrolled_grids(day=…, min_days=N)` the grids not patrolled for N days in a row.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from cases.access import sees_everything
from grids.models import Area, Grid, GridAssignment
from patrol.models import GridDay, OfficerDay
from patrol.summary import day_bounds  # noqa: F401  (re-exported: reports use it)
from people.models import CENTRE_ROLES, Role, User
from worktime.clock import current_calendar

LEVELS = ("officer", "grid", "community", "street", "city")
MAX_PERIOD_DAYS = 366
STREAK_LOOKBACK = 30  # working days looked back for a grid's not-patrolled streak


# --- the legacy per-day shape (the mobile app's patrol page, the periodic reports) -------------


@dataclass
class OfficerCoverage:
    officer: User
    assigned: list[str]  # grid codes, sorted
    patrolled: list[str]
    points: int  # the officer's track points that day, inside a grid or not

    @property
    def rate(self) -> float | None:
        return len(self.patrolled) / len(self.assigned) if self.assigned else None


@dataclass
class GridCoverage:
    grid: Grid
    patrolled: bool
    officers: list[str] = field(default_factory=list)  # usernames assigned on that day


@dataclass
class Coverage:
    day: dt.date
    officers: list[OfficerCoverage]
    grids: list[GridCoverage]

    @property
    def assigned(self) -> int:
        return len(self.grids)

    @property
    def patrolled(self) -> int:
        return sum(g.patrolled for g in self.grids)

    @property
    def rate(self) -> float | None:
        return self.patrolled / self.assigned if self.assigned else None


def daily_coverage(day: dt.date, officers: QuerySet[User]) -> Coverage:
    """Coverage on `day` of `officers`' assigned grids (assignments in force that day, grids valid
    that day). Read-only."""
    assignments = list(
        GridAssignment.objects.in_force(day)
        .filter(officer__in=officers, grid__in=Grid.objects.valid_on(day))
        .select_related("grid", "officer")
        .order_by("grid__code", "officer__username")
    )
    grids = Grid.objects.filter(
        pk__in=GridAssignment.objects.in_force(day).filter(officer__in=officers).values("grid_id")
    )
    patrolled = _patrolled_on(day, grids)
    points = dict(
        OfficerDay.objects.filter(officer__in=officers, day=day).values_list("officer_id", "points")
    )
    by_officer: dict[int, OfficerCoverage] = {}
    by_grid: dict[int, GridCoverage] = {}
    for a in assignments:
        row = by_officer.setdefault(
            a.officer_id, OfficerCoverage(a.officer, [], [], points.get(a.officer_id, 0))
        )
        row.assigned.append(a.grid.code)
        if a.grid_id in patrolled:
            row.patrolled.append(a.grid.code)
        by_grid.setdefault(a.grid_id, GridCoverage(a.grid, a.grid_id in patrolled)).officers.append(
            a.officer.username
        )
    rows = sorted(by_officer.values(), key=lambda r: r.officer.username)
    return Coverage(
        day=day, officers=rows, grids=sorted(by_grid.values(), key=lambda g: g.grid.code)
    )


def _patrolled_on(day: dt.date, grids: QuerySet[Grid]) -> set[int]:
    """Grids patrolled on `day` by an officer assigned to them that day (any officer, not only
    those asked about)."""
    done = set(
        GridDay.objects.filter(day=day, patrolled=True, grid__in=grids).values_list(
            "grid_id", "officer_id"
        )
    )
    if not done:
        return set()
    assigned = set(
        GridAssignment.objects.in_force(day)
        .filter(grid__in=grids)
        .values_list("grid_id", "officer_id")
    )
    return {g for g, o in done & assigned}


# --- grid-days: the matrix every level is summed from --------------------------------------------


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The working days of [start, end] by the working calendar (Monday–Friday where it has no data)."""
    calendar = current_calendar()
    days, day = [], start
    while day <= end:
        known = calendar.is_workday(day)
        if known or (known is None and day.weekday() < 5):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@dataclass
class GridInfo:
    code: str
    name: str


@dataclass
class GridDays:
    """Which grids were assigned and patrolled on which of `days`: boolean matrices grid × day
    (rows in `ids` order), and the assignments as (officer, row, first column, end column)."""

    days: list[dt.date]
    ids: list[int]
    grids: dict[int, GridInfo]
    assigned: np.ndarray
    patrolled: np.ndarray
    spans: list[tuple[int, int, int, int]]


def grid_days(*, grids: QuerySet[Grid], days: list[dt.date]) -> GridDays:
    """The matrix for `grids` on `days`: three queries, no raw points. A (grid, day) is patrolled
    when a GridDay row marked patrolled has an officer assigned to the grid that day (checked in
    SQL: EXISTS over the assignments)."""
    days = sorted(days)
    scoped = bool(grids.query.where)
    grids = (
        grids.filter(
            Q(valid_from__lte=days[-1]), Q(valid_to__isnull=True) | Q(valid_to__gt=days[0])
        )
        if days
        else grids.none()
    )
    info, validity, ids = {}, {}, []
    for pk, code, name, valid_from, valid_to in grids.order_by("code").values_list(
        "pk", "code", "name", "valid_from", "valid_to"
    ):
        info[pk] = GridInfo(code, name)
        validity[pk] = (valid_from, valid_to)
        ids.append(pk)
    row_of = {pk: i for i, pk in enumerate(ids)}
    assigned = np.zeros((len(ids), len(days)), dtype=bool)
    patrolled = np.zeros_like(assigned)
    spans = []
    if not ids:
        return GridDays(days, ids, info, assigned, patrolled, spans)
    first, last = days[0], days[-1]
    for grid_id, officer_id, since, until in (
        GridAssignment.objects.overlapping(first, last)
        .filter(grid__in=grids)
        .values_list("grid_id", "officer_id", "since", "until")
    ):
        valid_from, valid_to = validity[grid_id]
        lo = bisect.bisect_left(days, max(since, valid_from))
        ends = [d for d in (until, valid_to) if d is not None]
        hi = bisect.bisect_left(days, min(ends)) if ends else len(days)
        if lo < hi:
            assigned[row_of[grid_id], lo:hi] = True
            spans.append((officer_id, row_of[grid_id], lo, hi))
    by_assigned_officer = GridAssignment.objects.filter(
        grid_id=OuterRef("grid_id"), officer_id=OuterRef("officer_id"), since__lte=OuterRef("day")
    ).filter(Q(until__isnull=True) | Q(until__gt=OuterRef("day")))
    column = {d: i for i, d in enumerate(days)}
    done = GridDay.objects.filter(day__gte=first, day__lte=last, patrolled=True)
    if (
        scoped
    ):  # the whole city needs no grid filter (and SQLite then reads the patrolled index alone)
        done = done.filter(grid__in=grids)
    done = done.filter(Exists(by_assigned_officer)).values_list("grid_id", "day").distinct()
    for grid_id, day in done:
        j = column.get(day)
        if j is not None and grid_id in row_of:
            patrolled[row_of[grid_id], j] = True
    patrolled &= assigned  # a grid no longer valid that day
    return GridDays(days, ids, info, assigned, patrolled, spans)


# --- rows per level ------------------------------------------------------------------------------


def _rate(patrolled: int, assigned: int) -> float | None:
    return round(patrolled / assigned, 4) if assigned else None


def coverage_table(
    *,
    level: str,
    days: list[dt.date],
    grids: QuerySet[Grid] | None = None,
    officers: QuerySet[User] | None = None,
) -> list[dict]:
    """Rows of `level` (LEVELS) over `days`: `code` (officers: `id`, `username`), `name`,
    `assigned` and `patrolled` grid-days, `coverage`; officers also `on_duty_minutes` and
    `distance_km` summed over every day from the first to the last of `days`. `grids` limits the
    grids counted (all by default), `officers` the officer rows. Read-only."""
    matrix = grid_days(grids=grids if grids is not None else Grid.objects.all(), days=days)
    if level == "officer":
        return _officer_rows(matrix, officers)
    per_grid_assigned = matrix.assigned.sum(axis=1).tolist()
    per_grid_patrolled = matrix.patrolled.sum(axis=1).tolist()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    key = {
        "grid": lambda c: c,
        "community": lambda c: c[:12],
        "street": lambda c: c[:9],
        "city": lambda c: "",
    }[level]
    for i, grid_id in enumerate(matrix.ids):
        if per_grid_assigned[i]:
            row = totals[key(matrix.grids[grid_id].code)]
            row[0] += per_grid_assigned[i]
            row[1] += per_grid_patrolled[i]
    if level == "grid":
        names = {g.code: g.name for g in matrix.grids.values()}
    elif level == "city":
        names = {"": str(_city_name())}
    else:
        names = dict(Area.objects.filter(code__in=list(totals)).values_list("code", "name"))
    return [
        {
            "code": code or None,
            "name": names.get(code, code),
            "assigned": a,
            "patrolled": p,
            "coverage": _rate(p, a),
        }
        for code, (a, p) in sorted(totals.items())
    ]


def _city_name() -> str:
    from django.utils.translation import gettext

    return gettext("Whole city")


def _officer_rows(matrix: GridDays, officers: QuerySet[User] | None) -> list[dict]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for officer_id, row, lo, hi in matrix.spans:
        counts[officer_id][0] += hi - lo
        counts[officer_id][1] += int(matrix.patrolled[row, lo:hi].sum())
    people = User.objects.filter(pk__in=list(counts))
    if officers is not None:
        people = people.filter(pk__in=officers.values("pk"))
    people = list(people.order_by("username"))
    duty = {}
    if matrix.days:
        duty = {
            o: (s or 0, m or 0)
            for o, s, m in OfficerDay.objects.filter(
                officer__in=people, day__gte=matrix.days[0], day__lte=matrix.days[-1]
            )
            .values("officer_id")
            .annotate(s=Sum("on_duty_seconds"), m=Sum("distance_m"))
            .values_list("officer_id", "s", "m")
        }
    rows = []
    for u in people:
        a, p = counts[u.pk]
        seconds, metres = duty.get(u.pk, (0, 0))
        rows.append(
            {
                "id": u.pk,
                "code": u.username,
                "username": u.username,
                "name": u.get_full_name() or u.username,
                "assigned": a,
                "patrolled": p,
                "coverage": _rate(p, a),
                "on_duty_minutes": round(seconds / 60),
                "distance_km": round(metres / 1000, 2),
            }
        )
    return rows


def unpatrolled_grids(
    *, day: dt.date, min_days: int = 1, grids: QuerySet[Grid] | None = None
) -> list[dict]:
    """Grids assigned on `day` and not patrolled on it nor on the working days before, `min_days`
    days in a row or more (`day` itself counts as one, working day or not). Rows, longest streak
    first: `code`, `name`, `community`, `street` (code and name), `officers` assigned on `day`,
    `days` (the streak, at most max(min_days, 30)), `since` (its first day), `last_patrolled`
    (the last day of the lookback it was patrolled, or None). Read-only."""
    lookback = max(min_days, STREAK_LOOKBACK)
    back = working_days(day - dt.timedelta(days=lookback * 2 + 14), day - dt.timedelta(days=1))
    days = back[-(lookback - 1) :] + [day] if lookback > 1 else [day]
    matrix = grid_days(grids=grids if grids is not None else Grid.objects.all(), days=days)
    found = []
    last = len(matrix.days) - 1
    for i in np.flatnonzero(matrix.assigned[:, last] & ~matrix.patrolled[:, last]).tolist():
        grid_id = matrix.ids[i]
        streak, since, last_patrolled = 0, day, None
        for j in range(last, -1, -1):
            if matrix.patrolled[i, j]:
                last_patrolled = matrix.days[j]
                break
            if not matrix.assigned[i, j]:
                break
            streak, since = streak + 1, matrix.days[j]
        if streak >= min_days:
            found.append((grid_id, matrix.grids[grid_id], streak, since, last_patrolled))
    codes = {info.code[:12] for _g, info, *_rest in found} | {
        info.code[:9] for _g, info, *_rest in found
    }
    names = dict(Area.objects.filter(code__in=list(codes)).values_list("code", "name"))
    wanted = {f[0] for f in found}
    officers = defaultdict(list)
    scope = grids if grids is not None else Grid.objects.all()
    for grid_id, officer_id in (
        GridAssignment.objects.in_force(day)
        .filter(grid__in=scope)
        .values_list("grid_id", "officer_id")
    ):
        if grid_id in wanted:
            officers[grid_id].append(officer_id)
    people = {
        u.pk: u for u in User.objects.filter(pk__in={o for ids in officers.values() for o in ids})
    }
    rows = []
    for grid_id, info, streak, since, last_patrolled in found:
        rows.append(
            {
                "code": info.code,
                "name": info.name,
                "community": {"code": info.code[:12], "name": names.get(info.code[:12], "")},
                "street": {"code": info.code[:9], "name": names.get(info.code[:9], "")},
                "officers": [
                    {
                        "id": o,
                        "username": people[o].username,
                        "name": people[o].get_full_name() or people[o].username,
                    }
                    for o in sorted(officers.get(grid_id, []))
                    if o in people
                ],
                "days": streak,
                "since": since.isoformat(),
                "last_patrolled": last_patrolled.isoformat() if last_patrolled else None,
            }
        )
    rows.sort(key=lambda r: (-r["days"], r["code"]))
    return rows


# --- who may read what -----------------------------------------------------------------------------


def officers_visible_to(user: User) -> QuerySet[User] | None:
    """The officers whose coverage `user` may read; None: `user` may read none (→ 403).

    Officers: themselves. Centre roles: officers assigned (now or before) to a grid in their
    organisation's area (the city when it has none). Administrators: every officer. Everyone
    else: nobody.
    """
    officers = User.objects.filter(role=Role.OFFICER, is_active=True)
    if not user.is_authenticated:
        return None
    if sees_everything(user):
        return officers
    if user.role == Role.OFFICER:
        return officers.filter(pk=user.pk)
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        if area is None:
            return officers
        return officers.filter(
            pk__in=GridAssignment.objects.filter(grid__code__startswith=area.code).values(
                "officer_id"
            )
        )
    return None


def grids_visible_to(user: User, *, start: dt.date, end: dt.date) -> QuerySet[Grid] | None:
    """The grids whose coverage `user` may read; None → 403. Officers: the grids assigned to them
    on some day of [start, end]; centre roles: their area's (the city when none); administrators:
    every grid."""
    if not user.is_authenticated:
        return None
    if sees_everything(user):
        return Grid.objects.all()
    if user.role == Role.OFFICER:
        return Grid.objects.filter(
            pk__in=GridAssignment.objects.overlapping(start, end)
            .filter(officer=user)
            .values("grid_id")
        )
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        return (
            Grid.objects.all() if area is None else Grid.objects.filter(code__startswith=area.code)
        )
    return None


def officer_named(officers: QuerySet[User], ref: str) -> User | None:
    """The officer in `officers` with this id or username."""
    match = Q(username=ref) | (Q(pk=int(ref)) if ref.isdigit() else Q(pk__in=[]))
    return officers.filter(match).first()


def today() -> dt.date:
    return timezone.localdate()
