"""Who sees which ledger entries and campaign figures (docs/domain.md §3, §12), on cases/access.py's rules.

- administrators: everything;
- centre roles (acceptor, shift leader, dispatcher, viewer) — a street office's people are viewers
  of an organisation whose area is the street — the entries and figures of their organisation's
  area (the city when it has none);
- handling unit members: the entries of the cases their unit holds or held (no figures);
- patrol officers: the entries in their grids and those of their own reports (no figures);
- anyone else: nothing (403).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from cases.access import case_scope
from cases.models import Case
from people.models import CENTRE_ROLES, Role, User


def _centre_area(user: User) -> str | None:
    """The area code prefix a figure reader is bounded by ("" = city); None: not a figure reader."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser or user.role == Role.ADMIN:
        return ""
    if user.role in CENTRE_ROLES and user.organisation_id:
        return user.area.code if user.area else ""
    return None


def figure_scope(user: User, area: str = "") -> str:
    """The code prefix `user` may read figures under, narrowed to `area`; PermissionDenied otherwise."""
    bound = _centre_area(user)
    if bound is None:
        raise PermissionDenied(
            _("Campaign figures are for the centre, street offices and administrators.")
        )
    if area.startswith(bound):
        return area
    if bound.startswith(area):
        return bound
    raise PermissionDenied(_("Area %(area)s is outside your area.") % {"area": area})


def entry_scope(user: User) -> Q | None:
    """The filter on LedgerEntry selecting what `user` may see; None means everything."""
    bound = _centre_area(user)
    if bound is not None:
        return None if bound == "" else Q(grid_code__startswith=bound)
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied(_("Sign in to read the ledger."))
    if user.role == Role.UNIT_MEMBER and user.organisation_id:
        return Q(links__case__in=Case.objects.filter(case_scope(user)).values("pk"))
    if user.role == Role.OFFICER:
        return Q(grid__assignments__officer=user) | Q(links__case__reporter=user)
    raise PermissionDenied(_("The ledger is not open to your role."))
