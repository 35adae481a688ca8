"""Long version of tests/reliability/test_redis_outage.py: the full 10 s outage, with a request every 0.1 s."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import require
from tests.redis_outage import REQUEST_BUDGET_S, run_outage

pytestmark = [pytest.mark.redis, pytest.mark.long]


def test_a_ten_second_redis_outage_loses_no_request_and_no_alert():
    require(shutil.which("redis-server") is not None, "the redis-server binary")
    outcome = run_outage(10.0, pause=0.1, catch_up=30.0)
    print(
        f"\nFIGURES redis outage {outcome.outage_s:.1f} s: {outcome.requests} requests {outcome.statuses}, "
        f"slowest {outcome.slowest_s:.2f} s; alerts stored unit {len(outcome.expected['unit'])}, acceptor "
        f"{len(outcome.expected['acceptor'])}; caught up in {outcome.caught_up_s:.2f} s after Redis returned; "
        f"reconnects {outcome.reconnects}; errors {len(outcome.errors)}"
    )
    assert outcome.workers_alive
    assert not outcome.errors, outcome.errors[:10]
    assert outcome.slowest_s < REQUEST_BUDGET_S
    for user in ("unit", "acceptor"):
        assert outcome.received[user] == outcome.expected[user], (
            user,
            outcome.received[user],
            outcome.expected[user],
        )
        assert len(outcome.expected[user]) >= 5
