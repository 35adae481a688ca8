"""The demo city's patrol history (demo mode only): officers walking their grids on the working days
of the last weeks, stored through the same service as the phone's batches (patrol.tracks), so the
summaries, coverage figures and lists show something real.

Each officer starts between 08:30 and 10:00 in one of their grids, walks about in it for 6–12
minutes at 4–5 km/h (a point every 30 s, a few metres of GPS noise), walks to the nearest grid not
yet done, and so on: one round of the day's grids (the phone off over lunch). Real patrols have
gaps: officers are absent some days (and one in twelve for a week), every officer neglects a grid or
two, and a few officers are less diligent than the rest."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections import defaultdict

import shapely
from django.utils import timezone

from grids.models import GridAssignment
from patrol.coverage import working_days
from patrol.models import TrackPoint
from patrol.tracks import PointIn, record_points
from people.models import User

STEP_S = 30
M_PER_DEG = 111_195.0


def demo_tracks(
    *, weeks: int = 2, now: dt.datetime | None = None, seed: int = 8, since: dt.date | None = None
) -> int:
    """Make the tracks of the last `weeks` weeks up to `now` (today's so far) unless any track point
    exists; returns the number of points stored. `since`: the days from that one only, after a
    restored history that ends there (backend/demo_fixture.py)."""
    if since is None and TrackPoint.objects.exists():
        return 0
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = working_days(since or today - dt.timedelta(days=7 * weeks), today)
    rng = random.Random(seed if since is None else seed + since.toordinal())
    grids_of: dict[int, list] = defaultdict(list)
    for a in (
        GridAssignment.objects.in_force(today)
        .select_related("grid")
        .order_by("officer_id", "grid__code")
    ):
        grids_of[a.officer_id].append(a.grid)
    stored = 0
    for officer in User.objects.filter(pk__in=list(grids_of)).order_by("pk"):
        points = [p for p in officer_history(grids_of[officer.pk], days, rng) if p.at <= now]
        if points:
            record_points(officer, points)
            stored += len(points)
    return stored


def officer_history(grids: list, days: list[dt.date], rng: random.Random) -> list[PointIn]:
    shapes = {g.pk: shapely.from_geojson(g.geometry) for g in grids if g.geometry}
    if not shapes:
        return []
    diligence = rng.uniform(0.35, 0.6) if rng.random() < 0.15 else rng.uniform(0.8, 0.97)
    neglected = set(rng.sample(sorted(shapes), k=min(len(shapes) - 1, rng.choice([0, 1, 1, 2]))))
    leave_start = rng.randrange(len(days)) if rng.random() < 1 / 12 and days else None
    points: list[PointIn] = []
    for i, day in enumerate(days):
        if leave_start is not None and leave_start <= i < leave_start + 5:
            continue
        if rng.random() < 0.06:  # absent
            continue
        todo = [pk for pk in shapes if rng.random() < (0.15 if pk in neglected else diligence)]
        if todo:
            points.extend(_walk_day(day, [shapes[pk] for pk in todo], rng))
    return points


def _walk_day(
    day: dt.date, shapes: list, rng: random.Random, *, hours: tuple[dt.time, dt.time] | None = None
) -> list[PointIn]:
    """One officer-day: one round of `shapes` from about 08:30 (6–12 minutes in each, the nearest
    next), or rounds over and over for exactly `hours` (the benchmark's 8-hour days)."""
    tz = timezone.get_default_timezone()
    if hours:
        t, end = dt.datetime.combine(day, hours[0], tz), dt.datetime.combine(day, hours[1], tz)
        lunch = back = end
    else:
        t = dt.datetime.combine(day, dt.time(8, 30), tz) + dt.timedelta(
            seconds=rng.randrange(0, 5400)
        )
        lunch = dt.datetime.combine(day, dt.time(12, 0), tz) + dt.timedelta(
            seconds=rng.randrange(-600, 900)
        )
        back = dt.datetime.combine(day, dt.time(13, 30), tz) + dt.timedelta(
            seconds=rng.randrange(0, 900)
        )
        end = dt.datetime.combine(day, dt.time(17, 0), tz)
    speed = rng.uniform(1.1, 1.35)  # m/s: 4–5 km/h
    out: list[PointIn] = []
    remaining = list(shapes)
    here = _inside(remaining[0], rng)
    while t < end:
        if not remaining:
            if not hours:
                break
            remaining = list(shapes)  # another round
        nearest = min(remaining, key=lambda s: shapely.distance(s.centroid, shapely.Point(here)))
        remaining.remove(nearest)
        here, t = _go(here, _inside(nearest, rng), t, speed, out, rng, until=end)  # to the grid
        stop = t + dt.timedelta(minutes=rng.uniform(6, 12) if not hours else rng.uniform(8, 20))
        while t < stop and t < end and not (t >= lunch > t - dt.timedelta(minutes=20)):
            here, t = _go(
                here, _inside(nearest, rng), t, speed, out, rng, until=min(stop, end)
            )  # about in it
        if lunch <= t < back:
            t = back
    return out


def _inside(shape, rng: random.Random) -> tuple[float, float]:
    x0, y0, x1, y1 = shape.bounds
    for _ in range(50):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(shape, x, y):
            return x, y
    c = shape.representative_point()
    return c.x, c.y


def _go(here, there, t, speed, out: list[PointIn], rng: random.Random, *, until) -> tuple:
    """Walk from `here` towards `there` from `t`, a point every 30 s, stopping at `until`;
    returns (where it got to, time)."""
    coslat = math.cos(math.radians(here[1]))
    dx, dy = (there[0] - here[0]) * M_PER_DEG * coslat, (there[1] - here[1]) * M_PER_DEG
    steps = max(1, int(math.hypot(dx, dy) / (speed * STEP_S)))
    at = here
    for i in range(1, steps + 1):
        t += dt.timedelta(seconds=STEP_S)
        if t >= until:
            break
        k = i / steps
        at = (here[0] + (there[0] - here[0]) * k, here[1] + (there[1] - here[1]) * k)
        x = at[0] + rng.gauss(0, 3) / (M_PER_DEG * coslat)
        y = at[1] + rng.gauss(0, 3) / M_PER_DEG
        out.append(
            PointIn(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                lon=round(x, 7),
                lat=round(y, 7),
                accuracy=round(rng.uniform(4, 15), 1),
                at=t,
            )
        )
    return at, t
