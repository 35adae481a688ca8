"""Shapes of patrol data: validation of point batches and queries (never saving), and output."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.serializers import MAX_ID, MIN_ID
from patrol.coverage import LEVELS, MAX_PERIOD_DAYS, Coverage
from patrol.models import PatrolSettings
from patrol.tracks import MAX_BATCH, PointIn

# A phone's clock may run a little fast; a point from further in the future is refused. Points
# queued offline may be old, but not older than the phone keeps them.
CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_AGE = dt.timedelta(days=30)


class PointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    accuracy = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=100_000
    )
    at = serializers.DateTimeField()

    def validate_at(self, value: dt.datetime) -> dt.datetime:
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError(_("Recorded in the future: check the phone's clock."))
        if value < now - MAX_AGE:
            raise serializers.ValidationError(
                _("Older than %(days)d days.") % {"days": MAX_AGE.days}
            )
        return value


def parse_batch(data: object) -> list[PointIn]:
    """The batch's points, or a ValidationError naming each bad point's index and field:
    {"detail": "points[3].lat: …", "points": {"3": {"lat": ["…"]}}}. All or nothing."""
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list):
        raise serializers.ValidationError(
            {"points": [_('Send {"points": [...]}: a list of points.')]}
        )
    if len(points) > MAX_BATCH:
        raise serializers.ValidationError(
            {"points": [_("At most %(n)d points per batch.") % {"n": MAX_BATCH}]}
        )
    parsed, errors = [], {}
    for i, raw in enumerate(points):
        point = PointSerializer(data=raw) if isinstance(raw, dict) else None
        if point is None:
            errors[str(i)] = {"non_field_errors": [str(_("A point is an object."))]}
        elif not point.is_valid():
            errors[str(i)] = {
                name: [str(m) for m in messages] for name, messages in point.errors.items()
            }
        else:
            v = point.validated_data
            parsed.append(
                PointIn(
                    id=v["id"], lon=v["lon"], lat=v["lat"], accuracy=v.get("accuracy"), at=v["at"]
                )
            )
    if errors:
        first, fields = next(iter(errors.items()))
        name, messages = next(iter(fields.items()))
        raise serializers.ValidationError(
            {"detail": f"points[{first}].{name}: {messages[0]}", "points": errors}
        )
    return parsed


class CoverageQuery(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=LEVELS,
        required=False,
        help_text=_(
            "Rows per officer, grid, community, street or the city; without it, the day's coverage "
            "per officer and grid in the mobile app's shape"
        ),
    )
    day = serializers.DateField(
        required=False, help_text=_("YYYY-MM-DD (Asia/Shanghai); today by default")
    )
    start = serializers.DateField(
        required=False, help_text=_("First day of a period (with end and level)")
    )
    end = serializers.DateField(required=False, help_text=_("Last day of a period, inclusive"))
    officer = serializers.CharField(
        required=False, max_length=150, help_text=_("Officer id or username")
    )

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"end" if end is None else "start": [_("Give both start and end.")]}
            )
        if start is not None:
            if attrs.get("day"):
                raise serializers.ValidationError(
                    {"day": [_("Give either day or start and end, not both.")]}
                )
            if not attrs.get("level"):
                raise serializers.ValidationError({"level": [_("A period needs a level.")]})
            if end < start:
                raise serializers.ValidationError({"end": [_("The end is before the start.")]})
            if (end - start).days + 1 > MAX_PERIOD_DAYS:
                raise serializers.ValidationError(
                    {"end": [_("At most %(n)d days.") % {"n": MAX_PERIOD_DAYS}]}
                )
        return attrs


class UnpatrolledQuery(serializers.Serializer):
    day = serializers.DateField(required=False, help_text=_("YYYY-MM-DD; today by default"))
    days = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=3,
        help_text=_(
            "Only grids not patrolled for this many working days in a row, 1–60 (empty: the settings' "
            "value, 3 by default); without it, every grid not patrolled on the day"
        ),
    )

    def validate_days(self, value: str) -> int:
        if value == "":
            return PatrolSettings.current().unpatrolled_days
        if not value.isdigit() or not 1 <= int(value) <= 60:
            raise serializers.ValidationError(_("A whole number of days from 1 to 60."))
        return int(value)


class TrackQuery(serializers.Serializer):
    officer = serializers.CharField(max_length=150, help_text=_("Officer id or username"))
    day = serializers.DateField(required=False, help_text=_("YYYY-MM-DD; today by default"))


class NearbyQuery(serializers.Serializer):
    category = serializers.IntegerField(
        min_value=MIN_ID, max_value=MAX_ID, help_text=_("Small class id")
    )
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)


class MineQuery(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def coverage_dict(coverage: Coverage) -> dict:
    return {
        "day": coverage.day.isoformat(),
        "assigned": coverage.assigned,
        "patrolled": coverage.patrolled,
        "coverage": _rate(coverage.rate),
        "officers": [
            {
                "officer": {
                    "id": o.officer.pk,
                    "username": o.officer.username,
                    "name": o.officer.get_full_name() or o.officer.username,
                },
                "assigned_grids": o.assigned,
                "patrolled_grids": o.patrolled,
                "assigned": len(o.assigned),
                "patrolled": len(o.patrolled),
                "coverage": _rate(o.rate),
                "points": o.points,
            }
            for o in coverage.officers
        ],
        "grids": [
            {
                "code": g.grid.code,
                "name": g.grid.name,
                "patrolled": g.patrolled,
                "officers": g.officers,
            }
            for g in coverage.grids
        ],
    }


def track_dict(officer, day: dt.date, track) -> dict:
    from grids.models import Grid

    s = track.summary
    codes = dict(
        Grid.objects.filter(
            pk__in=set(s.grids) | {g for _f, _ok, g in track.points if g}
        ).values_list("pk", "code")
    )
    names = dict(Grid.objects.filter(pk__in=list(codes)).values_list("pk", "name"))
    return {
        "officer": {
            "id": officer.pk,
            "username": officer.username,
            "name": officer.get_full_name() or officer.username,
        },
        "day": day.isoformat(),
        "points_stored": s.points,
        "points_counted": sum(s.counted),
        "on_duty_minutes": round(s.on_duty_seconds / 60),
        "distance_km": round(s.distance_m / 1000, 2),
        "first_at": s.first_at.isoformat() if s.first_at else None,
        "last_at": s.last_at.isoformat() if s.last_at else None,
        "points": [
            {
                "lon": f.lon,
                "lat": f.lat,
                "at": f.at.isoformat(),
                "counted": ok,
                "grid": codes.get(g),
            }
            for f, ok, g in track.points
        ],
        "grids": [
            {
                "code": codes.get(g),
                "name": names.get(g, ""),
                "points": v.points,
                "patrolled": v.patrolled,
                "visit_points": v.visit_points,
                "visit_minutes": round(v.visit_seconds / 60, 1),
            }
            for g, v in sorted(s.grids.items(), key=lambda kv: codes.get(kv[0], ""))
        ],
    }
