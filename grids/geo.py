"""Point → grid, and the small geometry helpers the rest of Gridcase uses (docs/domain.md §1).

The rule:
- the grid whose polygon contains the point;
- a point on a shared edge (or vertex) goes to exactly one grid, deterministically: the grid with
  the smallest code among those it touches;
- a point outside every grid but within the snap distance (default 50 m, `GridLayer`) goes to the
  nearest grid (ties: smallest code);
- further out: no grid, flagged outside. Nothing is rejected for its location alone.

How: an in-process shapely STRtree over the grids in force, queried with the `intersects`
predicate (prepared-geometry fast path; docs/performance.md), plus a second tree in metres (azimuthal
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
        shapely.prepare(self.geometries)
        bounds = shapely.bounds(self.geometries) if len(self.geometries) else np.empty((0, 4))
        self._buckets = _Buckets(bounds)
        # Bboxes grown by the snap distance (conservatively, in degrees) rule out far points cheaply.
        lat = float(np.abs(bounds[:, [1, 3]]).max()) if len(bounds) else 0.0
        dx = self.snap_distance_m / (111_320 * max(np.cos(np.radians(min(lat, 89.0))), 1e-6))
        dy = self.snap_distance_m / 110_540
        self._near_buckets = _Buckets(bounds + np.array([-dx, -dy, dx, dy]) * 1.01)
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
        """Bulk locate. Returns (positions into self.ids or NO_GRID, distance in metres or NaN).

        Candidates come from a bucket grid over the layer and a vectorised bbox test, then
        `intersects_xy` against prepared polygons: no Point objects are made for the common case.
        """
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        big = np.iinfo(np.int64).max
        result = np.full(n, big, dtype=np.int64)
        distance = np.full(n, np.nan)
        if n == 0 or len(self) == 0:
            return np.full(n, NO_GRID, dtype=np.int64), distance
        point_idx, grid_idx = self._buckets.candidates(lons, lats)
        hit = shapely.intersects_xy(self.geometries[grid_idx], lons[point_idx], lats[point_idx])
        np.minimum.at(result, point_idx[hit], grid_idx[hit])  # smallest code wins on shared edges
        inside = result != big
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
        near_idx, _grids = self._near_buckets.candidates(lons, lats)
        near = np.unique(near_idx)
        if len(near) < len(lons):  # only points within reach of some grid go to the metric tree
            sub_out, sub_dist = (
                self._nearest(lons[near], lats[near]) if len(near) else (out[:0], dist[:0])
            )
            out[near], dist[near] = sub_out, sub_dist
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


class _Buckets:
    """A uniform bucket grid over the layer: cell → grids whose bbox touches it (CSR arrays)."""

    def __init__(self, bounds: np.ndarray) -> None:
        self.bounds = bounds
        if not len(bounds):
            self.cell, self.nx, self.ny, self.origin = 1.0, 1, 1, (0.0, 0.0)
            self.starts, self.grids = np.zeros(2, dtype=np.int64), np.empty(0, dtype=np.int64)
            return
        b = self.bounds
        size = np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))
        self.cell = float(max(size / 2, 1e-6))
        self.origin = (float(b[:, 0].min()), float(b[:, 1].min()))
        self.nx = int((b[:, 2].max() - self.origin[0]) / self.cell) + 1
        self.ny = int((b[:, 3].max() - self.origin[1]) / self.cell) + 1
        cells, owners = [], []
        ix0, iy0 = self._ix(b[:, 0], b[:, 1])
        ix1, iy1 = self._ix(b[:, 2], b[:, 3])
        for g in range(len(b)):
            xs, ys = np.meshgrid(np.arange(ix0[g], ix1[g] + 1), np.arange(iy0[g], iy1[g] + 1))
            cells.append((ys * self.nx + xs).ravel())
            owners.append(np.full(xs.size, g, dtype=np.int64))
        cell_ids, grid_ids = np.concatenate(cells), np.concatenate(owners)
        order = np.lexsort((grid_ids, cell_ids))
        self.grids = grid_ids[order]
        self.starts = np.searchsorted(cell_ids[order], np.arange(self.nx * self.ny + 1))

    def _ix(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ix = np.clip(((x - self.origin[0]) / self.cell).astype(np.int64), 0, self.nx - 1)
        iy = np.clip(((y - self.origin[1]) / self.cell).astype(np.int64), 0, self.ny - 1)
        return ix, iy

    def candidates(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, grid index) pairs whose bbox contains the point."""
        ix, iy = self._ix(x, y)
        cell = iy * self.nx + ix
        first, counts = self.starts[cell], self.starts[cell + 1] - self.starts[cell]
        point_idx = np.repeat(np.arange(len(x)), counts)
        ends = np.cumsum(counts)
        offsets = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts - first, counts)
        grid_idx = self.grids[offsets]
        b = self.bounds[grid_idx]
        px, py = x[point_idx], y[point_idx]
        keep = (b[:, 0] <= px) & (px <= b[:, 2]) & (b[:, 1] <= py) & (py <= b[:, 3])
        return point_idx[keep], grid_idx[keep]


def build_index(
    rows: list[tuple[int, str, str]], *, snap_distance_m: float, version: object = 0
) -> GridIndex:
    """Index from (id, code, GeoJSON text) rows."""
    ids = [r[0] for r in rows]
    codes = [r[1] for r in rows]
    geometries = shapely.from_geojson([r[2] for r in rows]) if rows else np.array([], dtype=object)
    return GridIndex(ids, codes, geometries, snap_distance_m=snap_distance_m, version=version)


_index: GridIndex | None = None
_index_lock = threading.Lock()


def grid_index() -> GridIndex:
    """This process's index of the grids in force, rebuilt when `GridLayer.identity()` changed
    (read again only when a reference row changed: backend/reference.py)."""
    global _index
    from backend import reference
    from grids.models import Grid, GridLayer

    key = reference.cached("grid-layer", GridLayer.identity)
    current = _index
    if current is not None and current.version == key:
        return current
    with _index_lock:
        if _index is None or _index.version != key:
            rows = list(
                Grid.objects.current().exclude(geometry="").values_list("id", "code", "geometry")
            )
            _index = build_index(rows, snap_distance_m=key[2], version=key)
        return _index


def locate(lon: float, lat: float) -> Located:
    return grid_index().locate(lon, lat)


def grid_row(grid_id: int):
    """The Grid row `grid_id` with its community (geometry deferred), or None; from a per-process
    copy of every grid kept until a reference row changes (backend/reference.py). Shared between
    requests: read it, never modify it."""
    from backend import reference

    return reference.cached("grid-rows", _grid_rows).get(grid_id)


def grid_of(obj):
    """`obj.grid` (a case, a point) without a query: the loaded one, else the cached row."""
    if obj.grid_id is None:
        return None
    if obj._meta.get_field("grid").is_cached(obj):
        return obj.grid
    return grid_row(obj.grid_id) or obj.grid


def _grid_rows() -> dict:
    from grids.models import Grid

    rows = Grid.objects.select_related("community").defer(
        "geometry", "community__geometry", "community__derived_geometry"
    )
    return {grid.pk: grid for grid in rows}
