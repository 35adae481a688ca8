"""Requesting, building and publishing reports.

- `request()` queues a report (idempotent: asking again for a queued, building or published
  period answers the existing row; a correction is `request(..., revise=True, reason=...)`).
- `run(now)` is the scheduler's job (backend/scheduler.py, every few seconds on the one process
  holding the lease): it queues each automatic kind's latest due period (Monday 08:00 for the
  week before, by ReportSettings) and builds every queued report.
- `publish(report)` builds one: progress is written to the row as it goes (the list page polls
  it), and the snapshot, the PDF, the workbook and the alerts are committed together. The numbers
  第N期/总第M期 are given when a report is first requested. A crash mid-build leaves the row `building` with an old claim; the next run
  takes it again after CLAIM_TIMEOUT. A build that raises marks the row `failed` with the error;
  requesting the period again retries it. A build that failed for want of a Chinese font
  (`MissingFont`) is queued again by `run()` once a font is installed (looked for once a minute).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.models import Kind as AlertKind
from alerts.outbox import notify
from cases.models import CaseEvent
from metrics.reports import TZ
from people.models import CENTRE_ROLES, Role, User
from reports import render
from reports.build import build
from reports.models import Kind, Report, ReportFile, ReportSettings, State
from reports.periods import Span, latest_due, span_from

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
FONT_LOOK_EVERY = dt.timedelta(minutes=1)
_font_looked_at: dt.datetime | None = None
READERS = (*CENTRE_ROLES, Role.UNIT_MEMBER, Role.ADMIN)


class AlreadyPublished(Exception):
    def __init__(self, report: Report) -> None:
        super().__init__(report)
        self.report = report


def span_of(report: Report) -> Span:
    return span_from(report.kind, report.start.astimezone(TZ).date())


def request(span: Span, *, user: User | None = None, automatic: bool = False, revise: bool = False,
            reason: str = "") -> Report:
    """See `_request`; retried when a concurrent request took the same number (PostgreSQL)."""
    for attempt in range(5):
        try:
            return _request(span, user=user, automatic=automatic, revise=revise, reason=reason)
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _request(span: Span, *, user: User | None, automatic: bool, revise: bool, reason: str) -> Report:
    """Queue `span`'s report, or answer the one already there. With `revise`, queue the next
    revision of a published report (AlreadyPublished is never raised then); without, a published
    first revision raises AlreadyPublished."""
    with transaction.atomic():
        existing = list(Report.objects.select_for_update().filter(kind=span.kind, start=span.start)
                        .order_by("-revision"))
        latest = existing[0] if existing else None
        if latest is not None and latest.state in (State.QUEUED, State.BUILDING):
            return latest
        if latest is not None and latest.state == State.FAILED:
            latest.state, latest.error, latest.progress, latest.step, latest.claimed_at = State.QUEUED, "", 0, "", None
            latest.save(update_fields=["state", "error", "progress", "step", "claimed_at"])
            return latest
        if latest is not None and not revise:
            raise AlreadyPublished(latest)
        if revise and latest is None:
            revise = False  # nothing to correct: this is the first edition
        with translation.override("zh-hans"):  # the official label, whatever the requester's language
            label = span_from(span.kind, span.start.astimezone(TZ).date()).label
        report = Report(kind=span.kind, start=span.start, end=span.end, label=label, key=span.key,
                        revision=(latest.revision + 1) if latest else 1, reason=reason if revise else "",
                        requested_by=user, automatic=automatic)
        _number(report, span)
        report.save()
        return report


def run(now: dt.datetime | None = None) -> list[Report]:
    """The scheduler's job: queue the due automatic reports, then build the oldest queued one
    (one per tick, so the scheduler renews its lease and sweeps deadlines between builds)."""
    now = now or timezone.now()
    config = ReportSettings.load()
    for kind in Kind.values:
        if not config.auto(kind):
            continue
        span = latest_due(kind, now, config)
        if Report.objects.filter(kind=kind, start=span.start).exists():
            continue
        # No report about the time before the city's first case (a new installation, an empty
        # test database): there is nothing to report on.
        if not CaseEvent.objects.filter(at__lt=span.end).exists():
            continue
        request(span, automatic=True)
    _requeue_missing_font(now)
    report = _claim(now)
    return [publish(report, now=now)] if report is not None else []


def _requeue_missing_font(now: dt.datetime) -> int:
    """Queue again the reports that failed for want of a Chinese font, once one is installed
    (`make run` / `make system-deps` install fonts-noto-cjk). Looks for fonts at most once a minute,
    and only while such a report exists. Returns how many were queued."""
    global _font_looked_at
    failed = Report.objects.filter(state=State.FAILED, error__startswith=f"{render.MissingFont.__name__}:")
    if (_font_looked_at is not None and abs(now - _font_looked_at) < FONT_LOOK_EVERY) or not failed.exists():
        return 0
    _font_looked_at = now
    render.chinese_font.cache_clear()  # it remembers "no font" too
    if render.chinese_font() is None:
        return 0
    return failed.update(state=State.QUEUED, error="", progress=0, step="", claimed_at=None)


def _claim(now: dt.datetime) -> Report | None:
    stale = now - CLAIM_TIMEOUT
    for report in Report.objects.filter(Q(state=State.QUEUED) | Q(state=State.BUILDING, claimed_at__lt=stale)
                                        ).order_by("requested_at", "pk")[:5]:
        taken = Report.objects.filter(pk=report.pk, state=report.state, claimed_at=report.claimed_at).update(
            state=State.BUILDING, claimed_at=timezone.now(), progress=0, step="")
        if taken:
            report.refresh_from_db()
            return report
    return None


def _progress(report: Report, also: Callable[[int, str], None] | None = None) -> Callable[[int, str], None]:
    def say(percent: int, step: str) -> None:
        Report.objects.filter(pk=report.pk).update(progress=percent, step=step[:80], claimed_at=timezone.now())
        if also is not None:
            also(percent, step)
    return say


def publish(report: Report, *, now: dt.datetime | None = None,
            on_progress: Callable[[int, str], None] | None = None) -> Report:
    """Build, render and publish a claimed report (see the module docstring)."""
    now = now or timezone.now()
    say = _progress(report, on_progress)
    try:
        with translation.override("zh-hans"):  # the official edition is Chinese
            report.data = build(span_of(report), now=now, progress=say)
            report.published_at = now
            say(90, _("PDF"))
            pdf = render.pdf(report)
            say(96, _("Excel workbook"))
            xlsx = render.xlsx(report)
        with transaction.atomic():
            report.state, report.progress, report.step, report.error = State.PUBLISHED, 100, "", ""
            report.save()
            for fmt, content in ((ReportFile.Format.PDF, pdf), (ReportFile.Format.XLSX, xlsx)):
                ReportFile.objects.update_or_create(report=report, format=fmt, defaults={
                    "content": content, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)})
            _announce(report)
    except Exception as error:
        log.exception("building report %s failed", report.pk)
        Report.objects.filter(pk=report.pk).update(state=State.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
    report.refresh_from_db()
    return report


def _number(report: Report, span: Span) -> None:
    """第N期 within the year (the year of the period's last day) and 总第M期 over the kind's
    history, in the order reports are first requested (so a queue of past weeks is numbered in
    its order, whatever order they are built in); a revision keeps its first edition's numbers.
    Called inside request()'s transaction: SQLite serialises it (BEGIN IMMEDIATE); on PostgreSQL
    a concurrent request taking the same number fails the unique constraint and is refused."""
    if report.revision > 1:
        first = Report.objects.get(kind=report.kind, start=report.start, revision=1)
        report.year, report.issue, report.serial = first.year, first.issue, first.serial
        return
    numbered = Report.objects.filter(kind=report.kind, revision=1)
    report.year = span.year
    report.issue = (numbered.filter(year=span.year).aggregate(n=Max("issue"))["n"] or 0) + 1
    offset = ReportSettings.load().serial_offset(report.kind)
    report.serial = max(numbered.aggregate(n=Max("serial"))["n"] or 0, offset) + 1


def links(report: Report) -> dict[str, str]:
    return {fmt: reverse("report-file", kwargs={"kind": report.kind, "period": report.key, "fmt": fmt})
            + (f"?revision={report.revision}" if report.revision > 1 else "") for fmt in ("html", "pdf", "xlsx")}


def _announce(report: Report) -> None:
    readers = User.objects.filter(is_active=True).filter(Q(role__in=READERS) | Q(is_superuser=True))
    info = {"id": report.pk, "kind": report.kind, "key": report.key, "label": report.label,
            "revision": report.revision, "issue": report.issue, "serial": report.serial,
            "url": links(report)["html"]}
    notify(list(readers), AlertKind.REPORT_PUBLISHED, at=report.published_at, extra={"report": info})
