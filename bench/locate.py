"""bench/locate: point → grid over the 1,301 SIP grids (issue #2 aim: ≥ 0.8M points/s bulk, ≤ 50 µs per call).

    .venv/bin/python bench/locate.py [--points 1000000] [--seed 1]

Uses the same GridIndex the API uses (grids/geo.py), built from fixtures/sip, without a database.
Points are uniform in the layer's bounding box (most fall in a grid; the rest take the
nearest-within-50-m path or come back outside). Baseline in the same run: a naive Python loop
testing each polygon in turn, on a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from grids.geo import GridIndex  # noqa: E402

SIP = ROOT / "fixtures" / "sip"


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, shapely {shapely.__version__}"
    )


def load_index() -> GridIndex:
    frame = pd.concat(
        [
            gpd.read_file(SIP / f)
            for f in ("sip_grid_comprehensive_826.geojson", "sip_grid_dedicated_475.geojson")
        ]
    )
    return GridIndex(
        list(range(len(frame))), frame.grid_code.tolist(), frame.geometry.values, snap_distance_m=50
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    index = load_index()
    build_ms = (time.perf_counter() - t0) * 1000
    rng = np.random.default_rng(args.seed)
    minx, miny, maxx, maxy = shapely.total_bounds(index.geometries)
    lons = rng.uniform(minx, maxx, args.points)
    lats = rng.uniform(miny, maxy, args.points)

    index.locate_many(lons[:1000], lats[:1000])  # warm up
    t0 = time.perf_counter()
    found, distance = index.locate_many(lons, lats)
    bulk_s = time.perf_counter() - t0
    inside = np.count_nonzero(distance == 0)
    snapped = np.count_nonzero(distance > 0)

    # The inside-only fast path on the same points (what most real reports are).
    in_lons, in_lats = lons[distance == 0], lats[distance == 0]
    t0 = time.perf_counter()
    index.locate_many(in_lons, in_lats)
    inside_rate = len(in_lons) / (time.perf_counter() - t0)

    samples = []
    for lon, lat in zip(lons[: args.calls], lats[: args.calls], strict=True):
        t = time.perf_counter_ns()
        index.locate(lon, lat)
        samples.append((time.perf_counter_ns() - t) / 1000)
    in_samples = []
    for lon, lat in zip(in_lons[: args.calls], in_lats[: args.calls], strict=True):
        t = time.perf_counter_ns()
        index.locate(lon, lat)
        in_samples.append((time.perf_counter_ns() - t) / 1000)

    geoms = list(index.geometries)
    t0 = time.perf_counter()
    for lon, lat in zip(lons[: args.naive], lats[: args.naive], strict=True):
        p = shapely.Point(lon, lat)
        next((i for i, g in enumerate(geoms) if g.intersects(p)), None)
    naive_per_point = (time.perf_counter() - t0) / args.naive

    q = lambda xs, p: np.percentile(xs, p)  # noqa: E731
    print(f"machine: {machine()}")
    print(f"grids: {len(index)}  index build: {build_ms:.0f} ms (both trees)")
    print(
        f"points: {args.points:,} uniform in the layer bbox: {inside:,} inside, {snapped:,} snapped ≤50 m, "
        f"{args.points - inside - snapped:,} outside"
    )
    print(f"{'measure':44} {'value':>14}")
    print(f"{'bulk, uniform in bbox (points/s)':44} {args.points / bulk_s:>14,.0f}")
    print(f"{'bulk, points over the grids (points/s)':44} {inside_rate:>14,.0f}")
    print(
        f"{'per call locate(), mixed: p50 / p99 (µs)':44} {q(samples, 50):>6.1f} / {q(samples, 99):>5.1f}"
    )
    print(
        f"{'per call locate(), inside: p50 / p99 (µs)':44} {q(in_samples, 50):>6.1f} / {q(in_samples, 99):>5.1f}"
    )
    print(f"{'per call locate(), inside: mean (µs)':44} {statistics.fmean(in_samples):>14.1f}")
    print(f"{'naive loop over polygons (µs per point)':44} {naive_per_point * 1e6:>14.1f}")
    print(f"{'speed-up of bulk over naive':44} {naive_per_point * args.points / bulk_s:>13.0f}×")
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "grids": len(index),
                    "points": args.points,
                    "bulk_pts_s": args.points / bulk_s,
                    "bulk_inside_pts_s": inside_rate,
                    "call_p50_us": q(samples, 50),
                    "call_p99_us": q(samples, 99),
                    "call_inside_p50_us": q(in_samples, 50),
                    "call_inside_p99_us": q(in_samples, 99),
                    "naive_us_per_point": naive_per_point * 1e6,
                    "naive_pts_s": 1 / naive_per_point,
                }
            )
        )


if __name__ == "__main__":
    main()
