"""Point → grid (DOMAIN §1) through the HTTP API, on synthetic grids with known geometry."""

from __future__ import annotations

import pytest

from tests.factories import make_grid

pytestmark = pytest.mark.django_db

# Two ~111 m × 111 m squares sharing the edge lon = 120.701.
WEST = (120.700, 31.300, 120.701, 31.301)
EAST = (120.701, 31.300, 120.702, 31.301)


@pytest.fixture
def two_grids():
    east = make_grid(code="320505006001002", bounds=EAST)
    west = make_grid(code="320505006001001", bounds=WEST)
    return west, east


def locate(client, lon, lat):
    response = client.get("/api/grids/locate", {"lon": lon, "lat": lat})
    assert response.status_code == 200, response.content
    return response.json()


def test_point_inside_a_grid_goes_to_that_grid(client, two_grids):
    west, east = two_grids
    assert locate(client, 120.7015, 31.3005)["grid"]["code"] == east.code
    body = locate(client, 120.7005, 31.3005)
    assert body["grid"]["code"] == west.code
    assert body["outside_grid"] is False and body["distance_m"] == 0


def test_point_on_a_shared_edge_goes_to_the_smaller_code_every_time(client, two_grids):
    west, _east = two_grids
    for _ in range(3):
        assert locate(client, 120.701, 31.3005)["grid"]["code"] == west.code


def test_point_ten_metres_outside_snaps_to_the_nearest_grid(client, two_grids):
    _west, east = two_grids
    # 10 m east of the east edge: 10 / (111320 · cos 31.3°) degrees of longitude.
    body = locate(client, 120.702 + 10 / 95_110, 31.3005)
    assert body["grid"]["code"] == east.code
    assert body["snapped"] is True and body["outside_grid"] is False
    assert 9.5 < body["distance_m"] < 10.5


def test_point_five_km_outside_has_no_grid_and_is_flagged(client, two_grids):
    body = locate(client, 120.702 + 5000 / 95_110, 31.3005)
    assert body == {"grid": None, "outside_grid": True, "snapped": False, "distance_m": None}


def test_locate_sees_a_new_grid_without_restart(client, two_grids):
    far = (120.80, 31.40)
    assert locate(client, *far)["outside_grid"] is True
    make_grid(code="320505006001003", bounds=(120.799, 31.399, 120.801, 31.401))
    assert locate(client, *far)["grid"]["code"] == "320505006001003"


@pytest.mark.parametrize("params, field", [
    ({"lon": "abc", "lat": "31"}, "lon"),
    ({"lon": "120.7"}, "lat"),
    ({"lon": "200", "lat": "31"}, "lon"),
])
def test_bad_coordinates_are_refused_naming_the_field(client, params, field):
    response = client.get("/api/grids/locate", params)
    assert response.status_code == 400
    assert field in response.json()
