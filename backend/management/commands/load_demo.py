"""Load the demo city once: the Suzhou Industrial Park grids, the category dictionary,
organisations and demo accounts, and a few hundred cases made by driving the workflow."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from django.db import transaction

from grids.models import Area, Grid, GridLayer, RegionClass

SIP = settings.BASE_DIR / "fixtures" / "sip"


class Command(BaseCommand):
    help = "Load the demo city (only in demo mode, GRIDCASE_DEMO=1); parts already loaded are skipped."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=320, help="how many demo cases to make")
        parser.add_argument("--patrol-weeks", type=int, default=2, help="weeks of officers' patrol tracks (0: none)")

    def handle(self, *args, cases: int, patrol_weeks: int = 2, **options):
        if not settings.DEMO:
            raise CommandError("The demo city is loaded only in demo mode (GRIDCASE_DEMO=1).")
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
        from cases.categories import seed_categories
        from cases.demo import generate_demo_cases
        from open311.demo import ensure_demo_key
        from people.demo import configure_demo_standards, create_demo_people

        seed_categories()
        ensure_demo_key()
        create_demo_people()
        configure_demo_standards()
        started = time.monotonic()
        made = generate_demo_cases(count=cases)
        if made:
            self.stdout.write(f"{made} demo cases made through the workflow in {time.monotonic() - started:.1f} s.")
        else:
            self.stdout.write("Demo cases already there.")
        from patrol.demo import demo_tracks

        started = time.monotonic()
        if patrol_weeks > 0 and (points := demo_tracks(weeks=patrol_weeks)):
            self.stdout.write(f"{points} track points of the last weeks' patrols in {time.monotonic() - started:.1f} s.")
        from campaigns.demo import load_demo_ledger

        ledger = load_demo_ledger()  # the baseline 违建台账, through the ledger import (DOMAIN §12)
        if ledger is not None:
            self.stdout.write(ledger.summary().splitlines()[-1])
        from reports.demo import demo_reports

        started = time.monotonic()
        reports = demo_reports()
        if reports:
            self.stdout.write(f"{len(reports)} past reports queued, the latest week published in "
                              f"{time.monotonic() - started:.1f} s; the scheduler publishes the rest (see /reports/).")
        self.stdout.write(self.style.SUCCESS("Demo city ready."))
