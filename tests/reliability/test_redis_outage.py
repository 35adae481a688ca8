"""Redis killed for 5 s (10 s and more traffic in tests/reliability/) under two Daphne workers: the
HTTP API keeps answering (2xx, no request waits for Redis) and every alert stored meanwhile reaches
the WebSocket clients afterwards, exactly once and in order. The scenario is in
tests/redis_outage.py; tests/reliability/ runs it with more traffic."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import require
from tests.redis_outage import REQUEST_BUDGET_S, run_outage

pytestmark = pytest.mark.redis


def test_a_redis_outage_loses_no_request_and_no_alert():
    if os.environ.get("DATABASE_URL"):
        pytest.skip(
            "runs once, in the SQLite pass: its workers share their own SQLite file, not the suite's database"
        )
    require(shutil.which("redis-server") is not None, "the redis-server binary")
    outcome = run_outage(5.0, pause=0.5)
    print(
        f"redis outage {outcome.outage_s:.1f} s: {outcome.requests} requests {outcome.statuses}, slowest "
        f"{outcome.slowest_s:.2f} s; caught up in {outcome.caught_up_s:.2f} s, reconnects {outcome.reconnects}"
    )
    assert outcome.workers_alive
    assert not outcome.errors, outcome.errors
    assert outcome.slowest_s < REQUEST_BUDGET_S
    for user in ("unit", "acceptor"):
        expected = outcome.expected[user]
        assert outcome.received[user] == expected, (user, outcome.received[user], expected)
        assert len(expected) >= 3, (
            user,
            expected,
        )  # alerts were stored during the outage (≥ 2 rounds)
