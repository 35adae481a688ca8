"""The patrol rules of docs/domain.md §8 (docs/patrol.md): the dwell rule, assignment history, 在岗时长 and
里程, coverage per level and period, the not-patrolled lists, and bad points — through the service
the phone's batches go through and the API the console reads."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from cases.access import is_officer_of_grid, visible_cases
from grids.assignments import set_officer_grids
from grids.models import GridAssignment
from patrol.models import GridDay, OfficerDay, PatrolSettings, TrackPoint
from patrol.tracks import PointIn, record_points
from people.models import Role
from tests.cast import GRID_A, GRID_B, IN_A, make_cast, report
from tests.factories import make_grid, make_user
from worktime.models import Source, WorkingDay

pytestmark = pytest.mark.django_db

IN_B = (120.7605, 31.3305)
R = 6_371_008.8


def at(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hh, mm, ss)))


def fix(where, when: dt.datetime, accuracy: float | None = 5.0) -> PointIn:
    return PointIn(id=uuid.uuid4(), lon=where[0], lat=where[1], accuracy=accuracy, at=when)


def stay(
    where, start: dt.datetime, *, n: int = 3, every: dt.timedelta = dt.timedelta(minutes=3)
) -> list[PointIn]:
    return [fix(where, start + i * every) for i in range(n)]


def every_day_a_workday(first: dt.date, last: dt.date) -> None:
    """Pin the working calendar of [first, last] so the tests do not depend on holidays."""
    day = first
    while day <= last:
        WorkingDay.objects.update_or_create(
            date=day, defaults={"is_workday": True, "source": Source.MANUAL}
        )
        day += dt.timedelta(days=1)


def holiday(day: dt.date) -> None:
    WorkingDay.objects.update_or_create(
        date=day, defaults={"is_workday": False, "source": Source.MANUAL}
    )


def api(client: Client, path: str, **params):
    response = client.get(f"/api/patrol/{path}", params)
    assert response.status_code == 200, response.content
    return response.json()


def grid_patrolled(cast, day: dt.date) -> bool:
    rows = api(cast.client(cast.dispatcher), "coverage", level="grid", day=day.isoformat())[
        "results"
    ]
    return {r["code"]: r["patrolled"] for r in rows}.get(cast.grid.code) == 1


# --- the dwell rule -------------------------------------------------------------------------------


def test_three_points_over_six_minutes_in_a_grid_is_a_patrol():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    record_points(cast.officer, stay(IN_A, at(day, 9), n=3))  # 09:00, 09:03, 09:06
    assert grid_patrolled(cast, day)
    row = GridDay.objects.get(officer=cast.officer, grid=cast.grid, day=day)
    assert (row.points, row.visit_points, row.visit_seconds, row.patrolled) == (3, 3, 360, True)


@pytest.mark.parametrize(
    "track",
    [
        pytest.param(lambda d: [fix(IN_A, at(d, 9))], id="one point"),
        pytest.param(
            lambda d: stay(IN_A, at(d, 9), n=3, every=dt.timedelta(seconds=30)),
            id="three points in one minute",
        ),
        pytest.param(
            lambda d: stay(IN_A, at(d, 9), n=2, every=dt.timedelta(minutes=10)),
            id="two points over ten minutes",
        ),
        # Three passes hours apart are three visits of one point each, not a stay.
        pytest.param(
            lambda d: stay(IN_A, at(d, 9), n=3, every=dt.timedelta(hours=2)), id="three passes"
        ),
    ],
)
def test_a_passing_track_is_not_a_patrol(track):
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    record_points(cast.officer, track(day))
    assert not grid_patrolled(cast, day)
    assert not GridDay.objects.filter(patrolled=True).exists()


def test_the_dwell_rule_is_an_administrators_setting():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    settings = PatrolSettings.current()
    assert (settings.dwell_points, settings.dwell_minutes, settings.unpatrolled_days) == (
        3,
        5,
        3,
    )  # seeded
    settings.dwell_points, settings.dwell_minutes = 2, 1
    settings.save()
    record_points(cast.officer, stay(IN_A, at(day, 9), n=2, every=dt.timedelta(minutes=1)))
    assert grid_patrolled(cast, day)


def test_steps_out_of_the_grid_do_not_end_a_visit_but_a_long_gap_does():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    north = (120.7005, 31.3015)  # the grid north of A, ~110 m away
    make_grid(code="320505006001002", bounds=(120.700, 31.301, 120.701, 31.302))
    # Along the boundary street: in A, across the road, back in A — one visit of 3 points, 6 minutes.
    record_points(
        cast.officer,
        [
            fix(IN_A, at(day, 9, 0)),
            fix(IN_A, at(day, 9, 2)),
            fix(north, at(day, 9, 3)),
            fix(IN_A, at(day, 9, 6)),
        ],
    )
    assert grid_patrolled(cast, day)
    # The next day: twice in A, then again after 16 minutes elsewhere — two visits, no patrol.
    later = day + dt.timedelta(days=1)
    record_points(
        cast.officer,
        [
            fix(IN_A, at(later, 9, 0)),
            fix(IN_A, at(later, 9, 3)),
            fix(north, at(later, 9, 10)),
            fix(IN_A, at(later, 9, 19)),
        ],
    )
    row = GridDay.objects.get(grid=cast.grid, day=later)
    assert (row.points, row.visit_points, row.visit_seconds, row.patrolled) == (3, 2, 180, False)


# --- assignment history ------------------------------------------------------------------------


def test_an_officer_reassigned_mid_week_is_judged_by_each_days_assignment():
    cast = make_cast()
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 14)
    thursday, friday = monday + dt.timedelta(days=3), monday + dt.timedelta(days=4)
    every_day_a_workday(monday, friday)
    GridAssignment.objects.update(since=monday - dt.timedelta(days=7))
    newcomer = make_user(username="newcomer")
    # From Thursday the grid is the newcomer's; the officer keeps nothing there.
    assert set_officer_grids(officer=cast.officer, grid_ids=[], on=thursday) == (1, 0)
    assert set_officer_grids(officer=newcomer, grid_ids=[cast.grid.pk], on=thursday) == (0, 1)
    old = GridAssignment.objects.get(officer=cast.officer)
    assert (old.since, old.until) == (
        monday - dt.timedelta(days=7),
        thursday,
    )  # closed, not deleted

    record_points(cast.officer, stay(IN_A, at(monday, 10)) + stay(IN_A, at(thursday, 10)))
    record_points(newcomer, stay(IN_A, at(friday, 10)))

    assert [grid_patrolled(cast, monday + dt.timedelta(days=i)) for i in range(5)] == [
        True,
        False,
        False,
        False,
        True,
    ]  # Thursday's walk was not the officer's grid any more
    rows = api(
        cast.client(cast.dispatcher),
        "coverage",
        level="officer",
        start=monday.isoformat(),
        end=friday.isoformat(),
    )["results"]
    by_name = {r["username"]: (r["assigned"], r["patrolled"], r["coverage"]) for r in rows}
    assert by_name["officer"] == (3, 1, 0.3333) and by_name["newcomer"] == (2, 1, 0.5)
    grid_row = next(
        r
        for r in api(
            cast.client(cast.dispatcher),
            "coverage",
            level="grid",
            start=monday.isoformat(),
            end=friday.isoformat(),
        )["results"]
        if r["code"] == cast.grid.code
    )
    assert (grid_row["assigned"], grid_row["patrolled"], grid_row["coverage"]) == (5, 2, 0.4)


def test_visibility_and_alerts_follow_the_assignments_in_force_now():
    cast = make_cast()
    case = report(cast, by=cast.acceptor, source="hotline_12345")
    newcomer = make_user(username="newcomer")
    assert visible_cases(cast.officer).filter(pk=case.pk).exists()
    today = timezone.localdate()
    set_officer_grids(officer=cast.officer, grid_ids=[], on=today)
    set_officer_grids(officer=newcomer, grid_ids=[cast.grid.pk], on=today)
    assert not is_officer_of_grid(cast.officer, cast.grid.pk) and is_officer_of_grid(
        newcomer, cast.grid.pk
    )
    assert visible_cases(newcomer).filter(pk=case.pk).exists()
    assert not visible_cases(cast.officer).filter(pk=case.pk).exists()
    from alerts.outbox import grid_officers

    assert list(grid_officers(case)) == [newcomer]
    # A future assignment is not in force yet.
    later = make_user(username="later")
    GridAssignment.objects.create(grid=cast.grid, officer=later, since=today + dt.timedelta(days=1))
    assert not is_officer_of_grid(later, cast.grid.pk)


def test_an_officer_has_one_open_assignment_per_grid():
    from django.db import IntegrityError, transaction

    cast = make_cast()
    with pytest.raises(IntegrityError), transaction.atomic():
        GridAssignment.objects.create(grid=cast.grid, officer=cast.officer)
    set_officer_grids(officer=cast.officer, grid_ids=[], on=timezone.localdate())
    GridAssignment.objects.create(
        grid=cast.grid, officer=cast.officer
    )  # again, after the old row closed
    assert GridAssignment.objects.filter(grid=cast.grid, officer=cast.officer).count() == 2


# --- 在岗时长 and 里程 -------------------------------------------------------------------------------


def test_on_duty_time_and_distance_of_a_hand_built_track():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    lon, lat = 120.650, 31.250  # outside every grid: the figures do not need one
    track, t, y = [], at(day, 9), lat
    for _ in range(10):  # 09:00–09:09, 0.001° north a minute: 9 steps, 9 minutes
        track.append(fix((lon, y), t))
        t, y = t + dt.timedelta(minutes=1), y + 0.001
    t, y = t - dt.timedelta(minutes=1) + dt.timedelta(minutes=15), y - 0.001 + 0.001
    track.append(fix((lon, y), t))  # a gap of exactly 15 minutes counts: 09:24
    t, y = t + dt.timedelta(minutes=16), y + 0.001
    for _ in range(
        5
    ):  # after a 16-minute gap (not counted): 09:40–09:48, 0.002° north every 2 minutes
        track.append(fix((lon, y), t))
        t, y = t + dt.timedelta(minutes=2), y + 0.002
    record_points(cast.officer, list(reversed(track)))  # order of arrival does not matter

    step = R * math.radians(0.001)
    expected_m = 9 * step + 1 * step + 4 * 2 * step
    row = OfficerDay.objects.get(officer=cast.officer, day=day)
    assert row.on_duty_seconds == (9 + 15 + 8) * 60
    assert row.distance_m == pytest.approx(expected_m, abs=0.1)
    assert (row.first_at, row.last_at) == (at(day, 9), at(day, 9, 48))
    body = api(cast.client(cast.dispatcher), "coverage", level="officer", day=day.isoformat())
    mine = next(r for r in body["results"] if r["username"] == "officer")
    assert (mine["on_duty_minutes"], mine["distance_km"]) == (32, round(expected_m / 1000, 2))
    track_body = api(cast.client(cast.dispatcher), "track", officer="officer", day=day.isoformat())
    assert (track_body["on_duty_minutes"], track_body["distance_km"]) == (
        32,
        round(expected_m / 1000, 2),
    )
    assert [p["at"] for p in track_body["points"]] == sorted(p["at"] for p in track_body["points"])


# --- coverage per level ------------------------------------------------------------------------------


def test_coverage_per_grid_community_street_and_city_for_a_day_and_a_period():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=2)
    every_day_a_workday(day, day + dt.timedelta(days=1))
    second = make_grid(
        code="320505006001002", bounds=(120.700, 31.301, 120.701, 31.302), officers=[cast.officer]
    )
    GridAssignment.objects.update(since=day)
    record_points(
        cast.officer,
        stay(IN_A, at(day, 9))
        + stay(IN_A, at(day + dt.timedelta(days=1), 9))
        + stay((120.7005, 31.3015), at(day, 10)),
    )
    record_points(cast.officer_elsewhere, stay(IN_B, at(day, 9)))
    client = cast.client(cast.dispatcher)

    def rows(level, **params):
        return [
            (r["code"], r["assigned"], r["patrolled"], r["coverage"])
            for r in api(client, "coverage", level=level, **params)["results"]
        ]

    one = {"day": day.isoformat()}
    assert rows("grid", **one) == [
        (cast.grid.code, 1, 1, 1.0),
        (second.code, 1, 1, 1.0),
        (cast.other_grid.code, 1, 1, 1.0),
    ]
    period = {"start": day.isoformat(), "end": (day + dt.timedelta(days=1)).isoformat()}
    assert rows("grid", **period) == [
        (cast.grid.code, 2, 2, 1.0),
        (second.code, 2, 1, 0.5),
        (cast.other_grid.code, 2, 1, 0.5),
    ]
    assert rows("community", **period) == [
        ("320505006001", 4, 3, 0.75),
        ("320506009001", 2, 1, 0.5),
    ]
    assert rows("street", **period) == [("320505006", 4, 3, 0.75), ("320506009", 2, 1, 0.5)]
    assert rows("city", **period) == [(None, 6, 4, 0.6667)]
    body = api(client, "coverage", level="community", **period)
    assert body["days"] == 2 and body["results"][0]["name"]
    # An officer reads only their own grids.
    assert [
        r["code"]
        for r in api(cast.client(cast.officer), "coverage", level="grid", **period)["results"]
    ] == [cast.grid.code, second.code]


def test_a_period_counts_working_days_only():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=3)
    every_day_a_workday(day, day + dt.timedelta(days=2))
    holiday(day + dt.timedelta(days=1))
    GridAssignment.objects.update(since=day)
    period = {"start": day.isoformat(), "end": (day + dt.timedelta(days=2)).isoformat()}
    body = api(cast.client(cast.dispatcher), "coverage", level="city", **period)
    assert body["days"] == 2 and body["results"][0]["assigned"] == 4


# --- the not-patrolled lists ---------------------------------------------------------------------------


def test_the_not_patrolled_lists_are_exact():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    every_day_a_workday(day - dt.timedelta(days=60), day)
    g = {
        n: make_grid(
            code=f"320505006001{n:03d}",
            bounds=(120.700, 31.300 + n * 0.001, 120.701, 31.301 + n * 0.001),
            officers=[cast.officer],
        )
        for n in (2, 3, 4, 5)
    }
    GridAssignment.objects.update(since=day - dt.timedelta(days=9))
    GridAssignment.objects.filter(grid=g[5]).update(since=day - dt.timedelta(days=1))

    def centre(grid):
        return (grid.min_lon + grid.max_lon) / 2, (grid.min_lat + grid.max_lat) / 2

    record_points(
        cast.officer,
        stay(IN_A, at(day, 9))  # grid A: patrolled on the day
        + stay(centre(g[2]), at(day - dt.timedelta(days=1), 9))  # 1 day without
        + stay(centre(g[3]), at(day - dt.timedelta(days=3), 9)),
    )  # 3 days without
    # g[4] never (assigned 10 days), g[5] never (assigned 2 days); the other officer's grid never (10).
    client = cast.client(cast.dispatcher)

    def listed(**params):
        body = api(client, "unpatrolled", **params)
        return [(r["code"], r["days"]) for r in body["results"]]

    expected_day = [
        (g[4].code, 10),
        (cast.other_grid.code, 10),
        (g[3].code, 3),
        (g[5].code, 2),
        (g[2].code, 1),
    ]
    assert listed(day=day.isoformat()) == expected_day
    assert listed(day=day.isoformat(), days="3") == expected_day[:3]
    assert listed(day=day.isoformat(), days="") == expected_day[:3]  # the settings' 3
    assert listed(day=day.isoformat(), days="11") == []
    row = next(
        r
        for r in api(client, "unpatrolled", day=day.isoformat())["results"]
        if r["code"] == g[3].code
    )
    assert row["since"] == (day - dt.timedelta(days=2)).isoformat()
    assert row["last_patrolled"] == (day - dt.timedelta(days=3)).isoformat()
    assert [o["username"] for o in row["officers"]] == ["officer"]
    assert row["community"]["code"] == "320505006001" and row["street"]["code"] == "320505006"
    # An officer sees only their own grids in it.
    mine = api(cast.client(cast.officer), "unpatrolled", day=day.isoformat(), days="3")["results"]
    assert [r["code"] for r in mine] == [g[4].code, g[3].code]


def test_a_non_working_day_neither_breaks_nor_extends_a_streak():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    every_day_a_workday(day - dt.timedelta(days=40), day)
    holiday(day - dt.timedelta(days=1))
    GridAssignment.objects.update(since=day - dt.timedelta(days=3))
    record_points(cast.officer, stay(IN_A, at(day - dt.timedelta(days=3), 9)))
    rows = api(cast.client(cast.officer), "unpatrolled", day=day.isoformat())["results"]
    assert [(r["code"], r["days"]) for r in rows] == [
        (cast.grid.code, 2)
    ]  # the day and the day before the holiday


# --- bad input -----------------------------------------------------------------------------------------


def send(client: Client, points: list[PointIn]):
    body = {
        "points": [
            {
                "id": str(p.id),
                "lon": p.lon,
                "lat": p.lat,
                "accuracy": p.accuracy,
                "at": p.at.isoformat(),
            }
            for p in points
        ]
    }
    return client.post("/api/patrol/points", body, content_type="application/json")


def recent_start() -> dt.datetime:
    """A start an hour ago, or at midnight when that would be yesterday."""
    return max(timezone.now() - dt.timedelta(hours=1), at(timezone.localdate(), 0))


def test_points_out_of_order_and_in_several_batches_count_as_in_order():
    cast = make_cast()
    client = cast.client(cast.officer)
    track = stay(IN_A, recent_start(), n=4, every=dt.timedelta(minutes=2))
    assert send(client, [track[3], track[1]]).status_code == 200
    assert not grid_patrolled(cast, timezone.localdate())  # 2 points so far
    assert send(client, [track[2], track[0]]).status_code == 200
    assert grid_patrolled(cast, timezone.localdate())
    assert OfficerDay.objects.get(officer=cast.officer).on_duty_seconds == 360


def test_duplicated_points_count_once():
    cast = make_cast()
    client = cast.client(cast.officer)
    start = recent_start()
    first, last = fix(IN_A, start), fix(IN_A, start + dt.timedelta(minutes=6))
    again = PointIn(
        id=uuid.uuid4(), lon=first.lon, lat=first.lat, accuracy=5.0, at=first.at
    )  # new id, same instant
    assert send(client, [first, again, last]).json() == {"accepted": 3, "duplicates": 0}
    assert send(client, [first, again, last]).json() == {"accepted": 3, "duplicates": 3}
    assert TrackPoint.objects.count() == 3
    assert not grid_patrolled(cast, timezone.localdate())  # two instants, not three points
    row = OfficerDay.objects.get(officer=cast.officer)
    assert (row.points, row.counted) == (3, 2)


def test_a_point_from_the_future_is_refused_and_nothing_is_written():
    cast = make_cast()
    track = stay(IN_A, recent_start()) + [fix(IN_A, timezone.now() + dt.timedelta(hours=2))]
    response = send(cast.client(cast.officer), track)
    assert response.status_code == 400 and response.json()["detail"].startswith("points[3].at: ")
    assert (
        not TrackPoint.objects.exists()
        and not GridDay.objects.exists()
        and not OfficerDay.objects.exists()
    )


def test_a_fix_500_km_away_and_a_10_km_jump_in_30_s_are_stored_but_never_counted():
    cast = make_cast()
    client = cast.client(cast.officer)
    start = recent_start()
    track = []
    for i in range(
        4
    ):  # in A every 2 minutes; between them a fix in B (~6.6 km) 30 s later, once 500 km away
        track.append(fix(IN_A, start + i * dt.timedelta(minutes=2)))
        elsewhere = (115.5, 31.3) if i == 1 else IN_B
        track.append(fix(elsewhere, start + i * dt.timedelta(minutes=2) + dt.timedelta(seconds=30)))
    track.append(fix(IN_A, start + dt.timedelta(minutes=8)))
    track.append(
        fix(IN_A, start + dt.timedelta(minutes=9), accuracy=800)
    )  # too inaccurate to count
    assert send(client, track).status_code == 200
    assert TrackPoint.objects.count() == 10
    today = timezone.localdate()
    GridAssignment.objects.create(
        grid=cast.other_grid, officer=cast.officer
    )  # B is the officer's too now
    rows = {
        r["code"]: r["patrolled"]
        for r in api(cast.client(cast.dispatcher), "coverage", level="grid", day=today.isoformat())[
            "results"
        ]
    }
    assert rows[cast.grid.code] == 1 and rows[cast.other_grid.code] == 0
    row = OfficerDay.objects.get(officer=cast.officer)
    assert row.counted == 5 and row.distance_m == 0 and row.on_duty_seconds == 8 * 60
    body = api(client, "track", officer="officer")
    assert [p["counted"] for p in body["points"]] == [True, False] * 4 + [True, False]


def test_a_track_that_truly_moved_goes_on_from_there():
    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    GridAssignment.objects.create(grid=cast.other_grid, officer=cast.officer, since=day)
    # One fix in A, then the phone reports B (6.6 km) 30 s later and stays there: after 3 points
    # that agree, B is where the officer is.
    record_points(
        cast.officer,
        [fix(IN_A, at(day, 9))]
        + stay(IN_B, at(day, 9, 0, 30), n=12, every=dt.timedelta(seconds=30)),
    )
    row = GridDay.objects.get(grid=cast.other_grid)
    assert (row.points, row.patrolled) == (12, True)
    assert OfficerDay.objects.get(officer=cast.officer).distance_m == 0  # the jump is not walked


@pytest.mark.parametrize(
    "params",
    [
        {"level": "planet"},
        {"level": "grid", "start": "2026-01-02"},
        {"level": "grid", "start": "2026-01-05", "end": "2026-01-01"},
        {"level": "grid", "start": "2024-01-01", "end": "2026-01-01"},
        {"start": "2026-01-01", "end": "2026-01-02"},
        {"level": "grid", "day": "2026-01-01", "start": "2026-01-01", "end": "2026-01-02"},
        {"level": "grid", "day": "x"},
    ],
)
def test_bad_coverage_queries_are_400_naming_the_field(params):
    cast = make_cast()
    response = cast.client(cast.dispatcher).get("/api/patrol/coverage", params)
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("days", ["0", "61", "x", "-1"])
def test_bad_unpatrolled_queries_are_400(days):
    cast = make_cast()
    response = cast.client(cast.dispatcher).get("/api/patrol/unpatrolled", {"days": days})
    assert response.status_code == 400 and "days" in response.json()


def test_who_reads_the_lists_and_tracks():
    cast = make_cast()
    for user in (cast.unit_member, cast.public):
        assert cast.client(user).get("/api/patrol/unpatrolled").status_code == 403
        assert cast.client(user).get("/api/patrol/track", {"officer": "officer"}).status_code == 403
        assert cast.client(user).get("/api/patrol/coverage", {"level": "city"}).status_code == 403
    assert Client().get("/api/patrol/unpatrolled").status_code == 403
    officer = cast.client(cast.officer)
    assert officer.get("/api/patrol/track", {"officer": "officer_b"}).status_code == 404
    assert officer.get("/api/patrol/track", {"officer": "officer"}).status_code == 200
    assert (
        cast.client(cast.dispatcher).get("/api/patrol/track", {"officer": "officer_b"}).status_code
        == 200
    )
    assert cast.client(cast.dispatcher).get("/api/patrol/track").status_code == 400
    assert (
        officer.get(
            "/api/patrol/coverage", {"level": "officer", "officer": "officer_b"}
        ).status_code
        == 404
    )
    assert make_user(
        role=Role.OFFICER, username="x"
    ).pk  # an officer without grids reads nothing, not an error
    lonely = Client()
    lonely.force_login(make_user(username="lonely"))
    assert api(lonely, "coverage", level="city")["results"] == []
    assert api(lonely, "unpatrolled")["results"] == []


def test_grid_b_is_far_from_grid_a():
    # The jump tests rely on A and B being kilometres apart.
    assert R * math.radians(GRID_B[1] - GRID_A[1]) > 3000


def test_a_changed_rule_applies_to_past_days_after_resummarising():
    from django.core.management import call_command

    cast = make_cast()
    day = timezone.localdate() - dt.timedelta(days=1)
    GridAssignment.objects.update(since=day)
    record_points(cast.officer, stay(IN_A, at(day, 9), n=2, every=dt.timedelta(minutes=1)))
    assert not grid_patrolled(cast, day)
    PatrolSettings(dwell_points=2, dwell_minutes=1).save()
    assert not grid_patrolled(cast, day)  # stored summaries: the old rule until recomputed
    call_command("patrol_resummarise", since=day.isoformat(), stdout=open(os.devnull, "w"))
    assert grid_patrolled(cast, day)


def test_the_demo_history_is_walked_through_the_phones_service_at_walking_speed():
    from patrol.demo import demo_tracks

    cast = make_cast()
    for n in (2, 3, 4):
        make_grid(
            code=f"320505006001{n:03d}",
            bounds=(120.700, 31.300 + (n - 1) * 0.001, 120.701, 31.301 + (n - 1) * 0.001),
            officers=[cast.officer],
        )
    GridAssignment.objects.update(since=dt.date(2024, 1, 1))
    now = timezone.now()
    stored = demo_tracks(weeks=2, now=now)
    assert stored == TrackPoint.objects.count() > 0
    assert demo_tracks(weeks=2, now=now) == 0  # once
    assert not TrackPoint.objects.filter(recorded_at__gt=now).exists()
    days = OfficerDay.objects.filter(officer=cast.officer)
    assert days.exists() and all(d.counted == d.points for d in days)  # nothing implausible
    for d in days:
        speed_kmh = d.distance_m / 1000 / (d.on_duty_seconds / 3600)
        assert 2.5 < speed_kmh < 5.5, speed_kmh
        times = list(
            TrackPoint.objects.filter(
                officer=cast.officer, recorded_at__gte=d.first_at, recorded_at__lte=d.last_at
            ).values_list("recorded_at", flat=True)
        )
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert max(set(gaps), key=gaps.count) == 30  # a point every 30 s
    assert GridDay.objects.filter(patrolled=True).exists()
