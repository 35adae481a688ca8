"""python manage.py seed_categories — load the classification dictionary (cases/categories.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cases.categories import seed_categories


class Command(BaseCommand):
    help = (
        "Create or update the CJ/T 214-2007, GB/T 47678.5-2026 and local classification "
        "standards from fixtures/codes/. Safe to run again: never deletes, never overwrites an "
        "edited case standard."
    )

    def handle(self, *args, **options):
        report = seed_categories()
        for line in report.lines():
            self.stdout.write(self.style.WARNING(line) if line.startswith("warning:") else line)
        created, updated = report.total("created"), report.total("updated")
        self.stdout.write(
            self.style.SUCCESS(f"Categories seeded: {created} created, {updated} updated.")
        )
