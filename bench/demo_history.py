"""bench/demo_history: building the demo city's case history through the workflow (issue #18 aim:
the first `make run` ready in at most 3 minutes on 2 vCPUs).

    .venv/bin/python bench/demo_history.py [--weeks 1] [--per-week 300] [--json]

A throwaway SQLite database (migrated) with the 1,301 SIP grids, the dictionary and the demo's
people, as `load_demo` makes them; then `cases.demo.generate_demo_cases` timed (wall and CPU of
this process) for a small history, and the default history (13 weeks before this one and this
week up to yesterday, 300 registered a week) extrapolated from the CPU per report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
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
    parser.add_argument("--weeks", type=int, default=1)
    parser.add_argument("--per-week", type=int, default=300)
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    env = environment(GRIDCASE_DEMO="1")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sip = ROOT / "fixtures" / "sip"
    call_command(
        "import_grids",
        sip / "sip_grid_comprehensive_826.geojson",
        sip / "sip_grid_dedicated_475.geojson",
        code_map=sip / "code_map.csv",
        area_names=sip / "area_names.csv",
        stdout=io.StringIO(),
    )
    from cases.categories import seed_categories
    from cases.demo import generate_demo_cases, planned_reports
    from cases.models import CaseEvent
    from grids.models import Area, Grid, GridLayer
    from people.demo import configure_demo_standards, create_demo_people

    Grid.objects.update(valid_from=dt.date(2024, 1, 1))
    Area.objects.update(valid_from=dt.date(2024, 1, 1))
    GridLayer.bump()
    seed_categories()
    create_demo_people()
    configure_demo_standards()
    wall, cpu = time.perf_counter(), time.process_time()
    reports = generate_demo_cases(weeks=args.weeks, per_week=args.per_week)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    events = CaseEvent.objects.count()
    default = planned_reports(weeks=13, per_week=300)
    figures = {
        "reports": reports,
        "events": events,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_ms_per_report": round(cpu / reports * 1000, 1),
        "default_reports": default,
        "default_cpu_s_estimate": round(cpu / reports * default),
        "machine": machine(),
    }
    print(machine())
    print(
        f"{reports} reports, {events} events: {wall:.1f} s wall, {cpu:.1f} s CPU = "
        f"{figures['cpu_ms_per_report']} ms CPU a report"
    )
    print(
        f"default history (13 weeks, 300 registered a week): about {default} reports, "
        f"about {figures['default_cpu_s_estimate']} s CPU"
    )
    if args.json:
        print(json.dumps(figures))
    from django.db import connections

    connections.close_all()
    shutil.rmtree(env["GRIDCASE_DATA_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
