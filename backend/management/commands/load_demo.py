"""Load the demo city once: the Suzhou Industrial Park grids, the category dictionary,
organisations and demo accounts, a quarter of case history made by driving the workflow
(cases/demo.py), the patrol tracks, the baseline 违建 ledger and the past reports. Prints the
time it took."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from tqdm import tqdm

from backend import demo_fixture
from grids.area_names import read_csv
from grids.models import Area, Grid, GridLayer, RegionClass

SIP = settings.BASE_DIR / "fixtures" / "sip"
AREA_NAMES = SIP / "area_names.csv"


class Command(BaseCommand):
    stealth_options = ("now",)  # tests: load as if it were then (the fixture moved by whole weeks)
    help = (
        "Load the demo city (only in demo mode, GRIDCASE_DEMO=1); parts already loaded are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--weeks", type=int, default=13, help="full weeks of case history before this one"
        )
        parser.add_argument(
            "--per-week", type=int, default=300, help="about this many registered cases a week"
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=None,
            help="instead: about this many reports in all, over the last 2 weeks (0: none)",
        )
        parser.add_argument(
            "--patrol-weeks", type=int, default=2, help="weeks of officers' patrol tracks (0: none)"
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="migrate the database first (make run: one process start less)",
        )
        parser.add_argument(
            "--live",
            action="store_true",
            help="build the history through the workflow even when the fixture fits",
        )
        parser.add_argument(
            "--fixture",
            type=Path,
            default=demo_fixture.FIXTURE,
            metavar="PATH",
            help="the history to restore (default: %(default)s)",
        )
        parser.add_argument(
            "--write-fixture",
            type=Path,
            default=None,
            metavar="PATH",
            help="build the history live, ending at today's midnight, and keep it in PATH "
            "(make demo-fixture; backend/demo_fixture.py)",
        )

    def handle(
        self, *args, weeks: int, per_week: int, cases: int | None, patrol_weeks: int = 2, **options
    ):
        if not settings.DEMO:
            raise CommandError("The demo city is loaded only in demo mode (GRIDCASE_DEMO=1).")
        loading = time.monotonic()
        if options.get("migrate"):
            call_command("migrate", interactive=False, verbosity=1, stdout=self.stdout)
        if Grid.objects.exists():
            self.stdout.write("Demo grids already loaded.")
        else:
            call_command(
                "import_grids",
                SIP / "sip_grid_comprehensive_826.geojson",
                SIP / "sip_grid_dedicated_475.geojson",
                code_map=SIP / "code_map.csv",
                area_names=SIP / "area_names.csv",
                stdout=self.stdout,
            )
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
        now = options.get("now") or timezone.now()
        self._history(
            now=now,
            weeks=weeks,
            per_week=per_week,
            cases=cases,
            patrol_weeks=patrol_weeks,
            live=options.get("live", False),
            write_fixture=options.get("write_fixture"),
            fixture=options.get("fixture") or demo_fixture.FIXTURE,
        )
        from campaigns.demo import load_demo_ledger

        ledger = (
            load_demo_ledger()
        )  # the baseline 违建台账, through the ledger import (docs/domain.md §12)
        if ledger is not None:
            self.stdout.write(ledger.summary().splitlines()[-1])
        from reports.demo import demo_reports

        started = time.monotonic()
        # Queued only: the scheduler of `serve` builds and publishes them within minutes (building
        # the latest week's PDF here would add a minute to the first start).
        reports = demo_reports(now, publish_latest=False)
        if reports:
            self.stdout.write(
                f"{len(reports)} past reports queued in {time.monotonic() - started:.1f} s; "
                "the scheduler builds and publishes them (see /reports/)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Demo city ready: loaded in {time.monotonic() - loading:.1f} s.")
        )

    def _history(
        self,
        *,
        now: dt.datetime,
        weeks: int,
        per_week: int,
        cases: int | None,
        patrol_weeks: int,
        live: bool,
        write_fixture: Path | None,
        fixture: Path,
    ) -> None:
        """The cases and the patrol tracks: restored from the fixture when it was built for these
        options (the days since its end made live), else made through the workflow."""
        from cases.models import Case

        if write_fixture is not None and (cases is not None or Case.objects.exists()):
            raise CommandError(
                "--write-fixture needs a database without cases and no --cases (make demo-fixture)."
            )
        if cases == 0 or Case.objects.exists():
            self.stdout.write(
                "Demo cases already there." if cases != 0 else "No demo cases (--cases 0)."
            )
            self._tracks(patrol_weeks, now=now)
            return
        since = None
        built_for = {"weeks": weeks, "per_week": per_week, "patrol_weeks": patrol_weeks}
        if write_fixture is not None:  # the fixture's history ends at today's midnight
            now = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time(0)))
            before = demo_fixture.table_counts()
        elif not live and cases is None and fixture.exists():
            since = self._restore(fixture, built_for, now)
        if since is None:
            self._cases(weeks=weeks, per_week=per_week, cases=cases, now=now)
            self._tracks(patrol_weeks, now=now)
        elif since < timezone.localdate(now):  # the days between the fixture's end and yesterday
            self._cases(weeks=weeks, per_week=per_week, cases=None, now=now, since=since)
            self._tracks(patrol_weeks, now=now, since=since)
        if write_fixture is not None:
            header = demo_fixture.dump(write_fixture, before=before, now=now, built_for=built_for)
            size = write_fixture.stat().st_size / 1e6
            self.stdout.write(f"Wrote {write_fixture} ({size:.1f} MB; code {header['code'][:12]}).")

    def _restore(self, path: Path, built_for: dict, now: dt.datetime) -> dt.date | None:
        """Restore the fixture; the first day it does not cover, or None (it does not fit: why)."""
        started = time.monotonic()
        try:
            fixture = demo_fixture.read(path)
            if fixture["built_for"] != built_for:
                raise demo_fixture.Mismatch(f"it was built for {fixture['built_for']}")
            weeks = demo_fixture.weeks_to_move(fixture, now)
            self.stdout.write(
                f"Restoring the demo history ({path.name}, moved {weeks} weeks forward)…"
            )
            with tqdm(
                total=demo_fixture.rows(fixture),
                unit="row",
                file=self.stderr,
                disable=None,
                mininterval=1,
            ) as bar:
                end = demo_fixture.restore(fixture, now=now, progress=bar.update)
        except demo_fixture.Mismatch as why:
            self.stdout.write(
                f"Demo fixture not used ({why}): building the history through the workflow "
                "(make demo-fixture rebuilds it)."
            )
            return None
        from cases.models import Case

        self.stdout.write(
            f"{Case.objects.count()} demo cases and their history restored in "
            f"{time.monotonic() - started:.1f} s."
        )
        return timezone.localdate(end)

    def _cases(
        self,
        *,
        weeks: int,
        per_week: int,
        cases: int | None,
        now: dt.datetime,
        since: dt.date | None = None,
    ) -> None:
        from cases.demo import generate_demo_cases, planned_reports

        started = time.monotonic()
        if cases is not None:
            weeks, per_week = 2, 0
        if since is not None:
            days = (timezone.localdate(now) - since).days
            total = round(days / 7 * per_week / 0.8)
            self.stdout.write(
                f"Making the {days} days since then through the workflow (about {total} reports)…"
            )
        else:
            total = (
                cases
                if cases is not None
                else planned_reports(weeks=weeks, per_week=per_week, now=now)
            )
            self.stdout.write(
                f"Making {weeks} weeks of case history through the workflow (about {total} reports)…"
            )
        # DEBUG (make run) would log and time each of the history's ~140 statements a case: not here.
        with (
            tqdm(total=total, unit="case", file=self.stderr, disable=None, mininterval=1) as bar,
            override_settings(DEBUG=False),
        ):
            made = generate_demo_cases(
                weeks=weeks,
                per_week=per_week,
                count=cases,
                progress=bar.update,
                now=now,
                since=since,
            )
        self.stdout.write(
            f"{made} demo cases made through the workflow in {time.monotonic() - started:.1f} s."
        )

    def _tracks(
        self, patrol_weeks: int, *, now: dt.datetime | None = None, since: dt.date | None = None
    ) -> None:
        from patrol.demo import demo_tracks

        started = time.monotonic()
        if patrol_weeks > 0 and (points := demo_tracks(weeks=patrol_weeks, now=now, since=since)):
            self.stdout.write(
                f"{points} track points of the officers' patrols in {time.monotonic() - started:.1f} s."
            )


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
