"""Load the demo city once: the Suzhou Industrial Park grids, the category dictionary,
organisations and demo accounts, a quarter of case history made by driving the workflow
(cases/demo.py), the patrol tracks, the baseline 违建 ledger and the past reports. Prints the
time it took."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from tqdm import tqdm

from grids.area_names import read_csv
from grids.models import Area, Grid, GridLayer, RegionClass

SIP = settings.BASE_DIR / "fixtures" / "sip"
AREA_NAMES = SIP / "area_names.csv"


class Command(BaseCommand):
    help = "Load the demo city (only in demo mode, GRIDCASE_DEMO=1); parts already loaded are skipped."

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=13, help="full weeks of case history before this one")
        parser.add_argument("--per-week", type=int, default=300, help="about this many registered cases a week")
        parser.add_argument("--cases", type=int, default=None,
                            help="instead: about this many reports in all, over the last 2 weeks (0: none)")
        parser.add_argument("--patrol-weeks", type=int, default=2, help="weeks of officers' patrol tracks (0: none)")

    def handle(self, *args, weeks: int, per_week: int, cases: int | None, patrol_weeks: int = 2, **options):
        if not settings.DEMO:
            raise CommandError("The demo city is loaded only in demo mode (GRIDCASE_DEMO=1).")
        loading = time.monotonic()
        if Grid.objects.exists():
            self.stdout.write("Demo grids already loaded.")
        else:
            call_command(
                "import_grids", SIP / "sip_grid_comprehensive_826.geojson", SIP / "sip_grid_dedicated_475.geojson",
                code_map=SIP / "code_map.csv", area_names=SIP / "area_names.csv", stdout=self.stdout)
            # Enterprise, park and school grids (专属网格) are evaluated as 二类 in the demo.
            with transaction.atomic():
                Grid.objects.filter(grid_type="专属网格").update(region_class=RegionClass.SECOND)
                # The demo's cases go back weeks: its grids and areas have been in force since 2024
                # (an import dates them from today), so past reports evaluate every grid.
                Grid.objects.update(valid_from=dt.date(2024, 1, 1))
                Area.objects.update(valid_from=dt.date(2024, 1, 1))
                GridLayer.bump()
        renamed = name_areas()
        if renamed:
            self.stdout.write(f"{renamed} demo areas renamed to their names in {AREA_NAMES.name}.")
        from cases.categories import seed_categories
        from open311.demo import ensure_demo_key
        from people.demo import configure_demo_standards, create_demo_people

        seed_categories()
        ensure_demo_key()
        create_demo_people()
        configure_demo_standards()
        started = time.monotonic()
        made = self._cases(weeks=weeks, per_week=per_week, cases=cases)
        if made:
            self.stdout.write(f"{made} demo cases made through the workflow in {time.monotonic() - started:.1f} s.")
        else:
            self.stdout.write("Demo cases already there.")
        from patrol.demo import demo_tracks

        started = time.monotonic()
        if patrol_weeks > 0 and (points := demo_tracks(weeks=patrol_weeks)):
            self.stdout.write(f"{points} track points of the last weeks' patrols in {time.monotonic() - started:.1f} s.")
        from campaigns.demo import load_demo_ledger

        ledger = load_demo_ledger()  # the baseline 违建台账, through the ledger import (docs/domain.md §12)
        if ledger is not None:
            self.stdout.write(ledger.summary().splitlines()[-1])
        from reports.demo import demo_reports

        started = time.monotonic()
        reports = demo_reports()
        if reports:
            self.stdout.write(f"{len(reports)} past reports queued, the latest week published in "
                              f"{time.monotonic() - started:.1f} s; the scheduler publishes the rest (see /reports/).")
        self.stdout.write(self.style.SUCCESS(f"Demo city ready: loaded in {time.monotonic() - loading:.1f} s."))

    def _cases(self, *, weeks: int, per_week: int, cases: int | None) -> int:
        from cases.demo import generate_demo_cases, planned_reports
        from cases.models import Case

        if cases == 0 or Case.objects.exists():
            return 0
        if cases is not None:
            weeks, per_week = 2, 0
        total = cases if cases is not None else planned_reports(weeks=weeks, per_week=per_week)
        self.stdout.write(f"Making {weeks} weeks of case history through the workflow (about {total} reports)…")
        # DEBUG (make run) would log and time each of the history's ~140 statements a case: not here.
        with tqdm(total=total, unit="case", file=self.stderr, disable=None, mininterval=1) as bar, \
                override_settings(DEBUG=False):
            return generate_demo_cases(weeks=weeks, per_week=per_week, count=cases, progress=bar.update)


def name_areas() -> int:
    """Give the demo's areas the names of fixtures/sip/area_names.csv (grids/area_names.py): a
    database loaded before they were unique is corrected in place. Returns how many changed."""
    names = read_csv(AREA_NAMES)
    changed = 0
    for area in Area.objects.filter(code__in=names):
        if area.name != names[area.code]:
            area.name = names[area.code]
            area.save(update_fields=["name"])
            changed += 1
    return changed
