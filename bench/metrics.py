"""bench/metrics: every grid-level figure (docs/domain.md §6) for the 1,301 SIP grids over N synthetic
cases, on SQLite and on PostgreSQL, beside a naive loop that asks one grid at a time.

    .venv/bin/python bench/metrics.py [--cases 1000000] [--engines sqlite,postgres] [--naive-grids 100]
                                      [--repeat 5] [--pg postgres://postgres@127.0.0.1:5432] [--keep]
                                      [--periods week,4weeks,year]

For each engine a throwaway database (a temp SQLite file; a PostgreSQL database created and
dropped here) is migrated, the SIP grids imported, and N cases with their events written with
executemany (SQLite) or COPY (PostgreSQL) — synthetic but shaped like the workflow's: a year of
reports, 88 % registered and dispatched, with rework, extensions, returns, suspensions, rejections,
self-handled and voided cases, the latest ones still open. Then, for the last full week, the last
4 weeks and the whole year: `figures_by_level("grid")` (one SQL statement), `evaluate("grid")` (the
API's table: figures, objects, scores, ranks), and the naive loop (the same figures asked per grid,
measured over --naive-grids grids and scaled to 1,301); the naive answers must equal the grouped ones.
The two indexes metrics needs (cases migration 0005, docs/metrics.md) are in place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, ROOT, environment, machine  # noqa: E402

UTC = dt.UTC
NOW = dt.datetime(2025, 12, 28, 16, 0, tzinfo=UTC)  # Mon 2025-12-29 00:00 in Asia/Shanghai
DAYS = 364
CHUNK = 20_000
UNITS, OFFICERS = 30, 200
EVENT_COLUMNS = (
    "id",
    "case_id",
    "seq",
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "actor_role",
    "unit_id",
    "at",
    "reason",
    "data",
)
CASE_COLUMNS = (
    "id",
    "number",
    "source",
    "category_id",
    "lon",
    "lat",
    "grid_id",
    "outside_grid",
    "address",
    "description",
    "attributes",
    "reporter_id",
    "reporter_contact",
    "status",
    "version",
    "urgent",
    "unit_id",
    "supervised",
    "pending_request",
    "evidence_flags",
    "reported_at",
    "dispatched_at",
    "deadline",
    "disposed_at",
    "closed_at",
    "suspended_since",
    "suspended_seconds",
    "updated_at",
)
H = dt.timedelta(hours=1)


# --- synthetic cases ---------------------------------------------------------------------------


class Cast:
    """Ids of the people and things the synthetic events name."""

    def __init__(
        self,
        grids: list[int],
        units: list[int],
        members: list[int],
        officers: list[int],
        centre: dict[str, int],
        category: int,
    ) -> None:
        self.grids, self.units, self.members, self.officers = grids, units, members, officers
        self.centre, self.category = centre, category


def _path(rng: random.Random, cast: Cast, reported: dt.datetime) -> list[tuple]:
    """The events of one case as (action, from, to, actor, role, unit, at, data)."""
    officer, c, t = rng.choice(cast.officers), cast.centre, reported
    ev: list[tuple] = [
        ("report", "", "reported", officer, "officer", None, t, {"source": "patrol"})
    ]
    r = rng.random()
    if r < 0.03:
        return ev + [
            ("reject", "reported", "rejected", c["acceptor"], "acceptor", None, t + H / 3, {})
        ]
    if r < 0.05:
        return ev + [
            ("self_handle", "reported", "closing", officer, "officer", None, t + H / 12, {}),
            (
                "close",
                "closing",
                "closed",
                c["shift_leader"],
                "shift_leader",
                None,
                t + H / 2,
                {"on_time": True},
            ),
        ]
    ev.append(
        (
            "accept",
            "reported",
            "pending_registration",
            c["acceptor"],
            "acceptor",
            None,
            t + H / 6,
            {},
        )
    )
    if r < 0.07:
        return ev + [
            (
                "void",
                "pending_registration",
                "voided",
                c["shift_leader"],
                "shift_leader",
                None,
                t + H / 2,
                {},
            )
        ]
    ev.append(
        (
            "register",
            "pending_registration",
            "dispatching",
            c["shift_leader"],
            "shift_leader",
            None,
            t + H / 2,
            {"step": "register", "step_on_time": True},
        )
    )
    return ev + _handled(rng, cast, officer, t + H)


def _handled(rng: random.Random, cast: Cast, officer: int, t: dt.datetime) -> list[tuple]:
    """Dispatch at `t` (deadline a day later), detours, feedback, check, close."""
    c, k = cast.centre, rng.randrange(len(cast.units))
    unit, member, deadline = cast.units[k], cast.members[k], t + 24 * H
    ev = [
        (
            "dispatch",
            "dispatching",
            "handling",
            c["dispatcher"],
            "dispatcher",
            unit,
            t,
            {"unit": unit, "first": True, "deadline": deadline.isoformat()},
        )
    ]
    if rng.random() < 0.02:  # returned and re-dispatched to another unit; the deadline stands
        ev += [
            ("request_return", "handling", "handling", member, "unit_member", unit, t + 2 * H, {}),
            (
                "approve_return",
                "handling",
                "dispatching",
                c["dispatcher"],
                "dispatcher",
                unit,
                t + 3 * H,
                {"request": "return", "approved": True},
            ),
        ]
        k = rng.randrange(len(cast.units))
        unit, member, t = cast.units[k], cast.members[k], t + 4 * H
        ev.append(
            (
                "dispatch",
                "dispatching",
                "handling",
                c["dispatcher"],
                "dispatcher",
                unit,
                t,
                {"unit": unit, "first": False, "deadline": deadline.isoformat()},
            )
        )
    if rng.random() < 0.03:  # a day's extension
        deadline, t = deadline + 24 * H, t + 2 * H
        ev += [
            ("request_extension", "handling", "handling", member, "unit_member", unit, t - H, {}),
            (
                "approve_extension",
                "handling",
                "handling",
                c["dispatcher"],
                "dispatcher",
                unit,
                t,
                {"request": "extension", "approved": True, "deadline": deadline.isoformat()},
            ),
        ]
    if rng.random() < 0.01:  # suspended two days
        deadline, t = deadline + 48 * H, t + 50 * H
        ev += [
            (
                "request_suspension",
                "handling",
                "handling",
                member,
                "unit_member",
                unit,
                t - 49 * H,
                {},
            ),
            (
                "approve_suspension",
                "handling",
                "suspended",
                c["dispatcher"],
                "dispatcher",
                unit,
                t - 48 * H,
                {},
            ),
            (
                "resume",
                "suspended",
                "handling",
                c["dispatcher"],
                "dispatcher",
                unit,
                t,
                {"deadline": deadline.isoformat()},
            ),
        ]
    rounds = 2 if rng.random() < 0.05 else 1  # 5 % reworked once
    for n in range(rounds):
        t += rng.uniform(2, 40) * H
        passed = n == rounds - 1
        ev += [
            (
                "feedback",
                "handling",
                "checking",
                member,
                "unit_member",
                unit,
                t,
                {"on_time": t <= deadline},
            ),
            (
                "check",
                "checking",
                "closing" if passed else "handling",
                officer,
                "officer",
                unit,
                t + H,
                {
                    "outcome": "pass" if passed else "fail",
                    "rework": not passed,
                    "step": "check",
                    "step_on_time": rng.random() < 0.9,
                },
            ),
        ]
        t += H
    return ev + [
        (
            "close",
            "closing",
            "closed",
            c["shift_leader"],
            "shift_leader",
            unit,
            t + H,
            {"on_time": ev[-2][7]["on_time"]},
        )
    ]


def _case_row(i: int, number: str, grid: int, cast: Cast, ev: list[tuple]) -> tuple:
    """The case row as the workflow would leave it after `ev`."""
    last = ev[-1]
    dispatches = [e for e in ev if e[0] == "dispatch"]
    feedbacks = [e for e in ev if e[0] in ("feedback", "self_handle")]
    deadlines = [e[7]["deadline"] for e in ev if "deadline" in e[7]]
    unit = None if last[0] == "approve_return" else (dispatches[-1][5] if dispatches else None)
    return (
        i,
        number,
        "patrol",
        cast.category,
        None,
        None,
        grid,
        False,
        "",
        "",
        "{}",
        ev[0][3],
        "{}",
        last[2],
        len(ev),
        False,
        unit,
        False,
        "",
        "[]",
        ev[0][6],
        dispatches[0][6] if dispatches else None,
        dt.datetime.fromisoformat(deadlines[-1]) if deadlines else None,
        feedbacks[-1][6] if feedbacks else None,
        last[6] if last[0] == "close" else None,
        last[6] if last[2] == "suspended" else None,
        0,
        last[6],
    )


def generate(n: int, cast: Cast, seed: int = 1):
    """Yield (case rows, event rows) in chunks, reports spread evenly over the year before NOW;
    events after NOW are cut, which leaves the latest cases open at every step."""
    rng = random.Random(seed)
    start = NOW - dt.timedelta(days=DAYS)
    serials: dict[str, int] = {}
    event_id = 0
    cases, events = [], []
    for i in range(1, n + 1):
        reported = start + dt.timedelta(seconds=int((i - 0.5) * DAYS * 86400 / n))
        ev = [e for e in _path(rng, cast, reported) if e[6] < NOW]
        day = (reported + 8 * H).strftime("%Y%m%d")
        serials[day] = serials.get(day, 0) + 1
        cases.append(_case_row(i, f"{day}{serials[day]:05d}", rng.choice(cast.grids), cast, ev))
        for seq, (action, frm, to, actor, role, unit, at, data) in enumerate(ev, start=1):
            event_id += 1
            events.append(
                (event_id, i, seq, action, frm, to, actor, role, unit, at, "", json.dumps(data))
            )
        if len(cases) == CHUNK or i == n:
            yield cases, events
            cases, events = [], []


# --- loading -----------------------------------------------------------------------------------


def load(n: int, cast: Cast) -> float:
    """Insert the synthetic cases and events and analyse them; return the seconds it took. (The
    indexes metrics needs come with the cases migrations: case_event_metrics, case_metrics.)"""
    from django.db import connection

    started = time.perf_counter()
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        rebuild = _drop_sqlite_indexes(cursor) if sqlite else []
        for cases, events in generate(n, cast):
            write = _sqlite_insert if sqlite else _copy
            write(cursor, "cases_case", CASE_COLUMNS, cases)
            write(cursor, "cases_caseevent", EVENT_COLUMNS, events)
        for sql in rebuild:
            cursor.execute(sql)
        if not sqlite:
            for table in ("cases_case", "cases_caseevent"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        cursor.execute("ANALYZE" if sqlite else "VACUUM ANALYZE")
    return time.perf_counter() - started


def _drop_sqlite_indexes(cursor) -> list[str]:
    """SQLite only (a throwaway file): no fsync, a big cache, and the secondary indexes of the two
    tables dropped for the load; returns the statements that make them again (built sorted, once,
    instead of 7M random insertions each)."""
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-1000000")
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('cases_case', 'cases_caseevent')"
    )
    found = cursor.fetchall()
    for name, _sql in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in found]


def _sqlite_insert(cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    from django.db import connection

    adapt = connection.ops.adapt_datetimefield_value  # Django's own text form of a moment
    marks = ", ".join("%s" for _ in columns)
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows],
    )


def _copy(cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def make_cast() -> Cast:
    from django.core.management import call_command

    from cases.categories import seed_categories
    from cases.models import SmallClass
    from grids.models import Grid
    from people.models import Organisation, Role, User

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
    seed_categories()
    centre = Organisation.objects.create(code="centre", name="中心", kind="centre")
    people = {
        role: User.objects.create_user(f"bench-{role}", role=role, organisation=centre).pk
        for role in (Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER)
    }
    units, members = [], []
    for k in range(UNITS):
        unit = Organisation.objects.create(
            code=f"unit{k:02d}", name=f"处置单位{k}", kind="handling_unit"
        )
        units.append(unit.pk)
        members.append(
            User.objects.create_user(f"bench-unit{k}", role=Role.UNIT_MEMBER, organisation=unit).pk
        )
    officers = [
        User.objects.create_user(f"bench-officer{k}", role=Role.OFFICER, organisation=centre).pk
        for k in range(OFFICERS)
    ]
    category = (
        SmallClass.objects.available()
        .filter(big_class__kind="event")
        .values_list("pk", flat=True)
        .first()
    )
    return Cast(
        list(Grid.objects.values_list("pk", flat=True)), units, members, officers, people, category
    )


# --- measuring ---------------------------------------------------------------------------------


def _timed(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def measure(args) -> list[dict]:
    """Per period: `figures_by_level("grid")` as the API reads it (the rollup of metrics/rollup.py
    for whole days when the period is longer than a week, the raw engine for the rest), the raw
    engine alone (the baseline, checked equal: the rollup's exactness at full size), the API's
    table, and the per-grid loop of the raw engine (checked equal; skipped with --naive-grids 0)."""
    from grids.models import Grid
    from metrics import rollup
    from metrics.reports import Figures, Period, figures_by_level
    from metrics.scores import evaluate

    end = NOW
    cut = end - 9 * H - dt.timedelta(minutes=17)  # 14:43 on the last day, Asia/Shanghai
    periods = {
        "week": Period(end - dt.timedelta(days=7), end, end),
        "4 weeks": Period(end - dt.timedelta(days=28), end, end),
        "year": Period(end - dt.timedelta(days=DAYS), end, end),
        # a year cut mid-day at both ends: partial days from the raw engine
        "year cut": Period(
            end - dt.timedelta(days=DAYS) + 10 * H + dt.timedelta(minutes=31), cut, cut
        ),
    }
    wanted = {p.replace(" ", "") for p in args.periods.split(",")}
    periods = {name: p for name, p in periods.items() if name.replace(" ", "") in wanted}
    grids = list(Grid.objects.order_by("code").values_list("pk", "code"))
    sample = random.Random(2).sample(grids, min(args.naive_grids, len(grids)))
    results = []
    for name, period in periods.items():
        long = name.startswith("year")
        raw_repeat = 1 if long else args.repeat  # the raw engine takes seconds for a year: once
        grouped_ms, grouped = _timed(lambda p=period: figures_by_level("grid", p), args.repeat)
        raw_ms, raw = _timed(lambda p=period: figures_by_level("grid", p, rollup=False), raw_repeat)
        if {k: f for k, f in grouped.items() if f != Figures()} != {
            k: f for k, f in raw.items() if f != Figures()
        }:
            raise SystemExit(f"rollup and raw engine differ for {name}")
        table_ms, _ = _timed(lambda p=period: evaluate("grid", p), args.repeat)
        loop = sample if not long else sample[:10]
        naive_ms = None
        if loop:
            started = time.perf_counter()
            for pk, code in loop:
                one = figures_by_level("grid", period, area=code, rollup=False)
                if one.get(pk, Figures()) != raw.get(pk, Figures()):
                    raise SystemExit(
                        f"naive and grouped figures differ for grid {code}: {one} {raw.get(pk)}"
                    )
            naive_ms = (time.perf_counter() - started) * 1000 * len(grids) / len(loop)
        results.append(
            {
                "period": name,
                "events": _events_in(period),
                "grids": len(grouped),
                "repeat": args.repeat,
                "rollup": rollup.figures("grid", period) is not None,
                "grouped_ms": statistics.median(grouped_ms),
                "grouped_min": min(grouped_ms),
                "raw_ms": statistics.median(raw_ms),
                "raw_repeat": raw_repeat,
                "table_ms": statistics.median(table_ms),
                "naive_ms": naive_ms,
                "naive_grids": len(loop),
            }
        )
    return results


def _events_in(period) -> int:
    from cases.models import CaseEvent

    return CaseEvent.objects.filter(at__gte=period.start, at__lt=period.end).count()


def _engine(connection) -> str:
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"
    return f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"


def worker(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cases.models import Case, CaseEvent

    call_command("migrate", verbosity=0)
    cast = make_cast()
    load_s = load(args.cases, cast)
    from django.db import transaction

    from metrics import rollup

    started = time.perf_counter()
    with transaction.atomic():  # the bulk load wrote no events through the workflow: rebuild
        rollup_rows = rollup.rebuild()
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE metrics_dailyfigures"
        )
    rollup_s = time.perf_counter() - started
    if args.keep:
        print(
            f"kept: {os.environ['GRIDCASE_DATA_DIR']} {os.environ.get('DATABASE_URL', '')}",
            file=sys.stderr,
        )
    counts = {
        "cases": Case.objects.count(),
        "events": CaseEvent.objects.count(),
        "load_s": round(load_s, 1),
        "rollup_s": round(rollup_s, 1),
        "rollup_rows": rollup_rows,
        "engine": _engine(connection),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({**counts, "results": measure(args)}))


# --- driver ------------------------------------------------------------------------------------


def run_engine(engine: str, args) -> dict:
    data_dir = tempfile.mkdtemp(prefix="gridcase-bench-metrics-")
    url = ""
    if engine == "postgres":
        url = f"{args.pg.rstrip('/')}/gridcase_bench_metrics"
        _pg_admin(
            args.pg,
            "DROP DATABASE IF EXISTS gridcase_bench_metrics",
            "CREATE DATABASE gridcase_bench_metrics",
        )
    env = environment(data_dir, DATABASE_URL=url)
    try:
        done = subprocess.run(
            [
                PY,
                __file__,
                "--worker",
                "--cases",
                str(args.cases),
                "--naive-grids",
                str(args.naive_grids),
                "--repeat",
                str(args.repeat),
                "--periods",
                args.periods,
            ]
            + ["--keep"] * args.keep,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{engine} failed:\n{done.stderr[-4000:]}")
        if args.keep:
            print(done.stderr.strip().splitlines()[-1])
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            if engine == "postgres":
                _pg_admin(args.pg, "DROP DATABASE IF EXISTS gridcase_bench_metrics")


def _pg_admin(server: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument(
        "--naive-grids",
        type=int,
        default=100,
        help="grids the per-grid loop asks (scaled to 1,301)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the databases (for EXPLAIN)")
    parser.add_argument(
        "--periods",
        default="week,4weeks,year,yearcut",
        help="which of week, 4weeks, year, yearcut (a year cut mid-day) to time",
    )
    parser.add_argument("--worker", action="store_true")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(
        f"machine: {machine()}; {args.cases:,} cases, 1,301 SIP grids; load average before: "
        f"{os.getloadavg()[0]:.2f}; medians of {args.repeat} runs (a year: one run)"
    )
    header = (
        f"{'engine':18} {'period':8} {'events in P':>12} {'grid rows':>9} {'figures ms':>10} {'(min)':>6}"
        f" {'raw engine ms':>13} {'table ms':>9} {'per-grid loop ms':>17}"
    )
    engines = {}
    for engine in args.engines.split(","):
        done = engines[engine] = run_engine(engine, args)
        print(
            f"\n{done['engine']}: {done['cases']:,} cases, {done['events']:,} events, loaded in {done['load_s']} s,"
            f" rollup rebuilt in {done['rollup_s']} s ({done['rollup_rows']:,} rows); load average after:"
            f" {done['load_average']}"
        )
        print(header)
        for r in done["results"]:
            naive = (
                f"{r['naive_ms']:>17,.0f} (loop over {r['naive_grids']} grids, scaled)"
                if r["naive_ms"]
                else ""
            )
            print(
                f"{done['engine']:18} {r['period']:8} {r['events']:>12,} {r['grids']:>9} {r['grouped_ms']:>10.0f}"
                f" {r['grouped_min']:>6.0f} {r['raw_ms']:>13,.0f} {r['table_ms']:>9.0f} {naive}"
                f"{'' if r['rollup'] else '  (raw engine: a week or less)'}"
            )
    if args.json:
        print(json.dumps({"machine": machine(), "cases": args.cases, "engines": engines}))


if __name__ == "__main__":
    main()
