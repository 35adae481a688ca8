"""python manage.py import_directory FILE.xlsx [--dry-run] | --template OUT.xlsx — see
people/directory.py for the sheets and the rules."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from people import directory


class Command(BaseCommand):
    help = (
        "Import the city directory workbook (sheets 组织, 人员, 网格分配, 派遣规则). Validates "
        "everything first and writes nothing if any row has an error. --template writes the "
        "workbook with the current data."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, help="the workbook (.xlsx) to import")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report; write nothing"
        )
        parser.add_argument(
            "--template",
            type=Path,
            metavar="OUT.xlsx",
            help="write the workbook with the current data instead of importing",
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="site address for the sign-in links, e.g. https://grid.example.gov.cn",
        )
        parser.add_argument(
            "--links",
            type=Path,
            metavar="OUT.csv",
            help="write the new people's one-time sign-in links to this CSV instead of printing them",
        )

    def handle(self, *args, **opts):
        if opts["template"]:
            directory.write_template(opts["template"])
            self.stdout.write(
                self.style.SUCCESS(f"Wrote {opts['template']} with the current directory.")
            )
            return
        if opts["path"] is None:
            raise CommandError("Name the workbook to import, or --template OUT.xlsx.")
        try:
            report = directory.read_workbook(opts["path"])
        except (directory.DirectoryFileError, OSError) as exc:
            raise CommandError(str(exc)) from None
        directory.validate(report)
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(f"{len(report.problems)} errors: nothing was written.")
        if opts["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
            return
        applied = directory.apply(report, base_url=opts["base_url"])
        self.stdout.write(self.style.SUCCESS(applied.summary()))
        if not applied.links:
            return
        hours = directory.link_hours()
        if opts["links"]:
            with opts["links"].open("w", newline="", encoding="utf-8-sig") as f:
                writer = csv.writer(f)
                writer.writerow(["用户名", "姓名", "一次性登录链接"])
                writer.writerows([link.username, link.name, link.url] for link in applied.links)
            self.stdout.write(
                f"{len(applied.links)} one-time sign-in links written to {opts['links']} "
                f"(each works once, for {hours:g} hours)."
            )
            return
        self.stdout.write(
            f"One-time sign-in links for the {len(applied.links)} new people (each works once, "
            f"for {hours:g} hours; they choose their password there):"
        )
        for link in applied.links:
            self.stdout.write(f"{link.username}\t{link.name}\t{link.url}")
