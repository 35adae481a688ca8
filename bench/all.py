"""bench/all: every benchmark, one table (`make bench-all`).

    .venv/bin/python bench/all.py [--full] [--only locate,cases,metrics,fanout,reports]

Runs each bench script with `--json` (the contract: a script given `--json` prints one JSON object
with its figures on its last line), quick sizes by default, the issue's sizes with `--full`
(1M cases for the metrics, 1,000 creates), then prints the machine and one row per figure:
the figure, its baseline from the same run, and the ratio. Baselines: the trivial view
(GET /api/health) through the same server and front for HTTP; the naive per-point polygon loop for
locate; the per-grid query loop for metrics; the channel layer alone for fan-out.
bench/reports.py (weekly report generation) is run when it exists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")

QUICK = {
    "locate": ["--points", "300000", "--calls", "5000", "--naive", "500"],
    "cases": ["--topology", "--concurrency", "50", "--creates", "300", "--web", "4", "--ws", "1"],
    "metrics": ["--cases", "100000", "--naive-grids", "30", "--repeat", "3"],
    "fanout": ["--clients", "1000"],
    "reports": ["--cases", "100000", "--kinds", "weekly"],
}
FULL = {
    "locate": [],
    "cases": ["--topology", "--concurrency", "50", "--creates", "1000", "--web", "4", "--ws", "1", "--rates", "10,25,40"],
    "metrics": ["--cases", "1000000"],
    "fanout": ["--clients", "1000"],
    "reports": ["--cases", "1000000", "--kinds", "weekly"],
}


def machine() -> list[tuple[str, str]]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    rows = [("CPU", f"{cpu}, {os.cpu_count()} logical CPUs"), ("RAM", f"{mem_kb / 1024 ** 2:.1f} GiB"),
            ("OS", f"{platform.system()} {platform.release()}"), ("Python", platform.python_version()),
            ("SQLite", sqlite3.sqlite_version), ("load average at start", f"{os.getloadavg()[0]:.2f}")]
    try:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", connect_timeout=3) as conn:
            rows.append(("PostgreSQL", conn.execute("SHOW server_version").fetchone()[0]))
    except Exception as exc:  # noqa: BLE001 — the table says what is missing
        rows.append(("PostgreSQL", f"not reachable ({exc.__class__.__name__})"))
    try:
        import redis

        rows.append(("Redis", redis.Redis.from_url(REDIS, socket_timeout=3).info()["redis_version"]))
    except Exception as exc:  # noqa: BLE001
        rows.append(("Redis", f"not reachable ({exc.__class__.__name__})"))
    import django
    import gunicorn

    rows.append(("Django / gunicorn", f"{django.__version__} / {gunicorn.__version__}"))
    return rows


def run(name: str, args: list[str], timeout: float) -> tuple[dict | None, str, float]:
    """(figures, error, seconds) of bench/<name>.py --json."""
    started = time.monotonic()
    try:
        done = subprocess.run([PY, str(HERE / f"{name}.py"), *args, "--json"], cwd=HERE, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s", time.monotonic() - started
    seconds = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return None, (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1][:150], seconds
    try:
        return json.loads(lines[-1]), "", seconds
    except ValueError:
        return None, "last line is not JSON: " + lines[-1][:100], seconds


Row = tuple[str, str, str, str]


def _ratio(a: float, b: float, unit: str = "×") -> str:
    return f"{a / b:,.2f}{unit}" if b else "—"


def locate_rows(f: dict) -> list[Row]:
    return [
        (f"locate bulk, {f['grids']:,} grids, {f['points']:,} pts", f"{f['bulk_pts_s']:,.0f} pts/s",
         f"{f['naive_pts_s']:,.0f} pts/s naive per-point loop", _ratio(f["bulk_pts_s"], f["naive_pts_s"])),
        ("locate per call p50 / p99", f"{f['call_p50_us']:.1f} / {f['call_p99_us']:.1f} µs",
         f"{f['naive_us_per_point']:,.0f} µs naive per point", _ratio(f["naive_us_per_point"], f["call_p50_us"])),
    ]


def cases_rows(f: dict) -> list[Row]:
    r = f["results"]
    health, create, move = r["health c=50"], r["create c=50"], r["transition c=50"]
    base = f"{health['rps']:,.0f} req/s GET /api/health"
    rows = [
        ("case create c=50 (topology, PostgreSQL)", f"{create['rps']:,.0f} req/s, p99 {create['p99_ms']:,.0f} ms",
         base + f", p99 {health['p99_ms']:,.0f} ms", _ratio(create["rps"], health["rps"])),
        ("transition (accept) c=50", f"{move['rps']:,.0f} req/s, p99 {move['p99_ms']:,.0f} ms", base,
         _ratio(move["rps"], health["rps"])),
    ]
    for key, x in r.items():
        if key.startswith("create rate="):
            rows.append((f"case create, open loop at {x['rate']:g} req/s", f"p50 {x['p50_ms']:,.0f} / p99 "
                         f"{x['p99_ms']:,.0f} ms ({x['ok']}/{x['n']} ok)", "latency at a given load", ""))
    return rows


def metrics_rows(f: dict) -> list[Row]:
    rows = []
    for engine in f["engines"].values():
        for r in engine["results"]:
            if r["period"] != "week":
                continue
            rows.append((f"grid metrics, 1,301 grids × {engine['cases']:,} cases, week, {engine['engine']}",
                         f"{r['grouped_ms']:,.0f} ms (table {r['table_ms']:,.0f} ms)",
                         f"{r['naive_ms']:,.0f} ms per-grid loop", _ratio(r["naive_ms"], r["grouped_ms"])))
    return rows


def fanout_rows(f: dict) -> list[Row]:
    rows = []
    layer = next(iter(f["layer_only_ms"].values()), {})
    base = f"{layer.get('SweepingInMemoryChannelLayer', 0):,.0f} ms layer alone (in-memory)"
    for key, label in (("inmemory", "1 Daphne, in-memory layer"), ("redis", "2 Daphne, Redis pub/sub")):
        if key in f:
            x = f[key]
            rows.append((f"WebSocket fan-out to {x['clients']:,} clients, {label}",
                         f"p50 {x['p50_ms']:,.0f} / p99 {x['p99_ms']:,.0f} ms ({x['got']:,} got)", base,
                         _ratio(x["p99_ms"], layer.get("SweepingInMemoryChannelLayer", 0))))
    return rows


def reports_rows(f: dict) -> list[Row]:
    """bench/reports.py: per engine and report kind, publication time against the naive grid table."""
    rows = []
    for engine in f.get("engines", {}).values():
        for r in engine["results"]:
            rows.append((f"{r['kind']} report, {engine['cases']:,} cases, {engine['engine']}",
                         f"publish {r['publish_s']:,.1f} s (snapshot {r['build_s']:,.1f}, PDF {r['pdf_s']:,.1f}, "
                         f"xlsx {r['xlsx_s']:,.1f})", f"{r['naive_grid_table_s']:,.1f} s naive grid table alone",
                         _ratio(r["naive_grid_table_s"], r["build_s"])))
    return rows or [("reports", json.dumps(f)[:60], "", "")]


ROWS = {"locate": locate_rows, "cases": cases_rows, "metrics": metrics_rows, "fanout": fanout_rows,
        "reports": reports_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and print one table.")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (1M cases; takes long)")
    parser.add_argument("--only", default="", help="comma-separated subset: " + ",".join(ROWS))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per bench script")
    args = parser.parse_args()
    sizes = FULL if args.full else QUICK
    names = [n for n in (args.only.split(",") if args.only else ROWS) if n]
    if "reports" in names and not (HERE / "reports.py").exists():
        names.remove("reports")
        print("bench/reports.py does not exist yet: no weekly-report row.")
    for key, value in machine():
        print(f"{key + ':':24} {value}")
    print(f"{'sizes:':24} {'full' if args.full else 'quick (--full for the issue sizes)'}\n")
    rows: list[Row] = []
    for name in names:
        print(f"running bench/{name}.py {' '.join(sizes[name])} --json …", flush=True)
        figures, error, seconds = run(name, sizes[name], args.timeout)
        if figures is None:
            rows.append((f"{name}", f"FAILED: {error}", "", ""))
        else:
            try:
                rows += ROWS[name](figures)
            except (KeyError, TypeError, ValueError) as exc:
                rows.append((name, f"unexpected JSON ({exc!r})", "", ""))
        print(f"  done in {seconds:.0f} s", flush=True)
    widths = [max(len(r[i]) for r in rows + [("benchmark", "figure", "baseline", "ratio")]) for i in range(4)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(("benchmark", "figure", "baseline", "ratio"), widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
