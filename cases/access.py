"""Who may see which case and grid: the one place these rules live (STYLE.md rule 19).

The HTTP API, exports, map layers and (later) the WebSocket layer all call these helpers.
- administrators (superusers): everything;
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


def case_scope(user: User) -> Q | None:
    """The filter selecting the cases `user` may see; None means all of them."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    own = Q(reporter=user)
    if user.role == Role.OFFICER:
        return own | Q(grid_id__in=GridAssignment.objects.in_force().filter(officer=user).values("grid_id"))
    if user.role == Role.UNIT_MEMBER and user.organisation_id:
        return Q(unit_id=user.organisation_id) | Q(events__unit_id=user.organisation_id)
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        return None if area is None else Q(grid__code__startswith=area.code)
    return own


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
    case = visible_cases(user).select_related("category__big_class__standard", "grid__community", "unit",
                                              "reporter").filter(pk=pk).first()
    if case is None:
        raise Http404("No case with that id is visible to you.")
    return case


def can_view_grid(user: User, grid: Grid) -> bool:
    """Officers see their own grids; centre roles their area's; units and admins every grid."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.role == Role.UNIT_MEMBER:
        return True
    if user.role == Role.OFFICER:
        return grid.assignments.in_force().filter(officer=user).exists()
    if user.role in CENTRE_ROLES:
        area = user.area
        return area is None or grid.code.startswith(area.code)
    return False


def is_officer_of_grid(user: User, grid_id: int | None) -> bool:
    return grid_id is not None and user.role == Role.OFFICER and GridAssignment.objects.in_force().filter(
        grid_id=grid_id, officer=user).exists()
