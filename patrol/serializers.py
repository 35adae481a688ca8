"""Shapes of patrol data: validation of point batches and queries (never saving), and output."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.serializers import MAX_ID, MIN_ID
from patrol.coverage import Coverage
from patrol.tracks import MAX_BATCH, PointIn

# A phone's clock may run a little fast; a point from further in the future is refused. Points
# queued offline may be old, but not older than the phone keeps them.
CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_AGE = dt.timedelta(days=30)


class PointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    accuracy = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100_000)
    at = serializers.DateTimeField()

    def validate_at(self, value: dt.datetime) -> dt.datetime:
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError(_("Recorded in the future: check the phone's clock."))
        if value < now - MAX_AGE:
            raise serializers.ValidationError(_("Older than %(days)d days.") % {"days": MAX_AGE.days})
        return value


def parse_batch(data: object) -> list[PointIn]:
    """The batch's points, or a ValidationError naming each bad point's index and field:
    {"detail": "points[3].lat: …", "points": {"3": {"lat": ["…"]}}}. All or nothing."""
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list):
        raise serializers.ValidationError({"points": [_("Send {\"points\": [...]}: a list of points.")]})
    if len(points) > MAX_BATCH:
        raise serializers.ValidationError({"points": [_("At most %(n)d points per batch.") % {"n": MAX_BATCH}]})
    parsed, errors = [], {}
    for i, raw in enumerate(points):
        point = PointSerializer(data=raw) if isinstance(raw, dict) else None
        if point is None:
            errors[str(i)] = {"non_field_errors": [str(_("A point is an object."))]}
        elif not point.is_valid():
            errors[str(i)] = {name: [str(m) for m in messages] for name, messages in point.errors.items()}
        else:
            v = point.validated_data
            parsed.append(PointIn(id=v["id"], lon=v["lon"], lat=v["lat"], accuracy=v.get("accuracy"), at=v["at"]))
    if errors:
        first, fields = next(iter(errors.items()))
        name, messages = next(iter(fields.items()))
        raise serializers.ValidationError({"detail": f"points[{first}].{name}: {messages[0]}", "points": errors})
    return parsed


class CoverageQuery(serializers.Serializer):
    day = serializers.DateField(required=False, help_text=_("YYYY-MM-DD (Asia/Shanghai); today by default"))
    officer = serializers.CharField(required=False, max_length=150, help_text=_("Officer id or username"))


class NearbyQuery(serializers.Serializer):
    category = serializers.IntegerField(min_value=MIN_ID, max_value=MAX_ID, help_text=_("Small class id"))
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)


class MineQuery(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def coverage_dict(coverage: Coverage) -> dict:
    return {
        "day": coverage.day.isoformat(),
        "assigned": coverage.assigned, "patrolled": coverage.patrolled, "coverage": _rate(coverage.rate),
        "officers": [{
            "officer": {"id": o.officer.pk, "username": o.officer.username,
                        "name": o.officer.get_full_name() or o.officer.username},
            "assigned_grids": o.assigned, "patrolled_grids": o.patrolled,
            "assigned": len(o.assigned), "patrolled": len(o.patrolled), "coverage": _rate(o.rate),
            "points": o.points,
        } for o in coverage.officers],
        "grids": [{"code": g.grid.code, "name": g.grid.name, "patrolled": g.patrolled, "officers": g.officers}
                  for g in coverage.grids],
    }
