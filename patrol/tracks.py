"""Recording track points (DOMAIN.md §8): batches from the phone, idempotent by point id, each
batch summarised into the officer's days in its own transaction (patrol/summary.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from grids.geo import NO_GRID, grid_index
from patrol.models import TrackPoint
from patrol.summary import Rules, local_day, summarise_days
from people.models import User

MAX_BATCH = 500


@dataclass(frozen=True)
class PointIn:
    """One validated point as the phone sent it."""

    id: uuid.UUID
    lon: float
    lat: float
    accuracy: float | None
    at: dt.datetime


@dataclass(frozen=True)
class Recorded:
    accepted: int  # points in the batch, all stored now
    duplicates: int  # of those, stored before (a replayed batch, or a repeated id)


def record_points(officer: User, points: list[PointIn], *, now: dt.datetime | None = None,
                  rules: Rules | None = None) -> Recorded:
    """Store the points not seen before, each with the grid it falls in, and bring the summaries
    of the days they fall on up to date, in one transaction.

    Rules: a point id is stored once, whoever sends it again (a replayed batch inserts nothing
    twice: `bulk_create(ignore_conflicts=True)` on the unique point id, so concurrent replays are
    safe too); the grid comes from the grid index in force now (grids.geo), with the distance to
    it: 0 inside, > 0 snapped within the snap distance, none outside. Points are stored whatever
    their order or plausibility; which of them count is patrol.summary's business. One officer's
    batches are serialised (a lock on the officer's row) so their day summaries never race.
    Any number of points (the API caps a batch at MAX_BATCH; the demo sends weeks at once).
    Side effects: inserts TrackPoint rows, replaces the OfficerDay/GridDay rows of the days touched.
    """
    now = now or timezone.now()
    unique = list({p.id: p for p in reversed(points)}.values())[::-1]  # first of each id wins
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=officer.pk).values_list("pk").first()
        known = set()
        ids = [p.id for p in unique]
        for i in range(0, len(ids), 500):
            known.update(TrackPoint.objects.filter(point_id__in=ids[i:i + 500]).values_list("point_id", flat=True))
        fresh = [p for p in unique if p.id not in known]
        if fresh:
            index = grid_index()
            found, distance = index.locate_many(np.array([p.lon for p in fresh]), np.array([p.lat for p in fresh]))
            rows = []
            for p, position, dist in zip(fresh, found, distance):
                inside = position != NO_GRID
                rows.append(TrackPoint(
                    officer=officer, point_id=p.id, lon=p.lon, lat=p.lat, accuracy_m=p.accuracy,
                    recorded_at=p.at, received_at=now,
                    grid_id=int(index.ids[position]) if inside else None,
                    grid_distance_m=round(float(dist), 2) if inside else None,
                ))
            TrackPoint.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
            summarise_days(officer_id=officer.pk, days={local_day(p.at) for p in fresh}, rules=rules)
    return Recorded(accepted=len(points), duplicates=len(points) - len(fresh))
