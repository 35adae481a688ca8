"""Point → grid, and the small geometry helpers the rest of Gridcase uses (DOMAIN.md §1).

The rule:
- the grid whose polygon contains the point;
- a point on a shared edge (or vertex) goes to exactly one grid, deterministically: the grid with
  the smallest code among those it touches;
- a point outside every grid but within the snap distance (default 50 m, `GridLayer`) goes to the
  nearest grid (ties: smallest code);
- further out: no grid, flagged outside. Nothing is rejected for its location alone.

How: an in-process shapely STRtree over the grids in force, queried with the `intersects`
predicate (prepared-geometry fast path; PERFORMANCE.md), plus a second tree in metres (azimuthal
equidistant projection centred on the layer) for the nearest-within-distance step. Each process
keeps one index and rebuilds it when `GridLayer.version` changes, so every worker sees a
re-import on its next lookup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Geod, Transformer

_GEOD = Geod(ellps="WGS84")
NO_GRID = -1


def geojson_bounds(text: str) -> tuple[float, float, float, float] | None:
    geom = shapely.from_geojson(text)
    if geom is None or geom.is_empty:
        return None
    return tuple(float(v) for v in geom.bounds)  # type: ignore[return-value]


def geojson_area_m2(text: str) -> float:
    """Geodesic area on the WGS84 ellipsoid, in m²."""
    return geodesic_area_m2(shapely.from_geojson(text))


def geodesic_area_m2(geom: shapely.Geometry) -> float:
    area, _perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(area)


def to_geojson(geom: shapely.Geometry, precision: int = 7) -> str:
    """GeoJSON text of a geometry, coordinates rounded to `precision` decimals (7 ≈ 1 cm)."""
    rounded = shapely.set_precision(geom, 10**-precision, mode="pointwise")
    return shapely.to_geojson(rounded)


def local_metric_transformer(lon: float, lat: float) -> Transformer:
    """lon/lat → metres in an azimuthal equidistant projection centred on (lon, lat).

    Within a city (tens of km) distances are true to well under 0.1 %.
    """
    proj = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    return Transformer.from_crs("EPSG:4326", proj, always_xy=True)


@dataclass(frozen=True)
class Located:
    """Where a point falls. `grid_id` None ⇔ `outside`; `distance_m` 0 inside a grid."""

    grid_id: int | None
    code: str | None
    outside: bool
    distance_m: float | None

    @property
    def snapped(self) -> bool:
        return self.grid_id is not None and bool(self.distance_m)


class GridIndex:
    """An immutable spatial index over one version of the grid layer."""

    def __init__(
        self,
        ids: list[int],
        codes: list[str],
        geometries: np.ndarray,
        *,
        snap_distance_m: float = 50.0,
        version: object = 0,
    ) -> None:
        order = np.argsort(np.asarray(codes, dtype=object), kind="stable")
        self.ids = np.asarray(ids, dtype=np.int64)[order]
        self.codes = np.asarray(codes, dtype=object)[order]
        self.geometries = np.asarray(geometries, dtype=object)[order]
        self.snap_distance_m = float(snap_distance_m)
        self.version = version
        self._tree = shapely.STRtree(self.geometries)
        if len(self.geometries):
            minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
            self._to_m = local_metric_transformer((minx + maxx) / 2, (miny + maxy) / 2)
        else:
            self._to_m = local_metric_transformer(0.0, 0.0)
        self._tree_m = shapely.STRtree(
            shapely.transform(self.geometries, self._project_xy) if len(self.geometries) else []
        )

    def __len__(self) -> int:
        return len(self.ids)

    def _project_xy(self, xy: np.ndarray) -> np.ndarray:
        x, y = self._to_m.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def locate(self, lon: float, lat: float) -> Located:
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits):
            i = int(hits.min())  # tree order is code order: smallest code wins on shared edges
            return Located(int(self.ids[i]), str(self.codes[i]), False, 0.0)
        index, distance = self._nearest(np.array([lon]), np.array([lat]))
        if index[0] == NO_GRID:
            return Located(None, None, True, None)
        i = int(index[0])
        return Located(int(self.ids[i]), str(self.codes[i]), False, round(float(distance[0]), 2))

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bulk locate. Returns (positions into self.ids or NO_GRID, distance in metres or NaN)."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        result = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        distance = np.full(n, np.nan)
        if n == 0 or len(self) == 0:
            return np.full(n, NO_GRID, dtype=np.int64), distance
        points = shapely.points(lons, lats)
        inp, tree_idx = self._tree.query(points, predicate="intersects")
        np.minimum.at(result, inp, tree_idx)
        inside = result != np.iinfo(np.int64).max
        distance[inside] = 0.0
        result[~inside] = NO_GRID
        misses = np.flatnonzero(~inside)
        if len(misses):
            near, dist = self._nearest(lons[misses], lats[misses])
            result[misses] = near
            distance[misses] = dist
        return result, distance

    def _nearest(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.full(len(lons), NO_GRID, dtype=np.int64)
        dist = np.full(len(lons), np.nan)
        if len(self) == 0 or self.snap_distance_m <= 0:
            return out, dist
        x, y = self._to_m.transform(lons, lats)
        points = shapely.points(x, y)
        (inp, tree_idx), d = self._tree_m.query_nearest(
            points, max_distance=self.snap_distance_m, return_distance=True, all_matches=True
        )
        big = np.iinfo(np.int64).max
        best = np.full(len(lons), big, dtype=np.int64)
        np.minimum.at(best, inp, tree_idx)  # equidistant grids: smallest code
        found = best != big
        out[found] = best[found]
        best_d = np.full(len(lons), np.nan)
        best_d[inp] = d  # all matches of one input share its minimum distance
        dist[found] = best_d[found]
        return out, dist


def build_index(rows: list[tuple[int, str, str]], *, snap_distance_m: float, version: object = 0) -> GridIndex:
    """Index from (id, code, GeoJSON text) rows."""
    ids = [r[0] for r in rows]
    codes = [r[1] for r in rows]
    geometries = shapely.from_geojson([r[2] for r in rows]) if rows else np.array([], dtype=object)
    return GridIndex(ids, codes, geometries, snap_distance_m=snap_distance_m, version=version)


_index: GridIndex | None = None
_index_lock = threading.Lock()


def grid_index() -> GridIndex:
    """This process's index of the grids in force, rebuilt when `GridLayer.identity()` changed."""
    global _index
    from grids.models import Grid, GridLayer

    key = GridLayer.identity()
    current = _index
    if current is not None and current.version == key:
        return current
    with _index_lock:
        if _index is None or _index.version != key:
            rows = list(Grid.objects.current().exclude(geometry="").values_list("id", "code", "geometry"))
            _index = build_index(rows, snap_distance_m=key[2], version=key)
        return _index


def locate(lon: float, lat: float) -> Located:
    return grid_index().locate(lon, lat)

