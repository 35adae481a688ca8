"""Operations metrics for Prometheus at `/ops/metrics` (docs/operations.md, "Monitoring").

django-prometheus's middleware counts requests and their latencies per view and method; this module
adds what a city's IT asks of Gridcase itself, read from the database at each scrape (a few COUNTs
and MINs, so every process answers the same whichever one is scraped):
- `gridcase_cases_open{status}`: the work queues (open cases per waiting status);
- `gridcase_reports_waiting{state}`: reports queued or building;
- `gridcase_alerts_unpushed` and `gridcase_relay_lag_seconds`: stored alerts not yet pushed, and the
  age of the oldest of them (0 when none waits);
- `gridcase_scheduler_last_tick_timestamp_seconds`: when the scheduler last held its lease and ran
  its due jobs (the lease is renewed on every tick), and
  `gridcase_scheduler_job_last_success_timestamp_seconds{job}`, per job, from the process that runs
  the scheduler (the embedded `serve`).

Who may read it: with GRIDCASE_METRICS_TOKEN set, a request carrying `Authorization: Bearer <token>`;
without, only a direct request from the loopback address (no proxy header), so a site behind nginx
never shows its metrics to the world by accident.
"""

from __future__ import annotations

import datetime as dt
import hmac

import prometheus_client
from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

LOOPBACK = {"127.0.0.1", "::1"}
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")

JOB_SUCCESS = prometheus_client.Gauge(
    "gridcase_scheduler_job_last_success_timestamp_seconds",
    "When each scheduled job last finished without an error (in the process that runs the scheduler).",
    ["job"],
)


def job_succeeded(name: str, at: dt.datetime) -> None:
    """The scheduler's note that job `name` ran to the end (backend/scheduler.py)."""
    JOB_SUCCESS.labels(job=name).set(at.timestamp())


class GridcaseCollector:
    """Reads the queues, the outbox and the scheduler's lease at each scrape."""

    NAMES = (
        ("gridcase_cases_open", ["status"]),
        ("gridcase_reports_waiting", ["state"]),
        ("gridcase_alerts_unpushed", None),
        ("gridcase_relay_lag_seconds", None),
        ("gridcase_scheduler_last_tick_timestamp_seconds", None),
    )

    def describe(self):
        """The metric names without touching the database (registering must not query it)."""
        for name, labels in self.NAMES:
            yield GaugeMetricFamily(name, name, labels=labels)

    def collect(self):
        from alerts.models import Notification
        from backend.models import Lease
        from backend.scheduler import LEASE_SECONDS
        from cases.models import OPEN_STATUSES, Case
        from reports.models import Report, State

        now = timezone.now()
        cases = GaugeMetricFamily(
            "gridcase_cases_open", "Open cases per status (the work queues).", labels=["status"]
        )
        counted = dict(
            Case.objects.filter(status__in=OPEN_STATUSES)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in OPEN_STATUSES:
            cases.add_metric([status], counted.get(status, 0))
        yield cases

        reports = GaugeMetricFamily(
            "gridcase_reports_waiting", "Reports queued or being built.", labels=["state"]
        )
        waiting = dict(
            Report.objects.filter(state__in=[State.QUEUED, State.BUILDING])
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        for state in (State.QUEUED, State.BUILDING):
            reports.add_metric([state], waiting.get(state, 0))
        yield reports

        unpushed = Notification.objects.filter(pushed_at__isnull=True).aggregate(
            n=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "gridcase_alerts_unpushed",
            "Stored alerts the relay has not pushed yet.",
            value=unpushed["n"],
        )
        lag = (now - unpushed["oldest"]).total_seconds() if unpushed["oldest"] else 0.0
        yield GaugeMetricFamily(
            "gridcase_relay_lag_seconds",
            "Age of the oldest alert not pushed yet.",
            value=max(lag, 0.0),
        )

        lease = Lease.objects.filter(name="scheduler").values_list("expires_at", flat=True).first()
        tick = GaugeMetricFamily(
            "gridcase_scheduler_last_tick_timestamp_seconds",
            "When the scheduler last renewed its lease and ran its due jobs.",
        )
        if lease is not None:
            tick.add_metric([], (lease - dt.timedelta(seconds=LEASE_SECONDS)).timestamp())
        yield tick


_COLLECTOR = GridcaseCollector()
prometheus_client.REGISTRY.register(_COLLECTOR)


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    direct = not any(request.META.get(h) for h in PROXY_HEADERS)
    return direct and request.META.get("REMOTE_ADDR") in LOOPBACK


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. Under gunicorn with PROMETHEUS_MULTIPROC_DIR set, every worker's
    request counters are summed (prometheus_client's multiprocess mode)."""
    if not allowed(request):
        return HttpResponse(
            "Forbidden: set GRIDCASE_METRICS_TOKEN and send it as a Bearer token, or ask "
            "from this machine (docs/operations.md).\n",
            status=403,
            content_type="text/plain",
        )
    if settings.PROMETHEUS_MULTIPROC_DIR:
        from prometheus_client import multiprocess

        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_COLLECTOR)
    else:
        registry = prometheus_client.REGISTRY
    return HttpResponse(
        prometheus_client.generate_latest(registry),
        content_type=prometheus_client.CONTENT_TYPE_LATEST,
    )
