"""bench/all: every benchmark, one table of aims (`make bench-all`).

    .venv/bin/python bench/all.py [--full] [--only locate,cases,metrics,fanout,reports]

Runs each bench script with `--json` (the contract: a script given `--json` prints one JSON object
with its figures on its last line), quick sizes by default, the issue's sizes with `--full`
(1M cases for the metrics, 1,000 creates, 10,000 WebSocket clients over Redis), then prints the
machine and one row per figure: the aim (issue #25), the figure, its baseline measured in the
same run, the ratio, and whether the aim is met. Baselines: the trivial view (GET /api/health)
through the same server and front for HTTP; the raw metrics engine (every event of the period)
for the rollup-backed metrics; the naive per-point polygon loop for locate; the channel layer
alone for fan-out. Exits 1 when an aim is missed or a bench failed, so a regression shows (quick
sizes judge the same aims on smaller data). bench/reports.py is run when it exists.
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
    "cases": ["--topology", "--concurrency", "16", "--creates", "300", "--web", "2", "--ws", "1"],
    "metrics": ["--cases", "100000", "--naive-grids", "0", "--repeat", "3"],
    "fanout": ["--clients", "1000"],
    "reports": ["--cases", "100000", "--kinds", "weekly"],
}
FULL = {
    "locate": [],
    "cases": [
        "--topology",
        "--concurrency",
        "16",
        "--creates",
        "1000",
        "--web",
        "2",
        "--ws",
        "1",
        "--rates",
        "10,25,40",
    ],
    "metrics": ["--cases", "1000000", "--naive-grids", "0", "--repeat", "3"],
    "fanout": ["--clients", "1000", "--redis-clients", "10000"],
    "reports": ["--cases", "1000000", "--kinds", "weekly"],
}


def machine() -> list[tuple[str, str]]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    rows = [
        ("CPU", f"{cpu}, {os.cpu_count()} logical CPUs"),
        ("RAM", f"{mem_kb / 1024**2:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("load average at start", f"{os.getloadavg()[0]:.2f}"),
    ]
    try:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", connect_timeout=3) as conn:
            rows.append(("PostgreSQL", conn.execute("SHOW server_version").fetchone()[0]))
    except Exception as exc:  # noqa: BLE001 — the table says what is missing
        rows.append(("PostgreSQL", f"not reachable ({exc.__class__.__name__})"))
    try:
        import redis

        rows.append(
            ("Redis", redis.Redis.from_url(REDIS, socket_timeout=3).info()["redis_version"])
        )
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
        done = subprocess.run(
            [PY, str(HERE / f"{name}.py"), *args, "--json"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s", time.monotonic() - started
    seconds = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return (
            None,
            (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:150],
            seconds,
        )
    try:
        return json.loads(lines[-1]), "", seconds
    except ValueError:
        return None, "last line is not JSON: " + lines[-1][:100], seconds


Row = tuple[
    str, str, str, str, bool | None
]  # aim or figure, figure, baseline, ratio, aim met (None: no aim)
CLIENTS = 16  # the closed-loop clients for HTTP
CREATE_SHARE, CREATE_P99_MS = (
    0.50,
    100,
)  # create and transition ≥ 50 % of health's throughput, p99 ≤ 100 ms
METRICS_MS = 1000  # the API's table for any period up to a year
FANOUT_P99_MS = {"inmemory": 250, "redis": 1000}  # 1,000 clients of one process; 10,000 over Redis


def _ratio(a: float, b: float, unit: str = "×") -> str:
    return f"{a / b:,.2f}{unit}" if b else "—"


def locate_rows(f: dict) -> list[Row]:
    return [
        (
            f"locate bulk, {f['grids']:,} grids, {f['points']:,} pts",
            f"{f['bulk_pts_s']:,.0f} pts/s",
            f"{f['naive_pts_s']:,.0f} pts/s naive per-point loop",
            _ratio(f["bulk_pts_s"], f["naive_pts_s"]),
            None,
        ),
        (
            "locate per call p50 / p99",
            f"{f['call_p50_us']:.1f} / {f['call_p99_us']:.1f} µs",
            f"{f['naive_us_per_point']:,.0f} µs naive per point",
            _ratio(f["naive_us_per_point"], f["call_p50_us"]),
            None,
        ),
    ]


def cases_rows(f: dict) -> list[Row]:
    r = f["results"]
    health = r[f"health c={CLIENTS}"]
    base = f"{health['rps']:,.0f} req/s, p99 {health['p99_ms']:,.0f} ms GET /api/health"
    rows = []
    for key, what in (("create", "case create"), ("transition", "transition (accept)")):
        x = r[f"{key} c={CLIENTS}"]
        met = x["rps"] >= CREATE_SHARE * health["rps"] and x["p99_ms"] <= CREATE_P99_MS
        rows.append(
            (
                f"{what} ≥ {CREATE_SHARE:.0%} of health, p99 ≤ {CREATE_P99_MS} ms, c={CLIENTS}",
                f"{x['rps']:,.0f} req/s, p99 {x['p99_ms']:,.0f} ms",
                base,
                _ratio(x["rps"], health["rps"]),
                met,
            )
        )
    for key, x in r.items():
        if key.startswith("create rate="):
            rows.append(
                (
                    f"case create, open loop at {x['rate']:g} req/s",
                    f"p50 {x['p50_ms']:,.0f} / p99 {x['p99_ms']:,.0f} ms ({x['ok']}/{x['n']} ok)",
                    "latency at a given load",
                    "",
                    None,
                )
            )
    return rows


def metrics_rows(f: dict) -> list[Row]:
    rows = []
    for engine in f["engines"].values():
        for r in engine["results"]:
            source = "rollup + raw edges" if r.get("rollup") else "raw engine"
            rows.append(
                (
                    f"grid metrics ≤ {METRICS_MS} ms, {engine['cases']:,} cases, "
                    + f"{r['period']}, {engine['engine']}",
                    f"table {r['table_ms']:,.0f} ms (figures {r['grouped_ms']:,.0f} ms, {source})",
                    f"{r['raw_ms']:,.0f} ms raw engine (every event of the period)",
                    _ratio(r["raw_ms"], r["grouped_ms"]),
                    r["table_ms"] <= METRICS_MS,
                )
            )
    return rows


def fanout_rows(f: dict) -> list[Row]:
    rows = []
    layer = next(iter(f["layer_only_ms"].values()), {})
    alone = layer.get("SweepingInMemoryChannelLayer", 0)
    base = f"{alone:,.0f} ms layer alone (in-memory, {next(iter(f['layer_only_ms']), '?')} members)"
    for key, label in (
        ("inmemory", "1 Daphne, in-memory layer"),
        ("redis", "2 Daphne, Redis pub/sub"),
    ):
        if key in f:
            x = f[key]
            rows.append(
                (
                    f"WebSocket fan-out p99 ≤ {FANOUT_P99_MS[key]} ms, {x['clients']:,} clients, {label}",
                    f"p50 {x['p50_ms']:,.0f} / p99 {x['p99_ms']:,.0f} ms ({x['got']:,} got)",
                    base,
                    _ratio(x["p99_ms"], alone),
                    x["p99_ms"] <= FANOUT_P99_MS[key] and x["got"] == x["clients"],
                )
            )
    return rows


def reports_rows(f: dict) -> list[Row]:
    """bench/reports.py: per engine and report kind, publication time against the naive grid table."""
    rows = []
    for engine in f.get("engines", {}).values():
        for r in engine["results"]:
            rows.append(
                (
                    f"{r['kind']} report, {engine['cases']:,} cases, {engine['engine']}",
                    f"publish {r['publish_s']:,.1f} s (snapshot {r['build_s']:,.1f}, "
                    + f"PDF {r['pdf_s']:,.1f}, xlsx {r['xlsx_s']:,.1f})",
                    f"{r['naive_grid_table_s']:,.1f} s naive grid table alone",
                    _ratio(r["naive_grid_table_s"], r["build_s"]),
                    None,
                )
            )
    return rows or [("reports", json.dumps(f)[:60], "", "", None)]


ROWS = {
    "locate": locate_rows,
    "cases": cases_rows,
    "metrics": metrics_rows,
    "fanout": fanout_rows,
    "reports": reports_rows,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and print one table.")
    parser.add_argument(
        "--full", action="store_true", help="the issue's sizes (1M cases; takes long)"
    )
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
            rows.append((f"{name}", f"FAILED: {error}", "", "", False))
        else:
            try:
                rows += ROWS[name](figures)
            except (KeyError, TypeError, ValueError) as exc:
                rows.append((name, f"unexpected JSON ({exc!r})", "", "", False))
        print(f"  done in {seconds:.0f} s", flush=True)
    print(f"{'load average at end:':24} {os.getloadavg()[0]:.2f}")
    missed = print_table(rows)
    sys.exit(1 if missed else 0)


def print_table(rows: list[Row]) -> int:
    """The table, then how many aims were missed (a failed bench counts as missed)."""
    head = ("aim / benchmark", "figure", "baseline (same run)", "ratio", "met")
    cells = [(*row[:4], {True: "yes", False: "NO", None: "—"}[row[4]]) for row in rows]
    widths = [max(len(r[i]) for r in [*cells, head]) for i in range(5)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    aims = [row[4] for row in rows if row[4] is not None]
    missed = aims.count(False)
    print(
        f"\n{len(aims) - missed} of {len(aims)} aims met" + (f"; {missed} MISSED" if missed else "")
    )
    return missed


if __name__ == "__main__":
    main()
