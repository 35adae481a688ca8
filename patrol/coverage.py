"""Daily patrol coverage (DOMAIN.md §8 and §6).

A grid counts as patrolled on a day when a track point of an officer assigned to it falls inside
it that day (Asia/Shanghai, by the device's recording time). An officer's coverage is the share
of their assigned grids that were patrolled, by them or by another officer assigned to the same
grid; the scope's coverage is recomputed from the summed counts. No assigned grid: no data
(`None`), never 0 % or 100 %.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from grids.models import Grid, GridAssignment
from patrol.models import TrackPoint
from people.models import CENTRE_ROLES, Role, User


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


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00, next 00:00) of `day` in the project time zone (Asia/Shanghai)."""
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time(), tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)


def daily_coverage(day: dt.date, officers: QuerySet[User]) -> Coverage:
    """Coverage on `day` of `officers`' assigned grids (assignments in force that day, grids valid
    that day). Read-only."""
    start, end = day_bounds(day)
    assignments = list(
        GridAssignment.objects.filter(officer__in=officers, since__lte=day, grid__in=Grid.objects.valid_on(day))
        .select_related("grid", "officer").order_by("grid__code", "officer__username"))
    grid_ids = {a.grid_id for a in assignments}
    patrolled = set(
        TrackPoint.objects.filter(
            grid_id__in=grid_ids, grid_distance_m=0, recorded_at__gte=start, recorded_at__lt=end,
            # the point's officer is assigned to the grid it fell in (one join: same assignment row)
            grid__assignments__officer_id=F("officer_id"), grid__assignments__since__lte=day,
        ).values_list("grid_id", flat=True).distinct())
    points = dict(TrackPoint.objects.filter(officer__in=officers, recorded_at__gte=start, recorded_at__lt=end)
                  .values("officer_id").annotate(n=Count("id")).values_list("officer_id", "n"))
    by_officer: dict[int, OfficerCoverage] = {}
    by_grid: dict[int, GridCoverage] = {}
    for a in assignments:
        row = by_officer.setdefault(a.officer_id, OfficerCoverage(a.officer, [], [], points.get(a.officer_id, 0)))
        row.assigned.append(a.grid.code)
        if a.grid_id in patrolled:
            row.patrolled.append(a.grid.code)
        by_grid.setdefault(a.grid_id, GridCoverage(a.grid, a.grid_id in patrolled)).officers.append(
            a.officer.username)
    rows = sorted(by_officer.values(), key=lambda r: r.officer.username)
    return Coverage(day=day, officers=rows, grids=sorted(by_grid.values(), key=lambda g: g.grid.code))


def officers_visible_to(user: User) -> QuerySet[User] | None:
    """The officers whose coverage `user` may read; None: `user` may read none (→ 403).

    Officers: themselves. Centre roles: officers assigned to a grid in their organisation's area
    (the city when it has none). Administrators: every officer. Everyone else: nobody.
    """
    officers = User.objects.filter(role=Role.OFFICER, is_active=True)
    if user.is_superuser:
        return officers
    if user.role == Role.OFFICER:
        return officers.filter(pk=user.pk)
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        if area is None:
            return officers
        return officers.filter(pk__in=GridAssignment.objects.filter(grid__code__startswith=area.code)
                               .values("officer_id"))
    return None


def officer_named(officers: QuerySet[User], ref: str) -> User | None:
    """The officer in `officers` with this id or username."""
    match = Q(username=ref) | (Q(pk=int(ref)) if ref.isdigit() else Q(pk__in=[]))
    return officers.filter(match).first()
