"""The objects a level is evaluated for (docs/domain.md §6): grids and areas in force during the period,
handling units, patrol officers, people who owe steps — each with the key
`reports.figures_by_level()` attributes to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from grids.models import Area, Grid
from metrics.reports import AREA_CODE_LENGTH, TZ, Period
from people.models import Organisation, Role, User


@dataclass(frozen=True)
class Subject:
    """One evaluated object: `key` as figures are keyed, `code`/`name` as people know it."""

    key: Any
    id: int | None
    code: str
    name: str
    region_class: int | None = None  # grids only (立案数分值)
    role: str = ""  # people only


def _days(period: Period) -> tuple[dt.date, dt.date]:
    return period.start.astimezone(TZ).date(), period.end.astimezone(TZ).date()


def in_force(rows: QuerySet, period: Period) -> QuerySet:
    """Grids or areas valid on some day of the period (valid_to is the first day out of force)."""
    first, after = _days(period)
    return rows.filter(Q(valid_from__lt=after), Q(valid_to__isnull=True) | Q(valid_to__gt=first))


def _near(area: str) -> Q:
    """Areas under `area`, or containing it (a district's row when filtered to one of its streets)."""
    prefixes = [area[:n] for n in AREA_CODE_LENGTH.values() if n <= len(area)]
    return Q(code__startswith=area) | Q(code__in=prefixes)


def grids_in(period: Period, area: str = "") -> QuerySet[Grid]:
    return in_force(Grid.objects.all(), period).filter(code__startswith=area).order_by("code")


def subjects(
    level: str, period: Period, *, area: str = "", keys: Collection[Any] = ()
) -> list[Subject]:
    """The objects of `level`, in code order: those in force (active) during the period, plus any
    object `keys` names (figures of a grid closed since, say). Officer rows are people with the
    officer role (a hotline acceptor's reports make no officer row); person rows the people who owe
    the centre's steps (officers, acceptors, shift leaders, dispatchers)."""
    if level == "grid":
        grids = Grid.objects.filter(
            Q(pk__in=grids_in(period, area).values("pk")) | Q(pk__in=list(keys))
        )
        return [Subject(g.pk, g.pk, g.code, g.name, g.region_class) for g in grids.order_by("code")]
    if level in AREA_CODE_LENGTH:
        areas = Area.objects.filter(level=level).filter(
            Q(pk__in=in_force(Area.objects.filter(_near(area)), period).values("pk"))
            | Q(code__in=list(keys))
        )
        found = [Subject(a.code, a.pk, a.code, a.name) for a in areas]
        missing = set(keys) - {s.key for s in found}  # codes of grids whose area row is missing
        return sorted(
            found + [Subject(code, None, code, "") for code in missing], key=lambda s: s.code
        )
    if level == "unit":
        units = Organisation.objects.filter(
            Q(active=True) | Q(pk__in=list(keys)), kind=Organisation.Kind.HANDLING_UNIT
        )
        return [Subject(u.pk, u.pk, u.code, u.name) for u in units.order_by("code")]
    roles = STEP_ROLES if level == "person" else (Role.OFFICER,)
    people = User.objects.filter(
        Q(is_active=True) | Q(pk__in=[k for k in keys if k is not None]), role__in=roles
    )
    return [
        Subject(u.pk, u.pk, u.username, u.get_full_name() or u.username, role=u.role)
        for u in people.order_by("username")
    ]


# The people who owe the centre's steps (docs/domain.md §6 person metrics).
STEP_ROLES = (Role.OFFICER, Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER)
