"""50 concurrent writers against two real Daphne workers on one SQLite file: no 5xx and no
"database is locked" reaches a user, and every acknowledged create is a case (quick budget; the
long one is in tests/reliability/). The scenario is in tests/sqlite_writers.py."""

from __future__ import annotations

import os

import pytest

from tests.sqlite_writers import run_writers


def test_fifty_concurrent_writers_on_sqlite_never_see_a_locked_database():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("about SQLite's single writer: runs in the SQLite pass (its workers use their own SQLite file)")
    tally = run_writers(50, 1)
    print(f"sqlite writers: {tally.writers} threads, {tally.requests} requests in {tally.seconds:.1f} s, "
          f"statuses {dict(sorted(tally.statuses.items()))}, p50 {tally.percentile(0.5):.2f} s, "
          f"p99 {tally.percentile(0.99):.2f} s; cases {tally.cases_in_db} (creates {tally.creates_ok})")
    assert not tally.bad, tally.bad[:10]
    assert tally.creates_ok == 50  # every writer's report was taken
    assert tally.cases_in_db == 1 + tally.creates_ok
    assert tally.statuses.get(409, 0) > 0  # the shared case really was raced
