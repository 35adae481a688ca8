"""The demo city's past reports: every complete week (and month) since its first case, numbered
in order; the latest week is published at once, the rest are queued for the scheduler, which
builds them as drafts and (their publication time long past) publishes them as they are within a
few minutes of `make run` (progress on /reports/)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases.models import CaseEvent
from reports import jobs
from reports.models import Kind, Report, ReportSettings
from reports.periods import containing


def demo_settings() -> ReportSettings:
    """The demo city's name in the title and the 落款 (once: an administrator's edit stays)."""
    config = ReportSettings.load()
    if not config.city:
        config.city, config.issuer = "苏州工业园区", "数字化城市管理监督指挥中心"
        config.save(update_fields=["city", "issuer"])
    return config


def demo_reports(now: dt.datetime | None = None, *, publish_latest: bool = True) -> list[Report]:
    now = now or timezone.now()
    demo_settings()
    first = CaseEvent.objects.order_by("at").values_list("at", flat=True).first()
    if first is None or Report.objects.exists():
        return []
    queued = []
    for kind in (Kind.WEEKLY, Kind.MONTHLY):
        span = containing(kind, first)
        while span.end <= now:
            queued.append(jobs.request(span, automatic=True))
            span = containing(kind, span.end)
    # Numbered in period order now, though the latest week is published first and the scheduler
    # publishes the older drafts after it.
    jobs.number_in_order(queued)
    latest = max((r for r in queued if r.kind == Kind.WEEKLY), key=lambda r: r.start, default=None)
    if publish_latest and latest is not None:
        try:
            jobs.publish_now(latest, now=now, automatic=True)
        except jobs.Busy:
            pass  # a running scheduler took it first: it builds and publishes it
    return queued
