"""Map layers: GeoJSON of areas and grids, simplified per zoom band, cached per layer version.

Simplification uses `shapely.coverage_simplify` over a whole layer at once, so neighbours keep
identical shared edges (simplifying polygon by polygon opens gaps and overlaps; docs/performance.md).
Each band is computed once per grid-layer version and per process; a request then only filters by
bounding box and writes bytes (pre-serialised geometries embedded with `orjson.Fragment`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import orjson
import shapely

# (max zoom of the band, tolerance in degrees ≈ metres / 100,000, decimals kept)
ZOOM_BANDS = ((11, 2e-4, 5), (13, 5e-5, 5), (99, 0.0, 6))


def zoom_band(zoom: int | None) -> int:
    if zoom is None:
        return len(ZOOM_BANDS) - 1
    for i, (max_zoom, _tol, _dec) in enumerate(ZOOM_BANDS):
        if zoom <= max_zoom:
            return i
    return len(ZOOM_BANDS) - 1


@dataclass
class Layer:
    properties: list[dict]
    geometries: list[bytes]  # GeoJSON text per feature
    bounds: np.ndarray  # (n, 4)

    def features(self, bbox: tuple[float, float, float, float] | None) -> list[dict]:
        if len(self.properties) == 0:
            return []
        if bbox is None:
            selected = range(len(self.properties))
        else:
            min_lon, min_lat, max_lon, max_lat = bbox
            b = self.bounds
            mask = (
                (b[:, 0] <= max_lon)
                & (b[:, 2] >= min_lon)
                & (b[:, 1] <= max_lat)
                & (b[:, 3] >= min_lat)
            )
            selected = np.flatnonzero(mask)
        return [
            {
                "type": "Feature",
                "id": self.properties[i]["code"],
                "properties": self.properties[i],
                "geometry": orjson.Fragment(self.geometries[i]),
            }
            for i in selected
        ]


def build_layer(properties: list[dict], geojson: list[str], band: int) -> Layer:
    if not geojson:
        return Layer([], [], np.empty((0, 4)))
    geoms = shapely.from_geojson(geojson)
    bounds = shapely.bounds(geoms)
    _max_zoom, tolerance, decimals = ZOOM_BANDS[band]
    if tolerance:
        geoms = _simplify(geoms, tolerance)
    texts = [
        orjson.dumps(_round_coords(orjson.loads(text), decimals))
        for text in shapely.to_geojson(geoms)
    ]
    return Layer(properties, texts, bounds)


def _simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification; real layers are rarely perfect coverages (rounding slivers), and
    GEOS refuses some: then keep the outer boundary, and as a last resort simplify each polygon."""
    for simplify_boundary in (True, False):
        try:
            return shapely.coverage_simplify(geoms, tolerance, simplify_boundary=simplify_boundary)
        except shapely.errors.GEOSException:
            continue
    return shapely.simplify(geoms, tolerance, preserve_topology=True)


def _round_coords(geometry: dict, decimals: int) -> dict:
    def rnd(c):
        if isinstance(c[0], (int, float)):
            return [round(c[0], decimals), round(c[1], decimals)]
        return [rnd(x) for x in c]

    geometry["coordinates"] = rnd(geometry["coordinates"])
    return geometry


_cache: dict[tuple, Layer] = {}
_cache_lock = threading.Lock()


def cached_layer(key: tuple, load) -> Layer:
    """The layer for `key` (which must include the grid-layer version), built by `load()` once."""
    layer = _cache.get(key)
    if layer is None:
        with _cache_lock:
            layer = _cache.get(key)
            if layer is None:
                if len(_cache) > 32:
                    _cache.clear()
                layer = _cache[key] = load()
    return layer


def feature_collection_bytes(features: list[dict]) -> bytes:
    return orjson.dumps({"type": "FeatureCollection", "features": features})
