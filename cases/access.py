"""Who may see which case and grid: the one place these rules live (a house rule: access checks
live in a few tested helpers).

The HTTP API, exports, map layers and the WebSocket live map (`live_groups_for` / `live_groups_of`)
all call these helpers.
- administrators (superusers, and the administrator role): everything;
- patrol officers: cases in the grids they are assigned to now, and their own reports;
- handling unit members: cases their unit holds or has held;
- centre roles (acceptor, shift leader, dispatcher, viewer): cases in their organisation's area,
  or the whole city when the organisation has no area (the only ones who see outside-grid cases);
- the public: their own reports.
Rows a user may not see are answered with 404, never 403, so their existence does not leak.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from cases.models import Case
from grids.models import Grid, GridAssignment
from people.models import CENTRE_ROLES, Role, User


def sees_everything(user: User) -> bool:
    """Superusers and the administrator role: every case, grid and area."""
    return (
        user.is_authenticated and user.is_active and (user.is_superuser or user.role == Role.ADMIN)
    )


def case_scope(user: User) -> Q | None:
    """The filter selecting the cases `user` may see; None means all of them."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if sees_everything(user):
        return None
    own = Q(reporter=user)
    if user.role == Role.OFFICER:
        return own | Q(
            grid_id__in=GridAssignment.objects.in_force().filter(officer=user).values("grid_id")
        )
    if user.role == Role.UNIT_MEMBER and user.organisation_id:
        return Q(unit_id=user.organisation_id) | Q(events__unit_id=user.organisation_id)
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        return None if area is None else Q(grid__code__startswith=area.code)
    return own


# A grid's and a community's outlines are kilobytes of GeoJSON each: a read of cases that shows
# their grid and community names leaves them out (`.defer(*GRID_OUTLINES)`).
GRID_OUTLINES = ("grid__geometry", "grid__community__geometry", "grid__community__derived_geometry")


def visible_cases(user: User) -> QuerySet[Case]:
    scope = case_scope(user)
    cases = Case.objects.all()
    if scope is None:
        return cases
    # The joins in the scope (assignments, events) can repeat a case: select ids first.
    return cases.filter(pk__in=Case.objects.filter(scope).values("pk"))


def can_view_case(user: User, case: Case) -> bool:
    return visible_cases(user).filter(pk=case.pk).exists()


def get_case_for_user(user: User, pk: int) -> Case:
    """The case if `user` may see it, else Http404."""
    case = (
        visible_cases(user)
        .select_related("category__big_class__standard", "grid__community", "unit", "reporter")
        .defer(*GRID_OUTLINES)
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404("No case with that id is visible to you.")
    return case


def can_view_grid(user: User, grid: Grid) -> bool:
    """Officers see their own grids; centre roles their area's; units and admins every grid."""
    if not user.is_authenticated or not user.is_active:
        return False
    if sees_everything(user) or user.role == Role.UNIT_MEMBER:
        return True
    if user.role == Role.OFFICER:
        return grid.assignments.in_force().filter(officer=user).exists()
    if user.role in CENTRE_ROLES:
        area = user.area
        return area is None or grid.code.startswith(area.code)
    return False


def is_officer_of_grid(user: User, grid_id: int | None) -> bool:
    return (
        grid_id is not None
        and user.role == Role.OFFICER
        and GridAssignment.objects.in_force().filter(grid_id=grid_id, officer=user).exists()
    )


# --- the live map (WebSocket /ws/cases/): the same rules as groups ------------------------------
# A person joins one group per clause of `case_scope`; a change of a case is sent to one group per
# clause that admits it. So a change reaches exactly those who may see the case
# (tests/test_permission_matrix.py checks it over every person and case).


def live_groups_for(user: User) -> list[str]:
    """The live-map groups `user` joins."""
    from alerts.realtime import area_group, grid_group, reporter_group, unit_group

    if not user.is_authenticated or not user.is_active:
        return []
    if sees_everything(user):
        return [area_group(None)]
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        return [area_group(area.code if area else None)]
    groups = [reporter_group(user.pk)]
    if user.role == Role.OFFICER:
        groups += [
            grid_group(g)
            for g in user.grid_assignments.in_force().values_list("grid_id", flat=True).distinct()
        ]
    if user.role == Role.UNIT_MEMBER and user.organisation_id:
        groups.append(unit_group(user.organisation_id))  # cases the unit holds or has held
    return groups


def live_groups_of(case: Case, *, reported: bool = False) -> list[str]:
    """Every live-map group a change of `case` goes to: the city, the areas containing its grid,
    its grid, every unit that holds or has held it, its reporter. `reported`: the change is the
    case's report, so no unit has held it (nothing to read)."""
    from alerts.realtime import area_group, grid_group, reporter_group, unit_group
    from cases.models import CaseEvent
    from grids.geo import grid_of

    groups = [area_group(None)]
    if case.grid_id:
        code = grid_of(case).code
        groups += [area_group(code[:n]) for n in (6, 9, 12)] + [grid_group(case.grid_id)]
    units = {case.unit_id} if case.unit_id else set()
    if case.pk and not reported:
        units |= set(
            CaseEvent.objects.filter(case_id=case.pk, unit__isnull=False)
            .values_list("unit_id", flat=True)
            .distinct()
        )
    groups += [unit_group(u) for u in sorted(units)]
    if case.reporter_id:
        groups.append(reporter_group(case.reporter_id))
    return groups
