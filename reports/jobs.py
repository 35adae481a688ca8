"""Requesting, building and publishing reports: the one front door for every change of a
report's state (docs/domain.md §7). Every step is recorded as a ReportEvent (who, when).

- `request()` queues a report (idempotent: asking again for a queued, building, draft or
  published period answers the existing row; a failed one is queued again; a correction is
  `request(..., revise=True, reason=...)`).
- `run(now)` is the scheduler's job (backend/scheduler.py, every few seconds on the one process
  holding the lease): it queues each automatic kind's latest due period (Monday 08:00 for the
  week before, by ReportSettings), publishes an automatic draft nobody published by its time
  (Monday 10:00 by default), and builds the oldest queued report — one of these per tick.
- `build_draft(report)` builds a claimed report into a draft: the snapshot is computed (progress
  written to the row as it goes; the list page polls it) and frozen; nothing is numbered yet.
- `edit(report, …)` saves the text sections of a draft (存在问题, 下周工作要求, 讲评).
- `publish(report, …)` publishes a draft: the numbers 第N期/总第M期 are given now, the text
  sections (written, or the generated findings as they are) are frozen, the PDF and the workbook
  are rendered and stored, and the alerts go out — in one transaction. A published report is
  never changed again; a correction is a new revision (which keeps the first edition's numbers).
- `claim(report)` is the only way to `building`: one compare-and-set, so the scheduler and a
  person's `publish_report` never build the same report twice; `publish_now` claims, builds and
  publishes in the caller's process (Busy when another process holds the claim).
- A crash mid-build leaves the row `building` with an old claim; the next run takes it again
  after CLAIM_TIMEOUT. A build or a publication that raises marks the row `failed` with the error
  (the texts already written stay); requesting the period again builds it again. A build that
  failed for want of a Chinese font (`MissingFont`) is queued again by `run()` once a font is
  installed (looked for once a minute).
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
from reports.models import Action, Kind, Report, ReportEvent, ReportFile, ReportSettings, State
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


class NotADraft(Exception):
    """Only a draft is edited or published; a published report stays as it is."""

    def __init__(self, report: Report) -> None:
        super().__init__(report)
        self.report = report


def record(
    report: Report,
    action: str,
    *,
    by: User | None = None,
    automatic: bool = False,
    at: dt.datetime | None = None,
    note: str = "",
) -> ReportEvent:
    return ReportEvent.objects.create(
        report=report,
        action=action,
        by=by,
        automatic=automatic,
        at=at or timezone.now(),
        note=note[:2000],
    )


def span_of(report: Report) -> Span:
    return span_from(report.kind, report.start.astimezone(TZ).date())


def request(
    span: Span,
    *,
    user: User | None = None,
    automatic: bool = False,
    revise: bool = False,
    reason: str = "",
) -> Report:
    """See `_request`; retried when a concurrent request took the same number (PostgreSQL)."""
    for attempt in range(5):
        try:
            return _request(span, user=user, automatic=automatic, revise=revise, reason=reason)
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _request(
    span: Span, *, user: User | None, automatic: bool, revise: bool, reason: str
) -> Report:
    """Queue `span`'s report, or answer the one already there. With `revise`, queue the next
    revision of a published report (AlreadyPublished is never raised then); without, a published
    first revision raises AlreadyPublished."""
    with transaction.atomic():
        existing = list(
            Report.objects.select_for_update()
            .filter(kind=span.kind, start=span.start)
            .order_by("-revision")
        )
        latest = existing[0] if existing else None
        if latest is not None and latest.state in (
            State.QUEUED,
            State.BUILDING,
            State.DRAFT,
            State.PUBLISHING,
        ):
            return latest
        if latest is not None and latest.state == State.FAILED:
            latest.state, latest.error, latest.progress, latest.step, latest.claimed_at = (
                State.QUEUED,
                "",
                0,
                "",
                None,
            )
            latest.save(update_fields=["state", "error", "progress", "step", "claimed_at"])
            record(
                latest,
                Action.REQUESTED,
                by=user,
                automatic=automatic,
                note=_("Asked again after a failure."),
            )
            return latest
        if latest is not None and not revise:
            raise AlreadyPublished(latest)
        if revise and latest is None:
            revise = False  # nothing to correct: this is the first edition
        with translation.override(
            "zh-hans"
        ):  # the official label, whatever the requester's language
            label = span_from(span.kind, span.start.astimezone(TZ).date()).label
        report = Report(
            kind=span.kind,
            start=span.start,
            end=span.end,
            label=label,
            key=span.key,
            revision=(latest.revision + 1) if latest else 1,
            reason=reason if revise else "",
            requested_by=user,
            automatic=automatic,
        )
        report.save()
        record(
            report, Action.REQUESTED, by=user, automatic=automatic, note=reason if revise else ""
        )
        return report


def run(now: dt.datetime | None = None) -> list[Report]:
    """The scheduler's job: queue the due automatic reports, then publish the oldest automatic
    draft whose publication time has come, or else build the oldest queued report (one per tick,
    so the scheduler renews its lease and sweeps deadlines between builds)."""
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
    asked = (
        Report.objects.filter(state=State.PUBLISHING)
        .select_related("published_by")
        .order_by("pk")
        .first()
    )
    if asked is not None:
        return [publish(asked, by=asked.published_by, now=now)]
    due = (
        Report.objects.filter(
            state=State.DRAFT,
            automatic=True,
            end__lte=now - dt.timedelta(hours=config.auto_publish_hours),
        )
        .order_by("start", "kind", "revision")
        .first()
    )
    if due is not None:
        return [publish(due, now=now, automatic=True)]
    report = _claim(now)
    return [build_draft(report, now=now)] if report is not None else []


def _requeue_missing_font(now: dt.datetime) -> int:
    """Queue again the reports that failed for want of a Chinese font, once one is installed
    (`make run` / `make system-deps` install fonts-noto-cjk). Looks for fonts at most once a minute,
    and only while such a report exists. Returns how many were queued."""
    global _font_looked_at
    failed = Report.objects.filter(
        state=State.FAILED, error__startswith=f"{render.MissingFont.__name__}:"
    )
    if (
        _font_looked_at is not None and abs(now - _font_looked_at) < FONT_LOOK_EVERY
    ) or not failed.exists():
        return 0
    _font_looked_at = now
    render.chinese_font.cache_clear()  # it remembers "no font" too
    if render.chinese_font() is None:
        return 0
    return failed.update(state=State.QUEUED, error="", progress=0, step="", claimed_at=None)


def _claimable(now: dt.datetime) -> Q:
    """Queued, or building under a claim older than CLAIM_TIMEOUT (its builder died)."""
    return Q(state=State.QUEUED) | Q(state=State.BUILDING, claimed_at__lt=now - CLAIM_TIMEOUT)


def _claim(now: dt.datetime) -> Report | None:
    """The scheduler's claim: the oldest claimable report that no other process takes first."""
    for report in Report.objects.filter(_claimable(now)).order_by("requested_at", "pk")[:5]:
        taken = claim(report, now)
        if taken is not None:
            return taken
    return None


def claim(report: Report, now: dt.datetime | None = None) -> Report | None:
    """Take `report` to build it in this process — the scheduler's tick, `publish_report`, the
    demo. One compare-and-set from the state and claim this copy of the row saw to `building`, so
    of any number of processes holding the same copy exactly one gets the report; the others (and
    anyone asking for a report that is not claimable) get None and must leave it alone."""
    now = now or timezone.now()
    taken = Report.objects.filter(
        _claimable(now), pk=report.pk, state=report.state, claimed_at=report.claimed_at
    ).update(state=State.BUILDING, claimed_at=timezone.now(), progress=0, step="")
    if not taken:
        return None
    report.refresh_from_db()
    return report


class Busy(Exception):
    """Another process holds the claim on the report (the scheduler is building it)."""

    def __init__(self, report: Report) -> None:
        super().__init__(report)
        self.report = report


def publish_now(
    report: Report,
    *,
    now: dt.datetime | None = None,
    automatic: bool = False,
    on_progress: Callable[[int, str], None] | None = None,
) -> Report:
    """Publish a report in this process now rather than on a scheduler tick (`publish_report`,
    the demo's latest week): a queued report is claimed and built first, a draft is published as
    it is. Busy when another process holds the claim: it builds the report, we do not."""
    if report.state in (State.QUEUED, State.BUILDING):
        claimed = claim(report, now)
        if claimed is None:
            raise Busy(Report.objects.get(pk=report.pk))
        report = claimed
    return publish(report, now=now, automatic=automatic, on_progress=on_progress)


def _progress(
    report: Report, also: Callable[[int, str], None] | None = None
) -> Callable[[int, str], None]:
    def say(percent: int, step: str) -> None:
        Report.objects.filter(pk=report.pk).update(
            progress=percent, step=step[:80], claimed_at=timezone.now()
        )
        if also is not None:
            also(percent, step)

    return say


def build_draft(
    report: Report,
    *,
    now: dt.datetime | None = None,
    on_progress: Callable[[int, str], None] | None = None,
) -> Report:
    """Build a claimed report into a draft (see the module docstring)."""
    now = now or timezone.now()
    say = _progress(report, on_progress)
    try:
        # Publication prints the PDF: a machine that cannot (no Chinese font) fails here, with the
        # fix in the message, rather than at the moment someone publishes.
        render.require_font()
        with translation.override("zh-hans"):  # the official edition is Chinese
            data = build(span_of(report), now=now, progress=say)
        with transaction.atomic():
            report.data, report.built_at = data, now
            report.state, report.progress, report.step, report.error = State.DRAFT, 100, "", ""
            report.save()
            record(report, Action.BUILT, at=now, automatic=True)
    except Exception as error:
        _fail(report, error, now)
    report.refresh_from_db()
    return report


def edit(
    report: Report,
    *,
    by: User | None,
    problems: str | None = None,
    requirements: str | None = None,
    review: str | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Save the text sections of a draft (None leaves a section as it is). NotADraft otherwise."""
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.state != State.DRAFT:
            raise NotADraft(locked)
        changed = []
        for field, text in (
            ("problems", problems),
            ("requirements", requirements),
            ("review", review),
        ):
            if text is not None and text.strip() != getattr(locked, field):
                setattr(locked, field, text.strip())
                changed.append(field)
        if changed:
            locked.save(update_fields=changed)
            record(locked, Action.EDITED, by=by, at=now, note=", ".join(changed))
    return locked


def ask_to_publish(
    report: Report,
    *,
    by: User,
    problems: str | None = None,
    requirements: str | None = None,
    review: str | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """A person publishes a draft from the page or the API: the texts are saved now and the
    scheduler's next tick renders and publishes it (the PDF takes seconds, too long to hold a web
    request). NotADraft for a report in any other state."""
    report = edit(
        report, by=by, problems=problems, requirements=requirements, review=review, now=now
    )
    with transaction.atomic():
        taken = Report.objects.filter(pk=report.pk, state=State.DRAFT).update(
            state=State.PUBLISHING, published_by=by, progress=0, step=_("Waiting for the scheduler")
        )
        if not taken:
            raise NotADraft(Report.objects.get(pk=report.pk))
    report.refresh_from_db()
    return report


def publish(
    report: Report,
    *,
    by: User | None = None,
    now: dt.datetime | None = None,
    automatic: bool = False,
    problems: str | None = None,
    requirements: str | None = None,
    review: str | None = None,
    on_progress: Callable[[int, str], None] | None = None,
) -> Report:
    """Publish a draft (a building report this caller claimed with `claim` is built first):
    numbers, texts, files and alerts in one transaction. NotADraft for a report in any other
    state."""
    now = now or timezone.now()
    if report.state == State.BUILDING:
        report = build_draft(report, now=now, on_progress=on_progress)
        if report.state != State.DRAFT:
            return report
    if report.state not in (State.DRAFT, State.PUBLISHING):
        raise NotADraft(report)
    if any(text is not None for text in (problems, requirements, review)):
        report = edit(
            report, by=by, problems=problems, requirements=requirements, review=review, now=now
        )
    say = _progress(report, on_progress)
    found = report.data.get("findings", {})
    report.problems = report.problems or found.get("problems", "")
    report.requirements = report.requirements or found.get("requirements", "")
    report.published_at, report.published_by = now, by
    try:
        for attempt in range(3):
            _number(report, span_of(report))
            with translation.override("zh-hans"):
                say(40, _("PDF"))
                pdf = render.pdf(report)
                say(90, _("Excel workbook"))
                xlsx = render.xlsx(report)
            try:
                with transaction.atomic():
                    if Report.objects.select_for_update().get(pk=report.pk).state not in (
                        State.DRAFT,
                        State.PUBLISHING,
                    ):
                        raise NotADraft(report)  # published (or rebuilt) by someone else meanwhile
                    report.state, report.progress, report.step, report.error = (
                        State.PUBLISHED,
                        100,
                        "",
                        "",
                    )
                    report.save()
                    for fmt, content in (
                        (ReportFile.Format.PDF, pdf),
                        (ReportFile.Format.XLSX, xlsx),
                    ):
                        ReportFile.objects.update_or_create(
                            report=report,
                            format=fmt,
                            defaults={
                                "content": content,
                                "sha256": hashlib.sha256(content).hexdigest(),
                                "size": len(content),
                            },
                        )
                    record(report, Action.PUBLISHED, by=by, automatic=automatic, at=now)
                    _announce(report)
                break
            except IntegrityError:  # another report took the same number meanwhile: number again
                if attempt == 2:
                    raise
                report.issue = report.serial = None
    except NotADraft:
        report.refresh_from_db()
        raise
    except Exception as error:
        _fail(report, error, now)
    report.refresh_from_db()
    return report


def _fail(report: Report, error: Exception, now: dt.datetime) -> None:
    log.exception("report %s failed", report.pk)
    message = f"{type(error).__name__}: {error}"[:2000]
    Report.objects.filter(pk=report.pk).update(state=State.FAILED, error=message, claimed_at=None)
    record(report, Action.FAILED, at=now, automatic=True, note=message)


def _number(report: Report, span: Span) -> None:
    """第N期 within the year (the year of the period's last day) and 总第M期 over the kind's
    history, in the order reports are published; a revision keeps its first edition's numbers,
    and a report numbered before publication was given its numbers keeps them. A concurrent
    publication taking the same number fails the unique constraint; publish() numbers again."""
    if report.issue is not None:
        return
    if report.revision > 1:
        first = Report.objects.get(kind=report.kind, start=report.start, revision=1)
        report.year, report.issue, report.serial = first.year, first.issue, first.serial
        return
    numbered = Report.objects.filter(kind=report.kind, revision=1, issue__isnull=False).exclude(
        pk=report.pk
    )
    report.year = span.year
    report.issue = (numbered.filter(year=span.year).aggregate(n=Max("issue"))["n"] or 0) + 1
    offset = ReportSettings.load().serial_offset(report.kind)
    report.serial = max(numbered.aggregate(n=Max("serial"))["n"] or 0, offset) + 1


def number_in_order(reports: list[Report]) -> None:
    """Give queued first editions their numbers now, in the list's order (a city loading its past
    periods at once: they are numbered by period, whatever order they are published in)."""
    with transaction.atomic():
        for report in reports:
            if report.issue is None and report.revision == 1:
                _number(report, span_of(report))
                report.save(update_fields=["year", "issue", "serial"])


def links(report: Report) -> dict[str, str]:
    return {
        fmt: reverse("report-file", kwargs={"kind": report.kind, "period": report.key, "fmt": fmt})
        + (f"?revision={report.revision}" if report.revision > 1 else "")
        for fmt in ("html", "pdf", "xlsx")
    }


def _announce(report: Report) -> None:
    readers = User.objects.filter(is_active=True).filter(Q(role__in=READERS) | Q(is_superuser=True))
    info = {
        "id": report.pk,
        "kind": report.kind,
        "key": report.key,
        "label": report.label,
        "revision": report.revision,
        "issue": report.issue,
        "serial": report.serial,
        "url": links(report)["html"],
    }
    notify(
        list(readers), AlertKind.REPORT_PUBLISHED, at=report.published_at, extra={"report": info}
    )
