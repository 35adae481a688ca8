"""python manage.py import_ledger FILE.xlsx [--dry-run] | --template OUT.xlsx (campaigns/importer.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.importer import LedgerFileError, import_ledger, write_template


class Command(BaseCommand):
    help = (
        "Import the existing illegal-construction ledger (违建台账) from a workbook: every row is checked "
        "first; nothing is written when any row is wrong. --template writes an empty workbook to fill."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path, help="the .xlsx workbook to import")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--template", type=Path, metavar="OUT.xlsx", help="write a template workbook and stop"
        )

    def handle(self, *args, file: Path | None, dry_run: bool, template: Path | None, **options):
        if template is not None:
            write_template(template)
            self.stdout.write(f"Template written to {template}.")
            return
        if file is None:
            raise CommandError("Name the workbook to import (or --template OUT.xlsx).")
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            with file.open("rb") as f:
                report = import_ledger(f, name=file.name, dry_run=dry_run)
        except LedgerFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(f"{len(report.problems)} errors: nothing written.")
        if dry_run:
            self.stdout.write("Dry run: nothing written.")
