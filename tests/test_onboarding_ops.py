"""What a city's IT expects (issue 23, docs/operations.md "Monitoring"): Prometheus metrics with
request counts and latencies, the work queues, the scheduler's last run and the relay's lag; JSON
logs as an option."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from backend.scheduler import Job, Scheduler
from tests.cast import act, make_cast, report

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def sample(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample of the exposition text, or None."""
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_the_metrics_show_requests_queues_relay_lag_and_the_scheduler():
    cast = make_cast()
    waiting = [report(cast) for _ in range(3)]
    act(waiting[0], "accept", cast.acceptor)
    client = cast.client(cast.acceptor)
    assert client.get("/api/cases/").status_code == 200
    Scheduler(
        jobs=[
            Job(
                "deadline alarms", "cases.alarms.sweep", __import__("datetime").timedelta(seconds=1)
            )
        ],
        holder="test-scheduler",
    ).tick()

    text = Client().get("/ops/metrics").content.decode()
    assert sample(text, "gridcase_cases_open", '{status="reported"}') == 2
    assert sample(text, "gridcase_cases_open", '{status="pending_registration"}') == 1
    assert sample(text, "gridcase_cases_open", '{status="dispatching"}') == 0
    assert sample(text, "gridcase_reports_waiting", '{state="queued"}') == 0
    assert sample(text, "gridcase_alerts_unpushed") >= 1  # no relay runs in this test: they wait
    assert sample(text, "gridcase_relay_lag_seconds") > 0
    assert sample(text, "gridcase_scheduler_last_tick_timestamp_seconds") > 1.7e9
    assert (
        sample(
            text, "gridcase_scheduler_job_last_success_timestamp_seconds", '{job="deadline alarms"}'
        )
        > 1.7e9
    )
    # django-prometheus: requests by view and method, latencies as histograms.
    assert re.search(
        r'^django_http_requests_total_by_view_transport_method_total\{method="GET",transport="http",'
        r'view="cases"\} [1-9]',
        text,
        re.M,
    ), text[:3000]
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text


def test_the_metrics_are_not_shown_through_a_proxy_or_without_the_token():
    assert Client().get("/ops/metrics").status_code == 200  # directly, from this machine
    assert Client().get("/ops/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert Client(REMOTE_ADDR="203.0.113.9").get("/ops/metrics").status_code == 403
    with override_settings(METRICS_TOKEN="s3cret-metrics-token"):
        assert Client().get("/ops/metrics").status_code == 403
        assert Client().get("/ops/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        scraped = Client(REMOTE_ADDR="203.0.113.9").get(
            "/ops/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
        )
        assert scraped.status_code == 200 and b"gridcase_cases_open" in scraped.content


def test_json_logs_are_one_object_per_line():
    code = (
        "import django, logging; django.setup()\n"
        "logging.getLogger('gridcase.test').warning('派遣 %s', 'done', extra={'case': 42})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    logging.getLogger('gridcase.test').exception('failed')\n"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "backend.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [(e["level"], e["logger"], e["message"]) for e in lines] == [
        ("WARNING", "gridcase.test", "派遣 done"),
        ("ERROR", "gridcase.test", "failed"),
    ]
    assert lines[0]["case"] == 42 and lines[0]["time"].endswith("+00:00")
    assert "ZeroDivisionError" in lines[1]["exception"]
    refused = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "LOG_FORMAT='xml'" in refused.stderr
