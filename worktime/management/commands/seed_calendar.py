"""python manage.py seed_calendar [--year 2026 …] — working calendar rows from chinesecalendar."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from worktime.holidays import package_years, seed_calendar


class Command(BaseCommand):
    help = (
        "Create or update calendar days from the chinesecalendar package, for every year it "
        "covers or the given years. Safe to run again; never overwrites a manual row."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, action="append", dest="years", help="repeatable")

    def handle(self, *args, years: list[int] | None = None, **options):
        covered = package_years()
        for year in sorted(set(years or [])):
            if year not in covered:
                self.stdout.write(
                    self.style.WARNING(
                        f"warning: chinesecalendar covers {covered.start}–{covered.stop - 1}, "
                        f"not {year}; enter that year's State Council notice in the admin."
                    )
                )
        result = seed_calendar(years)
        self.stdout.write(self.style.SUCCESS(f"Working calendar seeded: {result}."))
