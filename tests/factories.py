"""Plain factory functions for tests : keyword-only, sensible defaults."""

from __future__ import annotations

import itertools

import shapely

from cases.models import BigClass, CaseStandard, ClassificationStandard, Kind, SmallClass
from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment, Level
from people.models import Organisation, Role, User

_serial = itertools.count(1)
AREA_NAMES = {Level.DISTRICT: "测试区", Level.STREET: "测试街道", Level.COMMUNITY: "测试社区"}


def make_area(
    *, code: str, name: str | None = None, geometry: shapely.Geometry | None = None
) -> Area:
    """The area with `code`, creating its parents from the code's prefixes as needed."""
    level = {6: Level.DISTRICT, 9: Level.STREET, 12: Level.COMMUNITY}[len(code)]
    parent = make_area(code=code[: {6: 0, 9: 6, 12: 9}[len(code)]]) if len(code) > 6 else None
    area, _ = Area.objects.get_or_create(
        code=code,
        defaults={
            "name": name or f"{AREA_NAMES[level]}{code[-3:]}",
            "level": level,
            "parent": parent,
            "geometry": to_geojson(geometry) if geometry is not None else "",
        },
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
        code=code,
        name=name or f"网格{code[-3:]}",
        community=make_area(code=code[:12]),
        geometry=to_geojson(geometry),
        **fields,
    )
    for officer in officers:
        GridAssignment.objects.create(grid=grid, officer=officer)
    return grid


def make_organisation(
    *,
    kind: str = Organisation.Kind.CENTRE,
    code: str | None = None,
    name: str | None = None,
    area: Area | None = None,
) -> Organisation:
    n = next(_serial)
    return Organisation.objects.create(
        code=code or f"org{n}", name=name or f"单位{n}", kind=kind, area=area
    )


def make_user(
    *,
    role: str = Role.OFFICER,
    username: str | None = None,
    organisation: Organisation | None = None,
    password: str = "pw-for-tests-1",
) -> User:
    n = next(_serial)
    user = User.objects.create_user(
        username=username or f"{role}{n}", password=password, role=role, organisation=organisation
    )
    return user


def make_standard(
    *, code: str | None = None, name: str = "测试分类标准", active: bool = False
) -> ClassificationStandard:
    """A classification standard; inactive unless asked (only one non-local one may be active)."""
    n = next(_serial)
    return ClassificationStandard.objects.create(code=code or f"TEST-{n}", name=name, active=active)


def make_big_class(
    *,
    standard: ClassificationStandard | None = None,
    kind: str = Kind.EVENT,
    code: str = "01",
    name: str = "测试大类",
) -> BigClass:
    standard = standard or make_standard()
    return BigClass.objects.create(standard=standard, kind=kind, code=code, name=name)


def make_small_class(
    *,
    big_class: BigClass | None = None,
    code: str | None = None,
    name: str = "测试小类",
    active: bool = True,
    case_standard: bool = True,
    **standard_fields,
) -> SmallClass:
    """A small class (code = big class code + serial) with a case standard (1 工作日 by default);
    `standard_fields` set case standard fields such as attribute_schema or urgency."""
    big_class = big_class or make_big_class()
    n = next(_serial)
    small = SmallClass.objects.create(
        big_class=big_class, code=code or f"{big_class.code}{n:03d}", name=name, active=active
    )
    if case_standard:
        CaseStandard.objects.create(small_class=small, **standard_fields)
    return small


def make_admin_user(*, username: str | None = None, password: str = "pw-for-tests-1") -> User:
    """A superuser with role administrator, for the Django admin."""
    user = make_user(role=Role.ADMIN, username=username, password=password)
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user
