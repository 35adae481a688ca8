"""Plain factory functions for tests (STYLE.md rule 34): keyword-only, sensible defaults."""

from __future__ import annotations

import itertools

import shapely

from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment, Level
from people.models import Organisation, Role, User

_serial = itertools.count(1)
AREA_NAMES = {Level.DISTRICT: "测试区", Level.STREET: "测试街道", Level.COMMUNITY: "测试社区"}


def make_area(*, code: str, name: str | None = None, geometry: shapely.Geometry | None = None) -> Area:
    """The area with `code`, creating its parents from the code's prefixes as needed."""
    level = {6: Level.DISTRICT, 9: Level.STREET, 12: Level.COMMUNITY}[len(code)]
    parent = make_area(code=code[: {6: 0, 9: 6, 12: 9}[len(code)]]) if len(code) > 6 else None
    area, _ = Area.objects.get_or_create(
        code=code,
        defaults={"name": name or f"{AREA_NAMES[level]}{code[-3:]}", "level": level, "parent": parent,
                  "geometry": to_geojson(geometry) if geometry is not None else ""},
    )
    return area


def make_grid(
    *,
    code: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    geometry: shapely.Geometry | None = None,
    name: str | None = None,
    officers: list[User] = (),
    **fields,
) -> Grid:
    """A grid; by default a ~100 m square near Suzhou, in community 320505006001."""
    n = next(_serial)
    code = code or f"320505006001{n:03d}"
    if geometry is None:
        x0, y0, x1, y1 = bounds or (120.70 + n * 0.002, 31.30, 120.701 + n * 0.002, 31.301)
        geometry = shapely.box(x0, y0, x1, y1)
    grid = Grid.objects.create(
        code=code, name=name or f"网格{code[-3:]}", community=make_area(code=code[:12]),
        geometry=to_geojson(geometry), **fields,
    )
    for officer in officers:
        GridAssignment.objects.create(grid=grid, officer=officer)
    return grid


def make_organisation(*, kind: str = Organisation.Kind.CENTRE, code: str | None = None,
                      name: str | None = None, area: Area | None = None) -> Organisation:
    n = next(_serial)
    return Organisation.objects.create(code=code or f"org{n}", name=name or f"单位{n}", kind=kind, area=area)


def make_user(*, role: str = Role.OFFICER, username: str | None = None,
              organisation: Organisation | None = None, password: str = "pw-for-tests-1") -> User:
    n = next(_serial)
    user = User.objects.create_user(username=username or f"{role}{n}", password=password, role=role,
                                    organisation=organisation)
    return user
