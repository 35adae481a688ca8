"""The scaled deployment's scheduler process: deadline alarms and periodic reports."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from backend.scheduler import Scheduler


class Command(BaseCommand):
    help = "Run the scheduler in the foreground (one per deployment; a database lease enforces it)."

    def handle(self, *args, **options):
        self.stdout.write("Scheduler running (Ctrl-C stops).")
        try:
            Scheduler().run_forever()
        except KeyboardInterrupt:
            pass
