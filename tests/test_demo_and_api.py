"""The demo city (`load_demo`) and the grid API as a client uses it."""

from __future__ import annotations

import gzip
import io
import itertools
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from grids.models import Area, Grid
from people.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from people.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_city(django_db_blocker):
    with override_settings(DEMO=True):
        call_command("load_demo", cases=0, patrol_weeks=0, stdout=io.StringIO())


def test_load_demo_refuses_outside_demo_mode():
    with override_settings(DEMO=False), pytest.raises(CommandError, match="only in demo mode"):
        call_command("load_demo", stdout=io.StringIO())


def test_the_demo_city_has_every_grid_and_the_named_accounts(demo_city):
    assert Grid.objects.current().count() == 1301
    assert Area.objects.filter(level="street").count() == 6
    assert {u for u, _ in DEMO_ACCOUNTS} <= set(User.objects.values_list("username", flat=True))
    officer, officer2 = User.objects.get(username="officer"), User.objects.get(username="officer2")
    assert officer.role == officer2.role == Role.OFFICER
    streets = {g.code[:9] for g in officer.grids.all()}, {g.code[:9] for g in officer2.grids.all()}
    assert len(streets[0]) == len(streets[1]) == 1 and streets[0] != streets[1]
    assert (
        User.objects.get(username="unit").organisation
        != User.objects.get(username="unit2").organisation
    )
    assert not Grid.objects.filter(officers__isnull=True).exists()  # 一格一员
    assert not Grid.objects.filter(responsible_unit__isnull=True).exists()
    assert User.objects.get(username="admin").is_superuser


def test_load_demo_twice_changes_nothing(demo_city):
    counts = Grid.objects.count(), Area.objects.count(), User.objects.count()
    with override_settings(DEMO=True):
        out = io.StringIO()
        call_command("load_demo", cases=0, patrol_weeks=0, stdout=out)
    assert "already loaded" in out.getvalue()
    assert (Grid.objects.count(), Area.objects.count(), User.objects.count()) == counts


def test_token_auth_then_me_and_grid_detail(client, demo_city):
    response = client.post(
        "/api/auth/token",
        {"username": "officer", "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Token {response.json()['token']}"}
    me = client.get("/api/me", **auth).json()
    assert me["role"] == "officer" and me["grids"]
    detail = client.get(f"/api/grids/{me['grids'][0]}", **auth).json()
    assert detail["community"]["code"] == me["grids"][0][:12]
    assert detail["street"]["code"] == me["grids"][0][:9]
    assert "officer" in [o["username"] for o in detail["officers"]]


def test_wrong_password_gets_a_clear_400(client, demo_city):
    response = client.post(
        "/api/auth/token",
        {"username": "officer", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "wrong username or password" in response.json()["detail"]


def test_grid_detail_needs_authentication(client, demo_city):
    assert client.get("/api/grids/320505006023001").status_code in (401, 403)


def test_grid_layer_bbox_and_zoom(client, demo_city):
    everything = client.get("/api/grids/", {"zoom": 16}).json()
    assert len(everything["features"]) == 1301
    bbox = "120.72,31.29,120.73,31.30"
    some = client.get("/api/grids/", {"bbox": bbox, "zoom": 16}).json()["features"]
    assert 0 < len(some) < 100
    assert "320505006023001" in {f["properties"]["code"] for f in some}
    low = client.get("/api/grids/", {"bbox": bbox, "zoom": 11}).content
    high = client.get("/api/grids/", {"bbox": bbox, "zoom": 16}).content
    assert len(low) < len(high)  # simplified at low zoom


def test_grid_layer_is_gzipped_for_clients_that_accept_it(client, demo_city):
    response = client.get("/api/grids/", {"zoom": 12}, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.content))["features"]) == 1301


def test_bad_bbox_is_refused_with_the_reason(client):
    response = client.get("/api/grids/", {"bbox": "1,2,3"})
    assert response.status_code == 400 and "four numbers" in response.json()["bbox"][0]


def test_area_layers_per_level(client, demo_city):
    streets = client.get("/api/areas/", {"level": "street"}).json()["features"]
    assert {f["properties"]["name"] for f in streets} >= {
        "斜塘街道",
        "金鸡湖街道",
        "唯亭街道",
        "娄葑街道",
        "胜浦街道",
    }
    assert len(client.get("/api/areas/", {"level": "community"}).json()["features"]) == 179


def test_openapi_schema_and_docs_page_are_served_without_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/grids/locate" in schema.content
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower()


def test_demo_cases_end_in_many_states_and_were_made_by_the_workflow(demo_city):
    from django.db.models import Count

    from cases.demo import generate_demo_cases
    from cases.models import Case, CaseEvent, Status

    assert generate_demo_cases(weeks=2, per_week=50) > 100
    by_status = dict(Case.objects.values_list("status").annotate(n=Count("id")).order_by())
    assert {Status.CLOSED, Status.REJECTED, Status.MERGED, Status.VOIDED} <= set(by_status), (
        by_status
    )
    assert set(by_status) & {Status.HANDLING, Status.CHECKING, Status.CLOSING, Status.SUSPENDED}, (
        by_status
    )
    for case in Case.objects.prefetch_related("events"):
        events = list(case.events.all())
        assert [e.seq for e in events] == list(range(1, case.version + 1))
        assert events[0].action == "report" and events[-1].to_status == case.status
        for before, after in itertools.pairwise(events):
            assert after.from_status == before.to_status and after.at >= before.at
    assert CaseEvent.objects.filter(action="check", data__rework=True).exists()
    assert generate_demo_cases(count=10) == 0  # only once


def test_the_demo_city_comes_with_its_past_reports_numbered_in_order(demo_city):
    from cases.demo import generate_demo_cases
    from reports import jobs
    from reports.demo import demo_reports
    from reports.models import Report, State

    generate_demo_cases(count=60)
    queued = demo_reports()
    weeks = sorted((r for r in queued if r.kind == "weekly"), key=lambda r: r.start)
    assert len(weeks) >= 7 and [r.issue for r in weeks] == sorted(r.issue for r in weeks)
    assert Report.objects.get(pk=weeks[-1].pk).state == State.PUBLISHED  # the latest, at once
    (built,) = jobs.run()  # the scheduler then builds the rest as drafts, oldest first…
    assert built.state == State.DRAFT and built.pk == weeks[0].pk
    (published,) = jobs.run()  # …and publishes each as it is, its publication time long past
    assert (published.pk, published.state, published.issue) == (
        weeks[0].pk,
        State.PUBLISHED,
        weeks[0].issue,
    )
    assert demo_reports() == []  # only once
