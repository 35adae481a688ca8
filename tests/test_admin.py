"""The Django admin for areas, grids, the grid layer settings and people, through the test client;
one browser test proves the geometry map widget edits the GeoJSON text."""

from __future__ import annotations

import json

import pytest
import shapely
from django.conf import settings
from playwright.sync_api import expect

from grids.geo import to_geojson
from grids.models import Grid, GridLayer
from people.models import Role
from tests.factories import make_admin_user, make_area, make_grid, make_organisation, make_user
from tests.test_home_browser import chromium_page, remote_requests

GRID_BOUNDS = (120.700, 31.300, 120.701, 31.301)


@pytest.fixture
def admin(client):
    """The test client signed in as an administrator, in English so error texts are stable."""
    client.force_login(make_admin_user(username="admin"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def change_url(grid: Grid) -> str:
    return f"/admin/grids/grid/{grid.pk}/change/"


def grid_form_data(grid: Grid, **changes) -> dict:
    """What the grid change form posts, with its officer inline rows, plus `changes`."""
    assignments = list(grid.assignments.all())
    data = {
        "code": grid.code,
        "legacy_code": grid.legacy_code,
        "name": grid.name,
        "grid_type": grid.grid_type,
        "community": grid.community_id,
        "region_class": grid.region_class,
        "responsible_unit": grid.responsible_unit_id or "",
        "geometry": grid.geometry,
        "valid_from": grid.valid_from.isoformat(),
        "valid_to": "",
        "assignments-TOTAL_FORMS": len(assignments),
        "assignments-INITIAL_FORMS": len(assignments),
        "assignments-MIN_NUM_FORMS": 0,
        "assignments-MAX_NUM_FORMS": 1000,
    }
    for i, assignment in enumerate(assignments):
        data |= {
            f"assignments-{i}-id": assignment.pk,
            f"assignments-{i}-grid": grid.pk,
            f"assignments-{i}-officer": assignment.officer_id,
            f"assignments-{i}-since": assignment.since.isoformat(),
        }
    return data | changes


@pytest.mark.django_db
def test_admin_can_open_the_grid_list_and_change_page(admin):
    officer = make_user(role=Role.OFFICER, username="zhang.wei")
    grid = make_grid(
        code="320505006001001", name="湖西1号网格", bounds=GRID_BOUNDS, officers=[officer]
    )
    listing = admin.get("/admin/grids/grid/")
    assert listing.status_code == 200
    assert grid.code in listing.content.decode()
    assert listing.context["cl"].result_list[0].officer_count == 1

    page = admin.get(change_url(grid))
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-geojson-widget" in html and "/static/leaflet/draw/leaflet.draw.js" in html
    assert 'name="assignments-0-officer"' in html and "admin-autocomplete" in html
    assert page.context["adminform"].form["geometry"].value() == grid.geometry


@pytest.mark.django_db
def test_saving_a_new_polygon_recomputes_area_and_bumps_the_layer_version(admin):
    officer = make_user(role=Role.OFFICER)
    grid = make_grid(code="320505006001001", bounds=GRID_BOUNDS, officers=[officer])
    version = GridLayer.current().version
    bigger = to_geojson(shapely.box(120.700, 31.300, 120.702, 31.301))
    response = admin.post(change_url(grid), grid_form_data(grid, geometry=bigger))
    assert response.status_code == 302, response.context["adminform"].form.errors
    grid.refresh_from_db()
    assert json.loads(grid.geometry) == json.loads(bigger)
    assert grid.max_lon == pytest.approx(120.702)
    assert 20_000 < grid.area_m2 < 22_000
    assert GridLayer.current().version > version
    assert list(grid.officers.all()) == [officer]  # the inline row went through untouched


# A bow-tie: the ring crosses itself at (120.7005, 31.3005).
BOWTIE = json.dumps(
    {
        "type": "Polygon",
        "coordinates": [
            [[120.7, 31.3], [120.701, 31.301], [120.701, 31.3], [120.7, 31.301], [120.7, 31.3]]
        ],
    }
)
UNCLOSED = (
    '{"type": "Polygon", "coordinates": [[[120.7, 31.3], [120.701, 31.3], [120.701, 31.301]]]}'
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text, error",
    [
        ('{"type": "Polygon", "coordinates": [[[120.7, 31.3]', "Not valid JSON (line 1, column"),
        (
            '{"type": "LineString", "coordinates": [[120.7, 31.3], [120.701, 31.3]]}',
            "got a LineString",
        ),
        ('{"type": "Feature", "geometry": null, "properties": {}}', "This is a GeoJSON Feature"),
        ("[120.7, 31.3]", 'it has no "type"'),
        (UNCLOSED, "The coordinates cannot be read as a Polygon"),
        (BOWTIE, "The polygon is not valid: Self-intersection"),
        (to_geojson(shapely.box(500_000, 3_460_000, 500_100, 3_460_100)), "these look projected"),
        ('{"type": "Polygon", "coordinates": []}', "The polygon has no coordinates."),
        ("", "Draw the polygon on the map or paste its GeoJSON."),
    ],
)
def test_saving_invalid_geometry_shows_why_and_changes_nothing(admin, text, error):
    grid = make_grid(code="320505006001001", name="湖西1号网格", bounds=GRID_BOUNDS)
    before = Grid.objects.values().get(pk=grid.pk)
    version = GridLayer.current().version
    response = admin.post(change_url(grid), grid_form_data(grid, name="改过的名字", geometry=text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["geometry"] and error in errors["geometry"][0]
    assert 'class="errorlist' in response.content.decode()
    assert Grid.objects.values().get(pk=grid.pk) == before
    assert GridLayer.current().version == version


@pytest.mark.django_db
def test_grid_layer_admin_allows_no_second_row_and_no_delete(admin):
    layer = GridLayer.current()
    assert admin.get("/admin/grids/gridlayer/add/").status_code == 403
    assert admin.post("/admin/grids/gridlayer/add/", {"snap_distance_m": "10"}).status_code == 403
    assert (
        admin.post(f"/admin/grids/gridlayer/{layer.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert GridLayer.objects.count() == 1
    listing = admin.get("/admin/grids/gridlayer/")
    assert (
        listing.status_code == 302
        and listing["Location"] == f"/admin/grids/gridlayer/{layer.pk}/change/"
    )


@pytest.mark.django_db
def test_grid_layer_admin_changes_the_snap_distance(admin):
    layer = GridLayer.current()
    response = admin.post(f"/admin/grids/gridlayer/{layer.pk}/change/", {"snap_distance_m": "30"})
    assert response.status_code == 302
    assert GridLayer.current().snap_distance_m == 30
    assert GridLayer.current().version > layer.version


@pytest.mark.django_db
def test_officer_autocomplete_finds_people_by_username(admin):
    officer = make_user(role=Role.OFFICER, username="zhang.wei")
    make_user(role=Role.OFFICER, username="li.na")
    response = admin.get(
        "/admin/autocomplete/",
        {
            "term": "zhang",
            "app_label": "grids",
            "model_name": "gridassignment",
            "field_name": "officer",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(officer.pk)]


@pytest.mark.django_db
def test_area_admin_filters_by_level_and_searches_by_name(admin):
    make_area(code="320505006001", name="湖西社区")
    make_area(code="320505006002", name="湖东社区")
    response = admin.get("/admin/grids/area/", {"level__exact": "community", "q": "湖西"})
    assert response.status_code == 200
    assert [area.code for area in response.context["cl"].result_list] == ["320505006001"]


@pytest.mark.django_db
def test_area_admin_saves_an_area_with_no_geometry_yet(admin):
    area = make_area(code="320505006")
    response = admin.post(
        f"/admin/grids/area/{area.pk}/change/",
        {
            "code": area.code,
            "name": "新街道",
            "level": area.level,
            "parent": area.parent_id,
            "geometry": "",
            "valid_from": "2000-01-01",
            "valid_to": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    area.refresh_from_db()
    assert area.name == "新街道"


@pytest.mark.django_db
def test_user_admin_edits_organisation_role_and_phone(admin):
    unit = make_organisation(name="园区环卫处")
    user = make_user(role=Role.UNIT_MEMBER, username="chen", organisation=unit)
    html = admin.get(f"/admin/people/user/{user.pk}/change/").content.decode()
    assert 'name="role"' in html and 'name="organisation"' in html and 'name="phone"' in html
    listing = admin.get("/admin/people/user/", {"role__exact": Role.UNIT_MEMBER})
    assert [u.username for u in listing.context["cl"].result_list] == ["chen"]
    assert admin.get("/admin/people/organisation/", {"q": "环卫"}).context["cl"].result_count == 1


@pytest.mark.browser
def test_geometry_widget_shows_the_grid_and_writes_a_drawn_rectangle_back(
    live_server, client, chromium_path
):
    grid = make_grid(code="320505006001001", bounds=GRID_BOUNDS)
    client.force_login(make_admin_user(username="admin"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    with chromium_page(chromium_path, width=1280, height=900) as (page, requested):
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page.goto(live_server.url + change_url(grid))
        shape = page.locator(".geojson-map-canvas path.leaflet-interactive")
        expect(shape).to_have_count(1)
        page.locator(".leaflet-draw-draw-rectangle").click()
        box = shape.bounding_box()  # draw beside the grid, clear of the toolbars at the top left
        page.mouse.move(box["x"] - 100, box["y"] + box["height"] / 2 - 30)
        page.mouse.down()
        page.mouse.move(box["x"] - 20, box["y"] + box["height"] / 2 + 30, steps=5)
        page.mouse.up()
        expect(shape).to_have_count(2)
        text = page.locator("textarea[name=geometry]").input_value()
        page.locator("input[name=_continue]").click()
        page.wait_for_load_state()

    assert json.loads(text)["type"] == "MultiPolygon"
    grid.refresh_from_db()
    saved = shapely.from_geojson(grid.geometry)
    assert saved.geom_type == "MultiPolygon" and len(saved.geoms) == 2 and saved.is_valid
    assert remote_requests(requested) == []


@pytest.mark.django_db
def test_cases_are_read_only_in_the_admin_and_time_rules_are_editable(client):
    from cases.models import StepLimit
    from tests.cast import make_cast, report
    from tests.factories import make_admin_user

    cast = make_cast()
    case = report(cast)
    client.force_login(make_admin_user())
    page = client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200 and case.number in page.content.decode()
    client.post(f"/admin/cases/case/{case.pk}/change/", {"status": "closed"})
    case.refresh_from_db()
    assert case.status == "reported"
    assert client.get("/admin/cases/case/add/").status_code == 403
    assert StepLimit.objects.count() == 6
    assert client.get("/admin/cases/steplimit/").status_code == 200
