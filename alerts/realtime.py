"""Group names and message shapes of the WebSocket layer: the only place they are spelled.

Groups (names match channels' `^[a-zA-Z\\d\\-_.]{1,100}$`):
- `user.<id>`: a person's alerts stream;
- `area.city`, `area.<code>` (district, street or community code), `grid.<id>`, `unit.<id>`,
  `reporter.<id>`: the live-map stream of case state changes, joined according to what the person
  may see (cases.access.live_groups_for / live_groups_of).
"""

from __future__ import annotations

from typing import TypedDict


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def area_group(code: str | None) -> str:
    return f"area.{code}" if code else "area.city"


def grid_group(grid_id: int) -> str:
    return f"grid.{grid_id}"


def unit_group(unit_id: int) -> str:
    return f"unit.{unit_id}"


def reporter_group(user_id: int) -> str:
    return f"reporter.{user_id}"


class CaseSummary(TypedDict):
    id: int
    number: str
    status: str
    grid: str | None
    category: str
    light: str | None
    lon: float | None
    lat: float | None


class AlertMessage(TypedDict):
    """What a client receives on /ws/alerts/."""

    seq: int
    type: str
    at: str
    case: CaseSummary | None


class CaseChanged(TypedDict):
    """What a client receives on /ws/cases/ (live map)."""

    type: str  # "case.changed"
    action: str
    case: CaseSummary


def case_summary(case) -> CaseSummary:
    from django.utils import timezone

    from cases.deadlines import traffic_light
    from cases.serializers import category_of
    from grids.geo import grid_of

    grid = grid_of(case)
    return {
        "id": case.pk,
        "number": case.number,
        "status": case.status,
        "grid": grid.code if grid is not None else None,
        "category": category_of(case).name,
        "light": traffic_light(case, timezone.now()),
        "lon": case.lon,
        "lat": case.lat,
    }


def live_groups(case, *, reported: bool = False) -> list[str]:
    """Every live-map group that may see a change of `case` (the rule is cases.access');
    `reported`: the change is the case's report."""
    from cases.access import live_groups_of

    return live_groups_of(case, reported=reported)
