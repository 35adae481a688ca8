"""Patrol API for the mobile app: track points, daily coverage, and two small case lookups the
report and "my reports" screens need. Thin views."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backend.openapi import errors
from cases.access import visible_cases
from cases.duplicates import duplicate_candidates
from cases.models import Case
from cases.serializers import case_row, duplicate_list
from grids.models import GridAssignment
from patrol import coverage, summary, tracks
from patrol.serializers import (
    CoverageQuery,
    MineQuery,
    NearbyQuery,
    TrackQuery,
    UnpatrolledQuery,
    coverage_dict,
    parse_batch,
    track_dict,
)
from people.models import Role


@extend_schema(request=dict, responses={200: dict, **errors(400, 403)})
@api_view(["POST"])
def points(request):
    """A batch of ≤ 500 track points `{"points": [{"id", "lon", "lat", "accuracy", "at"}]}`;
    idempotent by point id. Officers only. A bad point → 400 naming its index and field, and
    nothing is written."""
    if request.user.role != Role.OFFICER:
        raise PermissionDenied("Only patrol officers send track points.")
    recorded = tracks.record_points(request.user, parse_batch(request.data))
    return Response({"accepted": recorded.accepted, "duplicates": recorded.duplicates})


@extend_schema(parameters=[CoverageQuery], responses={200: dict, **errors(400, 403, 404)})
@api_view(["GET"])
def coverage_view(request):
    """Patrol coverage (docs/domain.md §8; rules in docs/patrol.md). With `level` (officer, grid,
    community, street, city) and `day` or `start`+`end`: `{"level", "start", "end", "days",
    "results": [{"code", "name", "assigned", "patrolled", "coverage"} …]}`, officers' rows with
    `id`, `on_duty_minutes`, `distance_km`. Without `level`: one day per officer and grid, the
    mobile app's shape. Officers read their own, centre roles their area's, administrators all."""
    query = CoverageQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    _check_coverage_query(query.validated_data)
    v = query.validated_data
    officers = coverage.officers_visible_to(request.user)
    if officers is None:
        raise PermissionDenied("Patrol coverage is for officers, the centre and administrators.")
    officer = None
    if ref := v.get("officer"):
        officer = coverage.officer_named(officers, ref)
        if officer is None:
            raise Http404("No officer by that id or username is visible to you.")
        officers = officers.filter(pk=officer.pk)
    if not v.get("level"):
        day = v.get("day") or timezone.localdate()
        return Response(coverage_dict(coverage.daily_coverage(day, officers)))
    if v.get("start"):
        first, last = v["start"], v["end"]
        days = coverage.working_days(first, last)
    else:
        first = last = v.get("day") or timezone.localdate()
        days = [first]
    grids = coverage.grids_visible_to(request.user, start=first, end=last)
    if officer is not None:
        grids = grids.filter(
            pk__in=GridAssignment.objects.overlapping(first, last)
            .filter(officer=officer)
            .values("grid_id")
        )
    rows = coverage.coverage_table(level=v["level"], days=days, grids=grids, officers=officers)
    return Response(
        {
            "level": v["level"],
            "start": first.isoformat(),
            "end": last.isoformat(),
            "days": len(days),
            "results": rows,
        }
    )


@extend_schema(parameters=[UnpatrolledQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def unpatrolled_view(request):
    """Grids not patrolled on `day` (today by default), or with `days=N` not patrolled for N
    working days in a row up to `day` (empty N: the settings' value, 3). Longest streak first:
    `{"day", "days", "results": [{"code", "name", "community", "street", "officers", "days", "since",
    "last_patrolled"}]}`. Same readers as coverage."""
    query = UnpatrolledQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    v = query.validated_data
    day = v.get("day") or timezone.localdate()
    grids = coverage.grids_visible_to(request.user, start=day, end=day)
    if grids is None:
        raise PermissionDenied("Patrol coverage is for officers, the centre and administrators.")
    min_days = v.get("days") or 1
    rows = coverage.unpatrolled_grids(day=day, min_days=min_days, grids=grids)
    return Response({"day": day.isoformat(), "days": min_days, "results": rows})


@extend_schema(parameters=[TrackQuery], responses={200: dict, **errors(400, 403, 404)})
@api_view(["GET"])
def track_view(request):
    """One officer's track of one day, for the console's map: every stored point in time order
    with whether it counts (docs/patrol.md), 在岗时长, 里程 and the grids visited. Same readers as
    coverage."""
    query = TrackQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    v = query.validated_data
    officers = coverage.officers_visible_to(request.user)
    if officers is None:
        raise PermissionDenied("Patrol tracks are for officers, the centre and administrators.")
    officer = coverage.officer_named(officers, v["officer"])
    if officer is None:
        raise Http404("No officer by that id or username is visible to you.")
    day = v.get("day") or timezone.localdate()
    return Response(track_dict(officer, day, summary.track_of_day(officer_id=officer.pk, day=day)))


def _check_coverage_query(v: dict) -> None:
    """Ids are ASCII digits ("²" and "١٢" are digits to str.isdigit()); days a working calendar can hold."""
    ref = v.get("officer") or ""
    if ref.isdigit() and not ref.isascii():
        raise ValidationError({"officer": ["An officer id is written in ASCII digits (0-9)."]})
    day = v.get("day")
    if day is not None and not dt.date(1970, 1, 1) <= day <= dt.date(8999, 12, 31):
        raise ValidationError({"day": ["Give a day between 1970-01-01 and 8999-12-31."]})


@extend_schema(parameters=[NearbyQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def nearby(request):
    """Possible duplicates before a report is sent: open cases of this small class near the point
    in the last 72 h (the same list `POST /api/cases/` answers with in `duplicates`)."""
    query = NearbyQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    v = query.validated_data
    found = duplicate_candidates(
        category_id=v["category"], lon=v["lon"], lat=v["lat"], among=visible_cases(request.user)
    )  # never a case the caller may not see
    return Response({"results": duplicate_list(found)})


@extend_schema(parameters=[MineQuery], responses={200: dict, **errors(400, 403)})
@api_view(["GET"])
def mine(request):
    """The signed-in person's own reports, newest first, in the list shape of `GET /api/cases/`."""
    query = MineQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    rows = (
        Case.objects.filter(reporter=request.user)
        .select_related("category", "grid", "unit")
        .order_by("-id")[: query.validated_data["limit"]]
    )
    now = timezone.now()
    return Response({"results": [case_row(c, now) for c in rows]})
