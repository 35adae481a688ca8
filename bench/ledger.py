"""bench/ledger: importing a 违建台账 workbook (issue #21 aim: 1,000 good rows in under 10 s).

    .venv/bin/python bench/ledger.py [--rows 1000] [--seed 1] [--json]

A throwaway SQLite database (migrated) with the 1,301 SIP grids (the demo's layer, as load_demo
imports them); `rows` ledger rows in those grids made by campaigns/demo.py, written as an .xlsx
workbook; then the import timed as `manage.py import_ledger` runs it: read the workbook, check
every row (including point → grid and the numbers already in the ledger), write in one transaction.
Also timed: the same workbook with one bad row at the end (checked in full, nothing written).
Baseline in the same run: placing each row with `locate()` one at a time instead of in bulk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, environment, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    env = environment()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import io

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sip = ROOT / "fixtures" / "sip"
    started = time.perf_counter()
    call_command(
        "import_grids",
        sip / "sip_grid_comprehensive_826.geojson",
        sip / "sip_grid_dedicated_475.geojson",
        code_map=sip / "code_map.csv",
        area_names=sip / "area_names.csv",
        stdout=io.StringIO(),
    )
    grids_s = time.perf_counter() - started

    from campaigns import demo, importer
    from campaigns.models import LedgerEntry
    from grids.geo import grid_index, locate

    rows = demo.ledger_rows(args.rows, seed=args.seed, prefix="B")
    data = demo.workbook(rows).getvalue()
    grid_index()  # built once per process, as a server's first lookup would (timed apart)
    bad_rows = [*rows, ["BAD-1", -3, "砖混", "", rows[0][4], rows[0][5], rows[0][6], ""]]
    bad_data = demo.workbook(bad_rows).getvalue()

    def timed(
        payload: bytes, *, dry_run: bool = False
    ) -> tuple[float, dict, importer.LedgerImport]:
        phases = {}
        t0 = time.perf_counter()
        report, records = importer.read_workbook(io.BytesIO(payload), name="bench.xlsx")
        t1 = time.perf_counter()
        importer.validate(report, records)
        t2 = time.perf_counter()
        if not dry_run:
            importer.apply(report)
        t3 = time.perf_counter()
        phases.update(
            read_s=round(t1 - t0, 3), check_s=round(t2 - t1, 3), write_s=round(t3 - t2, 3)
        )
        return t3 - t0, phases, report

    bad_s, _bad_phases, bad_report = timed(bad_data)
    assert not bad_report.ok and LedgerEntry.objects.count() == 0, bad_report.summary()[-500:]
    total_s, phases, report = timed(data)
    assert report.ok and LedgerEntry.objects.count() == args.rows, report.summary()[-500:]
    started = time.perf_counter()
    for row in rows:
        locate(row[5], row[6])
    naive_locate_s = time.perf_counter() - started
    figures = {
        "rows": args.rows,
        "import_s": round(total_s, 3),
        **phases,
        "rows_per_s": round(args.rows / total_s),
        "refused_workbook_s": round(bad_s, 3),
        "grids_import_s": round(grids_s, 1),
        "baseline_locate_one_by_one_s": round(naive_locate_s, 3),
        "machine": machine(),
    }
    print(f"{machine()}")
    print(
        f"{args.rows} rows: import {total_s:.2f} s (read {phases['read_s']} s, check {phases['check_s']} s, "
        f"write {phases['write_s']} s) = {args.rows / total_s:,.0f} rows/s; aim < 10 s"
    )
    print(f"same workbook + 1 bad row: refused in {bad_s:.2f} s, nothing written")
    print(
        f"baseline: locate() one row at a time {naive_locate_s:.3f} s (bulk placement is inside 'check')"
    )
    if args.json:
        print(json.dumps(figures))
    from django.db import connections

    connections.close_all()
    shutil.rmtree(env["GRIDCASE_DATA_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
