"""Long reliability run (`make reliability`): 1,000 case creates by 50 retrying clients through the
scaled topology on PostgreSQL while three gunicorn workers are killed with SIGKILL, one after
another. Every acknowledged case is stored exactly once; no other case is made.
tests/test_topology.py runs the quick version (200 creates, one kill) in the suite."""

from __future__ import annotations

import time

import pytest

from tests.conftest import _answers, require
from tests.scaled import (
    check_nothing_lost_or_doubled,
    create_while_killing,
    postgres_server,
    scaled_city,
    stored,
)

pytestmark = [pytest.mark.redis, pytest.mark.long]


def test_killing_workers_during_1000_creates_loses_and_doubles_nothing(redis_url):
    require(_answers(postgres_server(), 5432), f"PostgreSQL at {postgres_server()}")
    with scaled_city(redis_url, web=3, ws=1) as (running, setup):
        before = stored(running)
        started = time.monotonic()
        outcome = create_while_killing(
            running, setup, creates=1000, threads=50, kill_at=(0.2, 0.5, 0.8), give_up_s=300
        )
        seconds = time.monotonic() - started
        retried = sum(1 for n in outcome.retries.values() if n)
        print(
            f"\nFIGURES kill -9 worker: 1,000 creates by 50 clients in {seconds:.1f} s, {len(outcome.killed)} "
            f"workers killed, {retried} keys retried ({sum(outcome.retries.values())} retries), "
            f"{len(outcome.acknowledged)} acknowledged"
        )
        check_nothing_lost_or_doubled(running, outcome, 1000, before)
        assert len(outcome.killed) == 3
        assert len(running.web_worker_pids()) == 3
