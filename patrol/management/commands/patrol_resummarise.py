"""Recompute the patrol summaries of past days from the stored points, after an administrator
changed the dwell rule or the plausibility settings (they apply to points received afterwards)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from patrol.models import TrackPoint
from patrol.summary import Rules, day_bounds, local_day, summarise_days
from people.models import User


class Command(BaseCommand):
    help = "Recompute the per-(officer, day) and per-(officer, grid, day) patrol summaries of a period."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default: today)")

    def handle(self, *args, since: str, until: str | None, **options):
        try:
            first = dt.date.fromisoformat(since)
            last = dt.date.fromisoformat(until) if until else dt.date.today()
        except ValueError as exc:
            raise CommandError(f"--since/--until: {exc}") from None
        start, end = day_bounds(first)[0], day_bounds(last)[1]
        rules = Rules.current()
        officers = (
            TrackPoint.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
            .values_list("officer_id", flat=True)
            .distinct()
        )
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        done = 0
        for officer_id in sorted(set(officers)):
            with transaction.atomic():
                User.objects.select_for_update().filter(pk=officer_id).values_list("pk").first()
                touched = {
                    local_day(at)
                    for at in TrackPoint.objects.filter(
                        officer_id=officer_id, recorded_at__gte=start, recorded_at__lt=end
                    ).values_list("recorded_at", flat=True)
                }
                summarise_days(
                    officer_id=officer_id, days=[d for d in days if d in touched], rules=rules
                )
            done += 1
        self.stdout.write(f"Summaries of {done} officers recomputed for {first} – {last}.")
