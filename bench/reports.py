"""bench/reports: how long a weekly (and monthly, quarterly) report takes to build and publish over
N synthetic cases, on SQLite and on PostgreSQL — the snapshot (every table, list and chart), the
PDF, the workbook, and the whole publication as the scheduler runs it.

    .venv/bin/python bench/reports.py [--cases 1000000] [--engines sqlite,postgres] [--kinds weekly,monthly]
                                      [--pg postgres://postgres@127.0.0.1:5432] [--json]

The data are bench/metrics.py's (the same generator and loader: a year of cases over the 1,301
SIP grids, 200 officers, 30 units; grid assignments added here so patrol coverage has work to do).
Baseline in the same run: the report's grid table asked the naive way, one grid at a time
(measured over 50 grids, scaled to 1,301).
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

# bench/metrics.py by path: the name `metrics` is the Django app's.
_spec = importlib.util.spec_from_file_location("bench_metrics", HERE / "metrics.py")
bench_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_metrics)
NOW = bench_metrics.NOW  # Mon 2025-12-29 00:00 Asia/Shanghai: the week before is complete


def worker(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    from cases.models import Case, CaseEvent
    from grids.models import Grid, GridAssignment
    from metrics.reports import Figures, figures_by_level
    from reports import jobs, render
    from reports.build import build
    from reports.models import Report, State
    from reports.periods import latest_due

    call_command("migrate", verbosity=0)
    cast = bench_metrics.make_cast()
    load_s = bench_metrics.load(args.cases, cast)
    grids = list(Grid.objects.values_list("pk", flat=True))
    GridAssignment.objects.bulk_create(
        [
            GridAssignment(
                grid_id=g,
                officer_id=cast.officers[n % len(cast.officers)],
                since=dt.date(2024, 1, 1),
            )
            for n, g in enumerate(grids)
        ]
    )
    results = []
    for kind in args.kinds.split(","):
        span = latest_due(kind, NOW)
        started = time.perf_counter()
        with translation.override("zh-hans"):
            data = build(span, now=NOW)
        build_s = time.perf_counter() - started
        probe = Report(
            kind=kind,
            start=span.start,
            end=span.end,
            label=span.label,
            key=span.key,
            data=data,
            year=span.year,
            issue=1,
            serial=1,
            published_at=NOW,
        )
        with translation.override("zh-hans"):
            started = time.perf_counter()
            pdf = render.pdf(probe)
            pdf_s = time.perf_counter() - started
            started = time.perf_counter()
            xlsx = render.xlsx(probe)
            xlsx_s = time.perf_counter() - started
        report = jobs.request(span)
        jobs._claim(NOW)
        started = time.perf_counter()
        report = jobs.publish(Report.objects.get(pk=report.pk), now=NOW)
        publish_s = time.perf_counter() - started
        if report.state != State.PUBLISHED:
            raise SystemExit(f"{kind} failed: {report.error}")
        from metrics.reports import Period

        p = Period(span.start, span.end, span.end)
        sample = random.Random(3).sample(list(Grid.objects.values_list("pk", "code")), 50)
        started = time.perf_counter()
        for pk, code in sample:
            figures_by_level("grid", p, area=code).get(pk, Figures())
        naive_s = (time.perf_counter() - started) * len(grids) / len(sample)
        results.append(
            {
                "kind": kind,
                "period": span.key,
                "build_s": round(build_s, 2),
                "pdf_s": round(pdf_s, 2),
                "xlsx_s": round(xlsx_s, 2),
                "publish_s": round(publish_s, 2),
                "pdf_kb": len(pdf) // 1024,
                "xlsx_kb": len(xlsx) // 1024,
                "snapshot_kb": len(json.dumps(data)) // 1024,
                "naive_grid_table_s": round(naive_s, 1),
                "events_in_period": CaseEvent.objects.filter(
                    at__gte=span.start, at__lt=span.end
                ).count(),
            }
        )
    engine = (
        f"SQLite {connection.Database.sqlite_version}"
        if connection.vendor == "sqlite"
        else f"PostgreSQL {connection.pg_version // 10000}"
    )
    print(
        json.dumps(
            {
                "engine": engine,
                "cases": Case.objects.count(),
                "load_s": round(load_s, 1),
                "results": results,
            }
        )
    )


def run_engine(engine: str, args) -> dict:
    data_dir = tempfile.mkdtemp(prefix="gridcase-bench-reports-")
    url = ""
    if engine == "postgres":
        url = f"{args.pg.rstrip('/')}/gridcase_bench_reports"
        bench_metrics._pg_admin(
            args.pg,
            "DROP DATABASE IF EXISTS gridcase_bench_reports",
            "CREATE DATABASE gridcase_bench_reports",
        )
    env = environment(data_dir, DATABASE_URL=url)
    try:
        done = subprocess.run(
            [PY, __file__, "--worker", "--cases", str(args.cases), "--kinds", args.kinds],
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
            bench_metrics._pg_admin(args.pg, "DROP DATABASE IF EXISTS gridcase_bench_reports")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--kinds", default="weekly,monthly")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(
        f"machine: {machine()}; {args.cases:,} cases, 1,301 SIP grids; load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'engine':14} {'report':8} {'period':9} {'events in P':>11} {'snapshot s':>10} {'PDF s':>6} {'xlsx s':>6}"
        f" {'publish s':>9} {'PDF KB':>7} {'naive grid table s':>18}"
    )
    engines = {}
    for engine in args.engines.split(","):
        done = engines[engine] = run_engine(engine, args)
        for r in done["results"]:
            print(
                f"{done['engine']:14} {r['kind']:8} {r['period']:9} {r['events_in_period']:>11,} {r['build_s']:>10}"
                f" {r['pdf_s']:>6} {r['xlsx_s']:>6} {r['publish_s']:>9} {r['pdf_kb']:>7} {r['naive_grid_table_s']:>18}"
            )
    if args.json:
        print(json.dumps({"machine": machine(), "cases": args.cases, "engines": engines}))


if __name__ == "__main__":
    main()
