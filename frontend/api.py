"""The few JSON endpoints the supervision-centre console (docs/console.md) needs beyond the case
API: handling units to dispatch to, the unit a case's small class suggests, the work queues with
each row's allowed actions, and open-case counts per grid for the map.

Visibility always goes through cases.access; the actions through cases.workflow.allowed_actions.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from backend.openapi import errors
from cases import workflow
from cases.access import get_case_for_user, visible_cases
from cases.dispatch_rules import RuleBook, suggest_unit
from cases.models import OPEN_STATUSES, Case, overdue_at
from cases.serializers import CaseListQuery, case_row
from cases.views import CASE_ID
from frontend import console
from people.models import CENTRE_ROLES, Organisation, Role, User

QUEUE_LIMIT = 100  # rows per queue; the count is always the full count

# The cases in each queue (frontend.console.QUEUES, which also names them).
QUEUES: dict[str, Q] = {key: condition for key, (_label, condition) in console.QUEUES.items()}
# The queues each role works first, in the order shown; the rest follow.
ROLE_QUEUES: dict[str, tuple[str, ...]] = {
    Role.ACCEPTOR: ("accept", "verify"),
    Role.SHIFT_LEADER: ("register", "close"),
    Role.DISPATCHER: ("dispatch", "requests"),
}


def is_console_user(user: User) -> bool:
    """Centre roles and administrators use the console."""
    return user.is_authenticated and (
        user.is_superuser or user.role in CENTRE_ROLES or user.role == Role.ADMIN
    )


def _require_console(user: User) -> None:
    if not is_console_user(user):
        raise PermissionDenied(_("The console is for the supervision centre."))


def queue_order(user: User) -> list[str]:
    first = ROLE_QUEUES.get(user.role, ())
    return [*first, *(key for key in QUEUES if key not in first)]


def _suggested(case: Case, book: RuleBook | None = None) -> dict | None:
    """The city's dispatch rules, else the small class's default unit (cases/dispatch_rules.py)."""
    unit = suggest_unit(case, book=book)
    return None if unit is None else {"id": unit.pk, "name": unit.name}


@extend_schema(
    responses={
        200: inline_serializer(
            "HandlingUnit",
            {"id": serializers.IntegerField(), "name": serializers.CharField()},
            many=True,
        ),
        **errors(403),
    }
)
@api_view(["GET"])
def units(request):
    """Active handling units: `[{id, name}]`, by name."""
    _require_console(request.user)
    rows = Organisation.objects.filter(kind=Organisation.Kind.HANDLING_UNIT, active=True).order_by(
        "name", "pk"
    )
    return Response([{"id": o.pk, "name": o.name} for o in rows])


@extend_schema(responses={200: dict, **errors(403, 404)}, parameters=[CASE_ID])
@api_view(["GET"])
def case_suggestion(request, pk: int):
    """`{"suggested_unit": {id, name} | null}`: the unit the city's dispatch rules name for the case's
    small class and grid, else the small class's default handling unit."""
    _require_console(request.user)
    case = get_case_for_user(request.user, pk)
    return Response({"case": case.pk, "suggested_unit": _suggested(case)})


def _filtered(request) -> tuple:
    query = CaseListQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    f = query.validated_data
    rows = visible_cases(request.user)
    if f.get("area"):
        rows = rows.in_area(f["area"])
    if f.get("category"):
        rows = rows.filter(category_id=f["category"])
    return rows, f


@extend_schema(parameters=[CaseListQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def queues(request):
    """The caller's work queues (`area` and `category` narrow them): each with its full `count` and
    up to 100 rows, oldest first, each row the case list shape plus `allowed_actions` for the caller
    and `suggested_unit`."""
    _require_console(request.user)
    rows, _f = _filtered(request)
    now = timezone.now()
    result = []
    book = RuleBook()
    for key in queue_order(request.user):
        selected = rows.filter(QUEUES[key])
        if key == "overdue":
            selected = selected.overdue(now)
        selected = selected.select_related(
            "category__case_standard__default_handling_unit", "grid", "unit"
        )
        ordered = selected.order_by("deadline" if key == "overdue" else "reported_at", "pk")
        page = list(ordered[:QUEUE_LIMIT])
        result.append(
            {
                "key": key,
                "count": selected.count() if len(page) == QUEUE_LIMIT else len(page),
                "rows": [
                    {
                        **case_row(c, now),
                        "allowed_actions": workflow.allowed_actions(c, request.user, seen=True),
                        "suggested_unit": _suggested(c, book),
                    }
                    for c in page
                ],
            }
        )
    return Response({"as_of": now, "queues": result})


@extend_schema(parameters=[CaseListQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def grid_counts(request):
    """Open cases per grid code now (`area`, `category` narrow them): `{"results": {code: {open,
    overdue}}}` — the map's "open cases" and "overdue now" colouring, without sending every case."""
    _require_console(request.user)
    rows, _f = _filtered(request)
    now = timezone.now()
    counted = (
        rows.filter(status__in=OPEN_STATUSES, grid__isnull=False)
        .values("grid__code")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_at(now)))
    )
    return Response(
        {
            "as_of": now,
            "results": {
                r["grid__code"]: {"open": r["open"], "overdue": r["overdue"]} for r in counted
            },
        }
    )
