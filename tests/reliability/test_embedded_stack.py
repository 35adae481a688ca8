"""The embedded default (`make run`: one `manage.py serve` process with its scheduler, SQLite) with
every writer of the process busy at once — 20 clients driving cases, the deadline sweep raising
alarms, report builds, the alert relay, the scheduler's lease — for a minute: no 5xx and no
"database is locked", in any answer or in the server's log (issue 26). The scenario is in
tests/embedded_stack.py; docs/reliability.md lists the writers and how they are serialised."""

from __future__ import annotations

import os

import pytest

from tests.embedded_stack import run_embedded


def test_the_embedded_stack_serves_twenty_clients_while_its_scheduler_writes():
    if os.environ.get("DATABASE_URL"):
        pytest.skip(
            "about the embedded default's SQLite file and its writers: runs in the SQLite pass "
            "(the server it starts uses a SQLite file of its own)"
        )
    run = run_embedded(clients=20, seconds=60)
    print(run.summary())
    assert not run.bad, (run.bad[:10], run.tracebacks[:3])
    assert not run.log_problems, (run.log_problems[:20], run.tracebacks[:3])
    assert run.seconds >= 60
    assert set(run.statuses) <= {200, 201, 202}
    # the writers really were busy together: cases went the whole way, alarms were raised and
    # reports built while the clients worked, and the relay pushed what was stored
    assert run.by_action.get("close", 0) >= 5 and run.by_action.get("feedback", 0) >= 5
    assert run.figures["alarms_in_run"] >= 10
    assert run.figures["reports_built"] >= 1, run.figures["reports_failed"]
    assert run.figures["reports_failed"] == []
