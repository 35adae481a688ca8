"""Metrics API (docs/domain.md §6): the evaluation table of one level for a period, and the cases
behind one figure. Thin views: parse the query, decide what the reader may see (`reader_scope`),
call metrics.scores / metrics.reports, shape the answer.

Who reads what: administrators and centre roles (acceptor, shift leader, dispatcher, viewer) every
level, bounded by their organisation's area when it has one; handling unit members their own unit's
row; officers their own row (levels officer and person). Anyone else: 403.

Levels "person" (every officer, acceptor, shift leader and dispatcher with their step figures) and
"step" (one row per step of the centre, with the role that owes it) answer the step metrics of
docs/domain.md §6; their drill-down takes `{step}_done`, `{step}_on_time`, `{step}_late_undone` or
`{step}_due` (person: id_or_code a username or id; step: id_or_code the step, metric `done`,
`on_time`, `late_undone` or `due`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from backend.openapi import errors
from grids.models import Area, Grid
from metrics import reports
from metrics.reports import AREA_CODE_LENGTH, COUNT_KEYS, LEVELS, STEP_LEVELS, Period, period_of
from metrics.scores import evaluate
from metrics.subjects import STEP_ROLES
from people.models import CENTRE_ROLES, Organisation, Role, User

ROW_KEYS = ("id", "code", "name", *COUNT_KEYS, *reports.RATES, "score", "grade", "rank", "tied")
OFFICER_ROW_KEYS = (*ROW_KEYS, *reports.OFFICER_KEYS, *reports.OFFICER_RATES)
PERSON_ROW_KEYS = ("id", "code", "name", "role", *reports.STEP_KEYS, *reports.STEP_RATES)
STEP_ROW_KEYS = ("step", "role", "done", "on_time", "late_undone", "on_time_rate", "centre_backlog")
STEP_METRICS = ("done", "on_time", "late_undone", "due")
PERSON_METRICS = (*reports.STEP_KEYS, *reports.STEP_DUE)
DRILLABLE = tuple(
    dict.fromkeys(
        (
            *COUNT_KEYS,
            *reports.OFFICER_KEYS,
            "verified_due",
            "checked_due",
            *PERSON_METRICS,
            *STEP_METRICS,
        )
    )
)
DEFAULT_ORDER = {"person": "code", "step": ""}  # the others: by rank
EARLIEST = dt.date(2000, 1, 1)  # before any case; also keeps date arithmetic away from year 1


class PeriodQuery(serializers.Serializer):
    level = serializers.ChoiceField(choices=(*LEVELS, *STEP_LEVELS))
    start = serializers.DateField(help_text="First day (Asia/Shanghai), YYYY-MM-DD")
    end = serializers.DateField(help_text="Day after the last (exclusive), YYYY-MM-DD")
    area = serializers.RegexField(
        r"^([0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$",
        required=False,
        default="",
        help_text="District, street, community or grid code: count only cases filed there",
    )

    def validate(self, data: dict) -> dict:
        if data["start"] < EARLIEST:
            raise serializers.ValidationError(
                {"start": _("Periods start on or after %(day)s.") % {"day": EARLIEST}}
            )
        if data["end"] <= data["start"]:
            raise serializers.ValidationError(
                {"end": _("end must be after start (end is exclusive).")}
            )
        if data["start"] > timezone.localdate():
            raise serializers.ValidationError({"start": _("The period has not started yet.")})
        return data


def row_keys(level: str) -> tuple[str, ...]:
    return {"officer": OFFICER_ROW_KEYS, "person": PERSON_ROW_KEYS, "step": STEP_ROW_KEYS}.get(
        level, ROW_KEYS
    )


class TableQuery(PeriodQuery):
    ordering = serializers.CharField(
        required=False,
        default=None,
        allow_blank=True,
        help_text="A row key, e.g. score or -closure_rate; empty values last. "
        "Default: rank (person: code; step: the steps' order)",
    )

    def validate(self, data: dict) -> dict:
        data = super().validate(data)
        if data.get("ordering") in (None, ""):
            data["ordering"] = DEFAULT_ORDER.get(data["level"], "rank")
        elif data["ordering"].lstrip("-") not in row_keys(data["level"]):
            raise serializers.ValidationError(
                {"ordering": _("Order by one of the row keys, e.g. rank, -score, closure_rate.")}
            )
        return data


class CasesQuery(PeriodQuery):
    id_or_code = serializers.CharField(max_length=150)
    metric = serializers.ChoiceField(choices=DRILLABLE)


@dataclass(frozen=True)
class Scope:
    """What a reader may see: cases under `area` ("" = the city), and only the object `own` (a
    unit or officer key) when set."""

    area: str
    own: Any = None


def reader_scope(user: User, level: str, area: str) -> Scope:
    """The reader's scope for `level`, narrowed to the requested `area`; PermissionDenied when the
    role may not read this level or the area is outside the reader's own."""
    if user.is_superuser or user.role == Role.ADMIN:
        return Scope(area)
    if user.role in CENTRE_ROLES and user.organisation_id:
        bound = user.area.code if user.area else ""
        if area.startswith(bound):
            return Scope(area)
        if bound.startswith(area):
            return Scope(bound)
        raise PermissionDenied(_("Area %(area)s is outside your area.") % {"area": area})
    if user.role == Role.UNIT_MEMBER and user.organisation_id and level == "unit":
        return Scope(area, own=user.organisation_id)
    if user.role == Role.OFFICER and level in ("officer", "person"):
        return Scope(area, own=user.pk)
    raise PermissionDenied(_("You may not read metrics at this level."))


def _parse(serializer_class: type[serializers.Serializer], request) -> tuple[dict, Period, Scope]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    return q, period_of(q["start"], q["end"]), reader_scope(request.user, q["level"], q["area"])


def _ordered(rows: list[dict], ordering: str) -> list[dict]:
    """Rows by one key (descending with "-"), rows without a value last, then by code (rows come
    sorted by rank and code already; "" keeps their order)."""
    if not ordering:
        return rows
    key, descending = ordering.lstrip("-"), ordering.startswith("-")
    rows = sorted(rows, key=lambda r: r.get("code", ""))
    present = sorted(
        (r for r in rows if r[key] is not None), key=lambda r: r[key], reverse=descending
    )
    return present + [r for r in rows if r[key] is None]


def _head(q: dict, period: Period, scope: Scope) -> dict:
    return {
        "level": q["level"],
        "start": q["start"],
        "end": q["end"],
        "as_of": period.as_of,
        "area": scope.area,
    }


@extend_schema(parameters=[TableQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def metrics(request):
    """Every object of a level with its counts, rates, composite score, grade and competition rank
    (1, 1, 3; ties marked), the unscored after the ranked; or the step figures of people (level
    person) and of the centre's steps (level step)."""
    q, period, scope = _parse(TableQuery, request)
    if q["level"] == "step":
        return Response(
            {
                **_head(q, period, scope),
                "results": _ordered(reports.step_rows(period, area=scope.area), q["ordering"]),
            }
        )
    rows = evaluate(q["level"], period, area=scope.area)
    if scope.own is not None:
        rows = [r for r in rows if r.subject.key == scope.own]
    if q["level"] == "person":
        shaped = [r.person_dict() for r in rows]
    else:
        shaped = [r.as_dict(officer=q["level"] == "officer") for r in rows]
    return Response({**_head(q, period, scope), "results": _ordered(shaped, q["ordering"])})


@extend_schema(parameters=[CasesQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def metric_cases(request):
    """The case numbers behind one figure of one object (a case counted twice is listed twice)."""
    q, period, scope = _parse(CasesQuery, request)
    level, metric = q["level"], q["metric"]
    allowed = {
        "officer": (*COUNT_KEYS, *reports.OFFICER_KEYS, "verified_due", "checked_due"),
        "person": PERSON_METRICS,
        "step": STEP_METRICS,
    }.get(level, COUNT_KEYS)
    if metric not in allowed:
        raise ValidationError(
            {
                "metric": _("%(metric)s is not a figure of level %(level)s.")
                % {"metric": metric, "level": level}
            }
        )
    subject = find_subject(level, q["id_or_code"])
    if scope.own is not None and subject["key"] != scope.own:
        raise PermissionDenied(_("You may read your own figures only."))
    key = subject.pop("key")
    if level == "step":  # one row of figures for all steps: the metric names the step
        key, metric = 1, f"{q['id_or_code']}_{metric}"
    numbers = reports.cases_behind(level, key, metric, period, area=scope.area)
    return Response(
        {
            **_head(q, period, scope),
            "object": subject,
            "metric": q["metric"],
            "count": len(numbers),
            "cases": numbers,
        }
    )


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _candidates(level: str) -> tuple[QuerySet, str]:
    """The objects of a non-area level and the field people name them by."""
    if level == "grid":
        return Grid.objects.all(), "code"
    if level == "unit":
        return Organisation.objects.filter(kind=Organisation.Kind.HANDLING_UNIT), "code"
    if level == "person":
        return User.objects.filter(role__in=STEP_ROLES), "username"
    return User.objects.filter(role=Role.OFFICER), "username"


def find_subject(level: str, id_or_code: str) -> dict:
    """The object named by code (or id) at `level`, with the key its figures are under; a
    ValidationError naming id_or_code when there is none."""
    if level == "step":
        if id_or_code not in reports.STEPS:
            raise ValidationError(
                {
                    "id_or_code": _("A step is one of %(steps)s.")
                    % {"steps": ", ".join(reports.STEPS)}
                }
            )
        return {
            "key": id_or_code,
            "id": None,
            "code": id_or_code,
            "name": id_or_code,
            "role": reports.STEP_ROLE[id_or_code],
        }
    if level in AREA_CODE_LENGTH:
        if len(id_or_code) != AREA_CODE_LENGTH[level] or not _digits(id_or_code):
            raise ValidationError(
                {
                    "id_or_code": _("A %(level)s code has %(n)d digits.")
                    % {"level": level, "n": AREA_CODE_LENGTH[level]}
                }
            )
        area = Area.objects.filter(code=id_or_code).first()
        return {
            "key": id_or_code,
            "id": area.pk if area else None,
            "code": id_or_code,
            "name": area.name if area else "",
        }
    rows, code_field = _candidates(level)
    found = rows.filter(**{code_field: id_or_code}).first()
    if found is None and _digits(id_or_code) and len(id_or_code) < 19:
        found = rows.filter(pk=int(id_or_code)).first()
    if found is None:
        raise ValidationError(
            {
                "id_or_code": _("No %(level)s with id or code %(value)s.")
                % {"level": level, "value": id_or_code}
            }
        )
    name = (
        (found.get_full_name() or found.username) if level in ("officer", "person") else found.name
    )
    return {"key": found.pk, "id": found.pk, "code": getattr(found, code_field), "name": name}
