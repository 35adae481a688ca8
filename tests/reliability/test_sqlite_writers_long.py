"""Long version of tests/reliability/test_sqlite_writers.py: 50 writers × many rounds."""

from __future__ import annotations

import os

import pytest

from tests.sqlite_writers import run_writers

pytestmark = pytest.mark.long
ROUNDS = int(os.environ.get("RELIABILITY_WRITER_ROUNDS", "10"))


def test_fifty_writers_many_rounds_never_see_a_locked_database():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("about SQLite")
    tally = run_writers(50, ROUNDS)
    print(
        f"\nFIGURES sqlite writers: 50 threads × {ROUNDS} rounds, {tally.requests} requests in {tally.seconds:.1f} s "
        f"({tally.requests / tally.seconds:.0f}/s), statuses {dict(sorted(tally.statuses.items()))}, "
        f"p50 {tally.percentile(0.5):.2f} s, p99 {tally.percentile(0.99):.2f} s, max {max(tally.latencies):.2f} s; "
        f"cases {tally.cases_in_db} = 1 + {tally.creates_ok} creates; bad {len(tally.bad)}"
    )
    assert not tally.bad, tally.bad[:10]
    assert tally.creates_ok == 50 * ROUNDS
    assert tally.cases_in_db == 1 + tally.creates_ok
