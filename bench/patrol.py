"""bench/patrol: how long patrol coverage takes to answer (docs/domain.md §8) over the 1,301 SIP grids with
N officers' tracks, on SQLite and on PostgreSQL.

    .venv/bin/python bench/patrol.py [--officers 200] [--days 30] [--engines sqlite,postgres]
                                     [--pg postgres://postgres@127.0.0.1:5432] [--json]

The data: the 1,301 SIP grids dealt round-robin to `--officers` officers (assigned since 2024);
on every working day of the last `--days` days each officer walks their grids from 08:30 to
16:30 without a break at 4–5 km/h, a point every 30 s (960 points an officer-day), each officer's history stored
with one call of the service the phone's batches go through (patrol.tracks.record_points:
locate, insert, summarise). Measured: storing the points (points/s), then each coverage query
over the last 90 days — city, street, community, grid and officer rows — and the 3-day
not-patrolled list, each the best of 3 runs after one warm-up, as the API runs it
(patrol.coverage, the same functions the views call).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import PY, ROOT, environment, machine  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_metrics", HERE / "metrics.py")
bench_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_metrics)


def worker(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from grids.models import Grid, GridAssignment
    from patrol import coverage, demo
    from patrol.models import GridDay, OfficerDay, TrackPoint
    from patrol.tracks import record_points
    from people.models import Organisation, Role, User

    call_command("migrate", verbosity=0)
    sip = str(ROOT / "fixtures" / "sip") + "/"
    with open(os.devnull, "w") as quiet:
        call_command(
            "import_grids",
            sip + "sip_grid_comprehensive_826.geojson",
            sip + "sip_grid_dedicated_475.geojson",
            code_map=sip + "code_map.csv",
            verbosity=0,
            stdout=quiet,
        )
    Grid.objects.update(valid_from=dt.date(2024, 1, 1))
    centre = Organisation.objects.create(code="centre", name="中心", kind="centre")
    officers = [
        User.objects.create_user(f"bench-officer{k}", role=Role.OFFICER, organisation=centre)
        for k in range(args.officers)
    ]
    grids = list(Grid.objects.order_by("code"))
    GridAssignment.objects.bulk_create(
        [
            GridAssignment(grid=g, officer=officers[n % len(officers)], since=dt.date(2024, 1, 1))
            for n, g in enumerate(grids)
        ]
    )
    today = timezone.localdate()
    days = coverage.working_days(today - dt.timedelta(days=args.days), today - dt.timedelta(days=1))
    rng = random.Random(5)
    grids_of = {
        o.pk: [g for n, g in enumerate(grids) if n % len(officers) == i]
        for i, o in enumerate(officers)
    }
    generate_s = store_s = 0.0
    stored = 0
    for officer in officers:
        shapes = [__import__("shapely").from_geojson(g.geometry) for g in grids_of[officer.pk]]
        started = time.perf_counter()
        points = []
        for day in days:
            points.extend(demo._walk_day(day, shapes, rng, hours=(dt.time(8, 30), dt.time(16, 30))))
        generate_s += time.perf_counter() - started
        started = time.perf_counter()
        record_points(officer, points)
        store_s += time.perf_counter() - started
        stored += len(points)

    end = today - dt.timedelta(days=1)
    start = end - dt.timedelta(days=89)
    period = coverage.working_days(start, end)
    queries = {
        f"coverage 90 days, {level}": (
            lambda level=level: coverage.coverage_table(level=level, days=period)
        )
        for level in ("city", "street", "community", "grid", "officer")
    }
    queries["coverage one day, grid"] = lambda: coverage.coverage_table(level="grid", days=[end])
    queries["not patrolled 3 days"] = lambda: coverage.unpatrolled_grids(day=end, min_days=3)
    timings = {}
    for name, run in queries.items():
        rows = run()
        best = min(_timed(run) for _ in range(3))
        timings[name] = {"s": round(best, 3), "rows": len(rows)}
    city = coverage.coverage_table(level="city", days=period)[0]
    engine = (
        f"SQLite {connection.Database.sqlite_version}"
        if connection.vendor == "sqlite"
        else f"PostgreSQL {connection.pg_version // 10000}"
    )
    print(
        json.dumps(
            {
                "engine": engine,
                "officers": len(officers),
                "working_days_tracked": len(days),
                "points": stored,
                "track_points_rows": TrackPoint.objects.count(),
                "grid_day_rows": GridDay.objects.count(),
                "officer_day_rows": OfficerDay.objects.count(),
                "generate_s": round(generate_s, 1),
                "store_s": round(store_s, 1),
                "points_per_s": round(stored / store_s) if store_s else None,
                "city_coverage_90d": city["coverage"],
                "queries": timings,
            }
        )
    )


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def run_engine(engine: str, args) -> dict:
    data_dir = tempfile.mkdtemp(prefix="gridcase-bench-patrol-")
    url = ""
    if engine == "postgres":
        url = f"{args.pg.rstrip('/')}/gridcase_bench_patrol"
        bench_metrics._pg_admin(
            args.pg,
            "DROP DATABASE IF EXISTS gridcase_bench_patrol",
            "CREATE DATABASE gridcase_bench_patrol",
        )
    env = environment(data_dir, DATABASE_URL=url)
    try:
        done = subprocess.run(
            [PY, __file__, "--worker", "--officers", str(args.officers), "--days", str(args.days)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{engine} failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if engine == "postgres":
            bench_metrics._pg_admin(args.pg, "DROP DATABASE IF EXISTS gridcase_bench_patrol")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument(
        "--days", type=int, default=30, help="calendar days of tracks (their working days)"
    )
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(
        f"machine: {machine()}; 1,301 SIP grids, {args.officers} officers, {args.days} days of tracks; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    engines = {}
    for engine in args.engines.split(","):
        done = engines[engine] = run_engine(engine, args)
        print(
            f"\n{done['engine']}: {done['points']:,} points ({done['working_days_tracked']} working days), stored in "
            f"{done['store_s']} s ({done['points_per_s']:,} points/s, locate + insert + summarise); "
            f"{done['grid_day_rows']:,} grid-day rows; city coverage over 90 days {done['city_coverage_90d']}"
        )
        for name, t in done["queries"].items():
            print(f"  {name:32} {t['s']:>7.3f} s  {t['rows']:>5} rows")
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine(),
                    "officers": args.officers,
                    "days": args.days,
                    "engines": engines,
                }
            )
        )


if __name__ == "__main__":
    main()
