"""Publish a report now, with progress: `manage.py publish_report weekly 2026-W47` (built first
when there is no draft; the text sections are the generated findings unless a draft's were written)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from reports import jobs
from reports.models import State
from reports.periods import parse


class Command(BaseCommand):
    help = "Build and publish one report (weekly, monthly or quarterly) for a complete past period."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["weekly", "monthly", "quarterly"])
        parser.add_argument("period", help="2026-W47, 2026-11, 2026-Q4 or a date in the period")
        parser.add_argument(
            "--revise",
            metavar="REASON",
            default="",
            help="publish a corrected revision of a published report, saying what it corrects",
        )

    def handle(self, *args, kind: str, period: str, revise: str, **options):
        try:
            span = parse(kind, period)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if span.end > timezone.now():
            raise CommandError(
                f"{span.label} has not ended yet: a report covers a complete period."
            )
        try:
            report = jobs.request(span, revise=bool(revise), reason=revise)
        except jobs.AlreadyPublished as published:
            raise CommandError(
                f"{published.report} is already published; use --revise REASON to correct it."
            ) from None
        bar = tqdm(total=100, unit="%", disable=options["verbosity"] == 0)

        def progress(percent: int, step: str) -> None:
            bar.set_description(step)
            bar.update(percent - bar.n)

        try:  # a draft is published as it is; a queued report is claimed and built first
            report = jobs.publish_now(report, on_progress=progress)
        except jobs.Busy as busy:
            raise CommandError(
                f"{busy.report} is being built by another process "
                f"(progress {busy.report.progress} %)."
            ) from None
        finally:
            bar.update(100 - bar.n)
            bar.close()
        if report.state != State.PUBLISHED:
            raise CommandError(f"{report} failed: {report.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Published {report} — {report.year} 第{report.issue}期 (总第{report.serial}期): "
                f"{jobs.links(report)['html']}"
            )
        )
