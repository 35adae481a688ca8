"""Campaigns API (docs/domain.md §12): the construction figures, the ledger (their drill-down and the
console's layer) and the dumping figures. Thin views: parse, scope (campaigns/access.py), call
campaigns/figures.py, shape."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from backend.openapi import errors
from campaigns import figures
from campaigns.access import entry_scope, figure_scope
from campaigns.models import EntryKind, EntryStatus, LedgerEntry

EARLIEST = dt.date(2000, 1, 1)
MAX_ENTRIES = 5000
AREA_CODE = r"^([0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$"


class PeriodFields(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="First day (Asia/Shanghai); default 1 January this year"
    )
    end = serializers.DateField(
        required=False, help_text="Day after the last (exclusive); default tomorrow"
    )

    def validate(self, data: dict) -> dict:
        today = timezone.localdate()
        start = data.get("start") or dt.date(today.year, 1, 1)
        end = data.get("end") or today + dt.timedelta(days=1)
        if start < EARLIEST:
            raise serializers.ValidationError(
                {"start": _("Periods start on or after %(day)s.") % {"day": EARLIEST}}
            )
        if end <= start:
            raise serializers.ValidationError(
                {"end": _("end must be after start (end is exclusive).")}
            )
        if end > dt.date(2100, 1, 1):
            raise serializers.ValidationError({"end": _("end must be before 2100.")})
        data["period"] = figures.Period(start, end)
        return data


class FiguresQuery(PeriodFields):
    level = serializers.ChoiceField(choices=figures.LEVELS, default="street")
    area = serializers.RegexField(
        AREA_CODE,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only rows and entries under this area code",
    )


class EntriesQuery(PeriodFields):
    area = serializers.RegexField(
        AREA_CODE,
        required=False,
        allow_blank=True,
        default="",
        help_text="Area or grid code (prefix)",
    )
    status = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Comma-separated: " + ", ".join(EntryStatus.values),
    )
    kind = serializers.ChoiceField(
        choices=EntryKind.values, required=False, allow_blank=True, default=""
    )
    figure = serializers.ChoiceField(
        choices=figures.DRILLABLE,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only the entries behind this figure of the period",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ENTRIES, default=MAX_ENTRIES
    )

    def validate_status(self, value: str) -> list[str]:
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in EntryStatus.values]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown status: %(s)s. Known: %(known)s.")
                % {"s": ", ".join(unknown), "known": ", ".join(EntryStatus.values)}
            )
        return statuses


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _drill(code: str, period: figures.Period) -> dict:
    base = "/api/campaigns/construction/entries/?"
    return {
        figure: base
        + urlencode(
            {
                **({"area": code} if code else {}),
                "figure": figure,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            }
        )
        for figure in figures.DRILLABLE
    }


@extend_schema(parameters=[FiguresQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def construction(request):
    """违法建设 figures per area and period: new, existing, demolished, open, zero growth, targets."""
    q = _query(FiguresQuery, request)
    scope = figure_scope(request.user, q["area"])
    period = q["period"]
    rows = figures.construction_rows(level=q["level"], period=period, scope=scope)
    for row in rows:
        row["entries"] = _drill(row["code"] or scope, period)
    return Response(
        {
            "level": q["level"],
            "start": period.start,
            "end": period.end,
            "area": scope,
            "year_elapsed": rows[0]["year_elapsed"] if rows else None,
            "results": rows,
        }
    )


def entry_dict(entry: LedgerEntry) -> dict:
    link_case = entry.origin_case
    return {
        "id": entry.pk,
        "number": entry.number,
        "kind": entry.kind,
        "status": entry.status,
        "status_display": entry.get_status_display(),
        "source": entry.source,
        "area_m2": float(entry.area_m2),
        "demolished_m2": float(entry.demolished_m2),
        "structure": entry.structure,
        "use": entry.use,
        "found_on": entry.found_on.isoformat(),
        "lon": entry.lon,
        "lat": entry.lat,
        "address": entry.address,
        "grid": entry.grid_code or None,
        "street": entry.grid_code[:9] or None,
        "case": {"id": link_case.pk, "number": link_case.number, "status": link_case.status}
        if link_case
        else None,
        "closed_at": entry.closed_at.isoformat() if entry.closed_at else None,
    }


@extend_schema(parameters=[EntriesQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def construction_entries(request):
    """The 违建台账 ledger the reader may see, filtered; `figure` (+ start/end) lists the entries behind
    one figure of the figures table."""
    q = _query(EntriesQuery, request)
    scope = entry_scope(request.user)
    entries = LedgerEntry.objects.all()
    if scope is not None:
        entries = entries.filter(pk__in=LedgerEntry.objects.filter(scope).values("pk"))
    if q["figure"]:
        entries = figures.entries_for_figure(
            entries.filter(pk__in=figures.counted_entries().values("pk")),
            figure=q["figure"],
            period=q["period"],
        )
    if q["area"]:
        entries = entries.filter(grid_code__startswith=q["area"])
    if q["status"]:
        entries = entries.filter(status__in=q["status"])
    if q["kind"]:
        entries = entries.filter(kind=q["kind"])
    total = entries.count()
    rows = [
        entry_dict(e)
        for e in entries.select_related("origin_case").order_by("-found_on", "-id")[: q["limit"]]
    ]
    return Response({"count": total, "truncated": total > len(rows), "results": rows})


@extend_schema(parameters=[FiguresQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def dumping(request):
    """渣土 figures per area and period: cases, m³, night cases, median response (report → first dispatch)."""
    q = _query(FiguresQuery, request)
    scope = figure_scope(request.user, q["area"])
    period = q["period"]
    rows = figures.dumping_rows(level=q["level"], period=period, scope=scope)
    settings = figures.CampaignSettings.current()
    return Response(
        {
            "level": q["level"],
            "start": period.start,
            "end": period.end,
            "area": scope,
            "night": {
                "start": settings.night_start.strftime("%H:%M"),
                "end": settings.night_end.strftime("%H:%M"),
            },
            "response": "report → first dispatch, calendar minutes",
            "results": rows,
        }
    )
