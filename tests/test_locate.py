"""Point → grid (docs/domain.md §1) through the HTTP API, on synthetic grids with known geometry."""

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


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lon": "abc", "lat": "31"}, "lon"),
        ({"lon": "120.7"}, "lat"),
        ({"lon": "200", "lat": "31"}, "lon"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_field(client, params, field):
    response = client.get("/api/grids/locate", params)
    assert response.status_code == 400
    assert field in response.json()


# --- the index itself, on the real SIP layer (no database) ----------------------------------

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from grids.geo import NO_GRID, GridIndex  # noqa: E402
from tests.test_import import COMPREHENSIVE, DEDICATED  # noqa: E402


@pytest.fixture(scope="module")
def sip_index() -> GridIndex:
    frame = pd.concat([gpd.read_file(COMPREHENSIVE), gpd.read_file(DEDICATED)])
    return GridIndex(list(range(len(frame))), frame.grid_code.tolist(), frame.geometry.values)


@pytest.mark.django_db(False)
def test_bulk_and_single_locate_agree_on_the_real_layer(sip_index):
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = shapely.total_bounds(sip_index.geometries)
    # Around the layer's edge too, so the snap and outside paths are exercised.
    lons = rng.uniform(minx - 0.002, maxx + 0.002, 3000)
    lats = rng.uniform(miny - 0.002, maxy + 0.002, 3000)
    found, distance = sip_index.locate_many(lons, lats)
    kinds = set()
    for lon, lat, i, d in zip(lons, lats, found, distance, strict=True):
        single = sip_index.locate(lon, lat)
        if i == NO_GRID:
            assert single.outside
            kinds.add("outside")
        else:
            assert single.code == sip_index.codes[i]
            assert single.distance_m == pytest.approx(d, abs=0.01)
            kinds.add("inside" if d == 0 else "snapped")
    assert kinds == {"inside", "snapped", "outside"}


@pytest.mark.django_db(False)
def test_every_shared_vertex_goes_to_the_smallest_code(sip_index):
    """Vertices shared by neighbours are the hardest shared-edge points; each resolves to one grid."""
    coords = shapely.get_coordinates(sip_index.geometries[:200])
    found, _ = sip_index.locate_many(coords[:, 0], coords[:, 1])
    touching = sip_index._tree.query(shapely.points(coords), predicate="intersects")
    smallest = np.full(len(coords), np.iinfo(np.int64).max)
    np.minimum.at(smallest, touching[0], touching[1])
    assert (found == smallest).all()


@pytest.mark.django_db(False)
@settings(max_examples=200, deadline=None)
@given(st.floats(120.60, 120.90), st.floats(31.20, 31.45))
def test_a_located_point_really_is_in_or_near_its_grid(sip_index, lon, lat):
    found = sip_index.locate(lon, lat)
    if found.outside:
        return
    geom = sip_index.geometries[list(sip_index.codes).index(found.code)]
    point = shapely.Point(lon, lat)
    if found.distance_m == 0:
        assert geom.intersects(point)
    else:
        assert 0 < found.distance_m <= 50.0
