"""Possible duplicates (docs/domain.md §4): open cases of the same small class within the class's radius
(default 30 m) reported in the last 72 hours."""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import ExpressionWrapper, F, FloatField, QuerySet
from django.utils import timezone

from cases.models import Case

WINDOW = dt.timedelta(hours=72)
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def duplicate_candidates(
    *,
    category_id: int,
    lon: float | None,
    lat: float | None,
    exclude_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = 10,
    radius: float | None = None,
    among: QuerySet[Case] | None = None,
) -> list[tuple[Case, float]]:
    """(case, distance in m) pairs, nearest first. Uses the (lon, lat) index for a bbox first.
    `among` limits the candidates (callers answering a person pass `visible_cases(user)`);
    `radius`: the class's radius when the caller has it (else read from its case standard)."""
    if lon is None or lat is None:
        return []
    from cases.models import CaseStandard

    if radius is None:
        radius = (
            CaseStandard.objects.filter(small_class_id=category_id)
            .values_list("duplicate_radius_m", flat=True)
            .first()
            or 30
        )
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlat = radius / 110_540
    dlon = radius / (111_320 * cos_lat)
    now = now or timezone.now()
    # The nearest first, in SQL, and only as many rows as asked (a few more for the exact check): a
    # hot spot with hundreds of open reports of one class must not load them all on every report.
    # Ordered by the plane distance in degrees (longitude scaled by cos(latitude)), which orders
    # points within a few hundred metres as the haversine distance does; the haversine decides.
    east, north = (F("lon") - lon) * cos_lat, F("lat") - lat
    nearby = (
        (among if among is not None else Case.objects.all())
        .open()
        .filter(
            category_id=category_id,
            reported_at__gte=now - WINDOW,
            lon__range=(lon - dlon, lon + dlon),
            lat__range=(lat - dlat, lat + dlat),
        )
        .exclude(pk=exclude_id)
        .alias(plane=ExpressionWrapper(east * east + north * north, output_field=FloatField()))
        .order_by("plane", "pk")
        .select_related("grid")
        .defer("grid__geometry")[: limit + 5]  # a grid's outline is kilobytes, never shown here
    )
    found = [(c, distance_m(lon, lat, c.lon, c.lat)) for c in nearby]
    return sorted([(c, d) for c, d in found if d <= radius], key=lambda pair: pair[1])[:limit]
