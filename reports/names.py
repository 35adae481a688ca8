"""The names a street office uses (docs/domain.md §7): grids with their community and street, handling
units and people by their Chinese names, never a username, a slug or a code alone.

Used when a report is built, so the snapshot carries the names as they were that day.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from grids.models import Area, Grid
from people.models import Organisation, User

_CJK = re.compile(r"[\u3400-\u9fff]")


def person_name(user: User | None) -> str:
    """A person's name as printed: the full name (Chinese order, no space, when it is written in
    Chinese), else their role and organisation ("园区城管监督指挥中心监督员") — never the username."""
    if user is None:
        return ""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if first or last:
        if _CJK.search(first + last):
            return f"{last}{first}"
        return " ".join(p for p in (first, last) if p)
    role = user.get_role_display() if user.role else _("staff member")
    organisation = user.organisation.name if user.organisation_id else ""
    return _("%(organisation)s%(role)s (name not recorded)") % {
        "organisation": organisation,
        "role": role,
    }


def unit_name(unit: Organisation | None, code: str = "", name: str = "") -> str:
    """A handling unit's name; a unit without one is called by its kind, not by its slug."""
    if unit is not None:
        name = unit.name
    return name.strip() or _("handling unit without a name")


def grid_places(ids) -> dict[int, dict]:
    """Grid id → {community, street, district} names (empty where the area row is missing)."""
    found = {}
    for grid in Grid.objects.filter(pk__in=list(ids)).select_related("community__parent__parent"):
        community = grid.community
        street = community.parent if community else None
        district = street.parent if street else None
        found[grid.pk] = {
            "community": community.name if community else "",
            "street": street.name if street else "",
            "district": district.name if district else "",
        }
    return found


def area_parents(codes) -> dict[str, dict]:
    """Area code → {street, district} names of its parents."""
    found = {}
    for area in Area.objects.filter(code__in=list(codes)).select_related("parent__parent"):
        parent = area.parent
        grand = parent.parent if parent else None
        if area.level == "community":
            found[area.code] = {
                "street": parent.name if parent else "",
                "district": grand.name if grand else "",
            }
        else:
            found[area.code] = {"district": parent.name if parent else ""}
    return found


def grid_label(grid: dict) -> str:
    """ "XX街道XX社区 网格名" from a row or case line that carries street, community and name."""
    where = f"{grid.get('street', '')}{grid.get('community', '')}"
    name = grid.get("grid_name", grid.get("name", "")) or grid.get("grid", grid.get("code", ""))
    return f"{where} {name}".strip() if where else name
