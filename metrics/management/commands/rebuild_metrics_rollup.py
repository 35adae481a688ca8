"""`manage.py rebuild_metrics_rollup`: write the per-(object, day) rollup again from the case
event log (metrics/rollup.py), in one transaction. Needed only after events were written without
the workflow (a bulk import of history); the workflow keeps the rollup exact as it goes."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from metrics import rollup


class Command(BaseCommand):
    help = "Rebuild the metrics rollup (DailyFigures) from the case event log."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            rows = rollup.rebuild()
        self.stdout.write(f"{rows} rows in {time.perf_counter() - started:.1f} s")
