"""Daily patrol (docs/domain.md §8) through its API: track point batches (idempotent, all or nothing,
officers only), daily coverage per officer and grid, and the two case lookups the mobile app uses
(possible duplicates before a report, my own reports)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from grids.models import GridAssignment
from patrol.models import PatrolSettings, TrackPoint
from people.models import Role
from tests.cast import GRID_A, IN_A, make_cast, report
from tests.factories import make_grid, make_organisation, make_user

pytestmark = pytest.mark.django_db

IN_B = (120.7605, 31.3305)
# Just east of grid A, 10 m outside it: snapped to A by locate() but not inside it.
NEAR_A = (GRID_A[2] + 0.0001, 31.3005)
FAR_AWAY = (121.5, 31.2)


def point(where=IN_A, *, when=None, accuracy=8.0, **overrides) -> dict:
    when = when or timezone.now() - dt.timedelta(minutes=5)
    return {
        "id": str(uuid.uuid4()),
        "lon": where[0],
        "lat": where[1],
        "accuracy": accuracy,
        "at": when.isoformat(),
        **overrides,
    }


def send(client: Client, points: list[dict]):
    return client.post("/api/patrol/points", {"points": points}, content_type="application/json")


def coverage(client: Client, **params):
    return client.get("/api/patrol/coverage", params)


# --- track points ------------------------------------------------------------------------------


def test_a_batch_of_points_is_stored_with_the_grid_each_falls_in():
    cast = make_cast()
    batch = [point(IN_A), point(IN_B), point(NEAR_A), point(FAR_AWAY, accuracy=None)]
    response = send(cast.client(cast.officer), batch)
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 4, "duplicates": 0}
    rows = {str(p.point_id): p for p in TrackPoint.objects.all()}
    inside, other, near, far = (rows[p["id"]] for p in batch)
    assert (inside.officer, inside.grid, inside.grid_distance_m, inside.accuracy_m) == (
        cast.officer,
        cast.grid,
        0,
        8.0,
    )
    assert inside.inside_grid and other.grid == cast.other_grid
    assert near.grid == cast.grid and near.grid_distance_m > 5 and not near.inside_grid
    assert far.grid is None and far.grid_distance_m is None and far.accuracy_m is None
    assert inside.recorded_at == dt.datetime.fromisoformat(batch[0]["at"])
    assert inside.received_at > inside.recorded_at


def test_a_replayed_batch_inserts_nothing_twice():
    cast = make_cast()
    client = cast.client(cast.officer)
    batch = [point(), point()]
    assert send(client, batch).json() == {"accepted": 2, "duplicates": 0}
    again = send(client, batch + [point()])
    assert again.status_code == 200 and again.json() == {"accepted": 3, "duplicates": 2}
    assert TrackPoint.objects.count() == 3


def test_a_repeated_id_inside_one_batch_is_stored_once():
    cast = make_cast()
    one = point()
    response = send(cast.client(cast.officer), [one, dict(one)])
    assert response.json() == {"accepted": 2, "duplicates": 1}
    assert TrackPoint.objects.count() == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"id": "not-a-uuid"}, "id"),
        ({"at": "yesterday"}, "at"),
        ({"accuracy": -1}, "accuracy"),
    ],
)
def test_a_bad_point_is_400_naming_its_index_and_field_and_nothing_is_written(bad, field):
    cast = make_cast()
    batch = [point(), point(), point(**bad)]
    response = send(cast.client(cast.officer), batch)
    assert response.status_code == 400
    body = response.json()
    assert list(body["points"]) == ["2"] and field in body["points"]["2"]
    assert body["detail"].startswith(f"points[2].{field}: ")
    assert TrackPoint.objects.count() == 0


def test_a_point_missing_a_field_or_from_the_future_is_refused():
    cast = make_cast()
    client = cast.client(cast.officer)
    missing = point()
    del missing["lat"]
    response = send(client, [missing])
    assert response.status_code == 400 and "lat" in response.json()["points"]["0"]
    future = point(when=timezone.now() + dt.timedelta(hours=1))
    response = send(client, [point(), future])
    assert response.status_code == 400 and "at" in response.json()["points"]["1"]
    assert TrackPoint.objects.count() == 0


def test_batches_are_limited_to_500_points_and_must_be_a_list():
    cast = make_cast()
    client = cast.client(cast.officer)
    assert send(client, [point() for _ in range(500)]).status_code == 200
    too_many = send(client, [point() for _ in range(501)])
    assert too_many.status_code == 400 and "500" in too_many.json()["points"][0]
    assert (
        client.post(
            "/api/patrol/points", {"points": "x"}, content_type="application/json"
        ).status_code
        == 400
    )
    assert TrackPoint.objects.count() == 500


def test_only_officers_send_points():
    cast = make_cast()
    for user in (cast.acceptor, cast.dispatcher, cast.unit_member, cast.public):
        assert send(cast.client(user), [point()]).status_code == 403, user.role
    assert send(Client(), [point()]).status_code == 403
    assert TrackPoint.objects.count() == 0


def test_session_clients_need_the_csrf_token_to_send_points():
    cast = make_cast()
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.officer)
    assert send(client, [point()]).status_code == 403
    client.get("/m/session")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/patrol/points",
        {"points": [point()]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_batch_store_each_point_once(live_server):
    import json
    import urllib.request

    from people.tokens import key_for

    cast = make_cast()
    token = key_for(cast.officer)
    body = json.dumps({"points": [point() for _ in range(50)]}).encode()
    statuses = []

    def post():
        request = urllib.request.Request(
            live_server.url + "/api/patrol/points",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        with urllib.request.urlopen(request) as response:
            statuses.append(response.status)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert TrackPoint.objects.count() == 50


# --- coverage ----------------------------------------------------------------------------------


def stay(where=IN_A, *, start=None, n=3, every=dt.timedelta(minutes=3)) -> list[dict]:
    """`n` points at `where`, `every` apart from `start` (by default 30 minutes ago): a patrol of
    the grid by the default rule when n ≥ 3 and they span ≥ 5 minutes."""
    if start is None:  # 30 minutes ago, but never before today's (Asia/Shanghai) midnight: a stay
        # begun yesterday is not today's patrol. Just after midnight the last points are up to 6
        # minutes ahead, within the clock skew the API accepts (10 minutes).
        now = timezone.now()
        midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time()))
        start = max(now - dt.timedelta(minutes=30), midnight)
    return [point(where, when=start + i * every) for i in range(n)]


def test_coverage_counts_grids_an_assigned_officer_stayed_in_that_day():
    cast = make_cast()
    # Two more grids north of grid A (NEAR_A, east of A, stays outside every grid).
    second = make_grid(
        code="320505006001002", bounds=(120.700, 31.301, 120.701, 31.302), officers=[cast.officer]
    )
    third = make_grid(
        code="320505006001003", bounds=(120.700, 31.302, 120.701, 31.303), officers=[cast.officer]
    )
    officer = cast.client(cast.officer)
    today = timezone.localdate()
    start = max(
        timezone.now() - dt.timedelta(minutes=30),
        timezone.make_aware(dt.datetime.combine(today, dt.time())),
    )
    yesterday_noon = timezone.make_aware(
        dt.datetime.combine(today - dt.timedelta(days=1), dt.time(12))
    )
    send(
        officer,
        stay(
            IN_A, start=start, every=dt.timedelta(minutes=2, seconds=30)
        )  # inside grid A today: counts
        + stay((120.7005, 31.3015), start=yesterday_noon)  # inside the second grid, but yesterday
        + [point(NEAR_A, when=start + dt.timedelta(minutes=6))],
    )  # snapped to A, not inside anything
    # The other officer stays in the third grid: they are not assigned to it.
    send(cast.client(cast.officer_elsewhere), stay((120.7005, 31.3025), start=start))

    body = coverage(officer, day=today.isoformat()).json()
    assert body["day"] == today.isoformat()
    (mine,) = body["officers"]
    assert mine["officer"]["username"] == "officer"
    assert mine["assigned_grids"] == [cast.grid.code, second.code, third.code]
    assert mine["patrolled_grids"] == [cast.grid.code]
    assert (mine["assigned"], mine["patrolled"], mine["coverage"], mine["points"]) == (
        3,
        1,
        0.3333,
        4,
    )
    assert [(g["code"], g["patrolled"], g["officers"]) for g in body["grids"]] == [
        (cast.grid.code, True, ["officer"]),
        (second.code, False, ["officer"]),
        (third.code, False, ["officer"]),
    ]
    assert (body["assigned"], body["patrolled"], body["coverage"]) == (3, 1, 0.3333)

    yesterday = coverage(officer, day=(today - dt.timedelta(days=1)).isoformat()).json()
    # Assignments made today were not in force yesterday.
    assert yesterday["officers"] == [] and yesterday["coverage"] is None


def test_a_grid_patrolled_by_one_of_its_officers_counts_for_every_officer_assigned_to_it():
    cast = make_cast()
    partner = make_user(username="partner")
    GridAssignment.objects.create(grid=cast.grid, officer=partner)
    send(cast.client(partner), stay(IN_A))
    body = coverage(cast.client(cast.officer)).json()
    assert body["officers"][0]["patrolled_grids"] == [cast.grid.code]
    assert body["officers"][0]["points"] == 0


def test_a_day_is_the_asia_shanghai_day_of_the_devices_clock():
    cast = make_cast()
    today = timezone.localdate()
    GridAssignment.objects.update(since=today - dt.timedelta(days=1))
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time()))
    # 3 points over 6 minutes, but the first two before midnight: today has one, yesterday two.
    send(cast.client(cast.officer), stay(IN_A, start=midnight - dt.timedelta(minutes=4)))
    assert coverage(cast.client(cast.officer), day=today.isoformat()).json()["patrolled"] == 0
    send(cast.client(cast.officer), stay(IN_A, start=midnight))
    assert coverage(cast.client(cast.officer), day=today.isoformat()).json()["patrolled"] == 1
    assert (
        coverage(cast.client(cast.officer), day=(today - dt.timedelta(days=1)).isoformat()).json()[
            "patrolled"
        ]
        == 0
    )


def test_the_centre_sees_every_officer_in_its_area_and_can_pick_one():
    cast = make_cast()
    send(cast.client(cast.officer), stay(IN_A))
    send(cast.client(cast.officer_elsewhere), stay(IN_B))
    body = coverage(cast.client(cast.dispatcher)).json()  # the centre has no area: the whole city
    assert [o["officer"]["username"] for o in body["officers"]] == ["officer", "officer_b"]
    assert [o["coverage"] for o in body["officers"]] == [1.0, 1.0]
    assert (body["assigned"], body["patrolled"], body["coverage"]) == (2, 2, 1.0)
    picked = coverage(cast.client(cast.dispatcher), officer="officer_b").json()
    assert [o["officer"]["username"] for o in picked["officers"]] == ["officer_b"]
    by_id = coverage(cast.client(cast.dispatcher), officer=str(cast.officer.pk)).json()
    assert [o["officer"]["username"] for o in by_id["officers"]] == ["officer"]


def test_a_centre_with_an_area_sees_only_its_areas_officers():
    make_cast()
    from grids.models import Area

    district_centre = make_organisation(code="centre-320505", area=Area.objects.get(code="320505"))
    viewer = make_user(role=Role.VIEWER, username="district_viewer", organisation=district_centre)
    client = Client()
    client.force_login(viewer)
    body = coverage(client).json()
    assert [o["officer"]["username"] for o in body["officers"]] == ["officer"]
    assert coverage(client, officer="officer_b").status_code == 404


def test_the_administrator_role_reads_every_officers_coverage_like_a_superuser():
    """An administrator who is not a Django superuser (a city's directory import makes them so)
    sees the whole city, as everywhere else (cases.access.sees_everything)."""
    make_cast()
    admin = make_user(role=Role.ADMIN, username="city_admin")
    assert not admin.is_superuser
    client = Client()
    client.force_login(admin)
    body = coverage(client).json()
    assert sorted(o["officer"]["username"] for o in body["officers"]) == ["officer", "officer_b"]
    assert coverage(client, officer="officer_b").status_code == 200


def test_officers_read_only_their_own_coverage_and_units_none():
    cast = make_cast()
    officer = cast.client(cast.officer)
    assert [o["officer"]["username"] for o in coverage(officer).json()["officers"]] == ["officer"]
    assert coverage(officer, officer="officer_b").status_code == 404
    assert coverage(cast.client(cast.unit_member)).status_code == 403
    assert coverage(cast.client(cast.public)).status_code == 403
    assert coverage(Client()).status_code == 403
    assert coverage(officer, day="2026-13-01").status_code == 400


def test_an_officer_without_grids_has_no_data_rather_than_zero():
    make_cast()
    lonely = make_user(username="lonely")
    client = Client()
    client.force_login(lonely)
    body = coverage(client).json()
    assert body["officers"] == [] and body["coverage"] is None and body["assigned"] == 0


def test_the_patrol_interval_is_30_seconds_unless_an_administrator_changes_it():
    assert PatrolSettings.interval() == 30
    PatrolSettings(interval_seconds=60).save()
    PatrolSettings(interval_seconds=45).save()
    assert PatrolSettings.objects.count() == 1 and PatrolSettings.interval() == 45


# --- case lookups for the mobile app --------------------------------------------------------------


def test_nearby_lists_open_cases_of_the_class_within_30_m_before_a_report_is_sent():
    cast = make_cast()
    near = report(cast, at=(IN_A[0] + 0.0001, IN_A[1]))  # ~10 m east
    report(cast, at=(IN_A[0] + 0.001, IN_A[1]))  # ~95 m east
    response = cast.client(cast.officer).get(
        "/api/cases/nearby", {"category": cast.category.pk, "lon": IN_A[0], "lat": IN_A[1]}
    )
    assert response.status_code == 200
    (found,) = response.json()["results"]
    assert found["number"] == near.number and 5 < found["distance_m"] < 15
    assert (
        cast.client(cast.officer)
        .get("/api/cases/nearby", {"category": cast.category.pk})
        .status_code
        == 400
    )
    assert Client().get("/api/cases/nearby", {"category": 1, "lon": 1, "lat": 1}).status_code == 403


def test_mine_lists_my_own_reports_newest_first():
    cast = make_cast()
    first, second = report(cast), report(cast)
    report(cast, by=cast.officer_elsewhere, at=IN_B)
    report(cast, by=cast.acceptor, source="hotline_12345")  # in my grid, but not mine
    rows = cast.client(cast.officer).get("/api/cases/mine").json()["results"]
    assert [r["number"] for r in rows] == [second.number, first.number]
    assert rows[0]["status"] == "reported" and rows[0]["grid"]["code"] == cast.grid.code
    assert (
        cast.client(cast.officer).get("/api/cases/mine", {"limit": 1}).json()["results"][0]["id"]
        == second.pk
    )
