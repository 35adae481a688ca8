"""50 concurrent writers against two real Daphne workers on one SQLite file: no 5xx and no
"database is locked" reaches a user, and every acknowledged create is a case (quick budget; the
long one is in tests/reliability/). The scenario is in tests/sqlite_writers.py. Then, one test per
way a write of one process met "database is locked" (backend/sqlite/base.py)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from backend.models import Lease
from tests.sqlite_writers import run_writers
from tests.waiting import wait_until


def test_fifty_concurrent_writers_on_sqlite_never_see_a_locked_database():
    if os.environ.get("DATABASE_URL"):
        pytest.skip(
            "about SQLite's single writer: runs in the SQLite pass (its workers use their own SQLite file)"
        )
    tally = run_writers(50, 1)
    print(
        f"sqlite writers: {tally.writers} threads, {tally.requests} requests in {tally.seconds:.1f} s, "
        f"statuses {dict(sorted(tally.statuses.items()))}, p50 {tally.percentile(0.5):.2f} s, "
        f"p99 {tally.percentile(0.99):.2f} s; cases {tally.cases_in_db} (creates {tally.creates_ok})"
    )
    assert not tally.bad, tally.bad[:10]
    assert tally.creates_ok == 50  # every writer's report was taken
    assert tally.cases_in_db == 1 + tally.creates_ok
    assert tally.statuses.get(409, 0) > 0  # the shared case really was raced


# --- the ways a write met "database is locked" (issue 26), one test each -----------------------
# Each fails on the engine that gated only atomic() blocks (docs/reliability.md, "Writers of the
# embedded process"). The first two at once: SQLite does not call its busy handler when a
# connection holding a read snapshot asks to write (SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT).


def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite's single writer and its snapshots: PostgreSQL has row locks")


class Other(threading.Thread):
    """`function` on a connection of another thread (as another request would); `.result()` joins
    it and answers its value, or raises its error."""

    def __init__(self, function) -> None:
        super().__init__()
        self.function, self.box = function, {}

    def run(self) -> None:
        try:
            self.box["value"] = self.function()
        except BaseException as error:  # handed to the test's thread by result()
            self.box["error"] = error
        finally:
            connection.close()

    def result(self, timeout: float = 60):
        self.join(timeout)
        assert not self.is_alive(), "the other thread is still waiting"
        if "error" in self.box:
            raise self.box["error"]
        return self.box["value"]


def _in_other_thread(function):
    other = Other(function)
    other.start()
    return other.result()


def _leases(n: int) -> None:
    Lease.objects.bulk_create(
        [
            Lease(name=f"l{i}", holder="h", expires_at=timezone.now() + dt.timedelta(hours=1))
            for i in range(n)
        ]
    )


def _renew(name: str) -> int:
    return Lease.objects.filter(name=name).update(holder=f"renewed-by-{name}")


@pytest.mark.django_db(transaction=True)
def test_a_write_while_an_iterator_is_unfinished_waits_instead_of_failing_at_once():
    """`for row in qs.iterator(): …write…` holds the SELECT's snapshot: another connection commits,
    then this one writes (autocommit, and then an atomic block)."""
    _sqlite_only()
    _leases(6)
    rows = Lease.objects.order_by("name").iterator(chunk_size=2)
    seen = [next(rows).name]
    _in_other_thread(lambda: _renew("l5"))  # a commit after this connection's snapshot
    assert _renew("l0") == 1
    seen.append(next(rows).name)
    _in_other_thread(lambda: _renew("l4"))
    with transaction.atomic():
        assert _renew("l1") == 1
    seen += [lease.name for lease in rows]
    assert seen == [f"l{i}" for i in range(6)]  # the iteration went on, from the rows read out
    assert set(Lease.objects.values_list("holder", flat=True)) == {
        "h",
        "renewed-by-l0",
        "renewed-by-l1",
        "renewed-by-l4",
        "renewed-by-l5",
    }


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_outside_a_transaction_begins_it_immediate():
    """Manual transaction management: atomic() inside set_autocommit(False) is a SAVEPOINT, which
    SQLite begins DEFERRED; its first read took a snapshot that the write then had to upgrade."""
    _sqlite_only()
    _leases(2)
    other = Other(lambda: _renew("l1"))
    transaction.set_autocommit(False)
    try:
        with transaction.atomic():
            assert Lease.objects.get(name="l0").holder == "h"
            other.start()  # another request's write: before this one's (once this holds the lock: after)
            other.join(2)
            assert _renew("l0") == 1
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert other.result() == 1
    assert dict(Lease.objects.values_list("name", "holder")) == {
        "l0": "renewed-by-l0",
        "l1": "renewed-by-l1",
    }


@pytest.mark.django_db(transaction=True)
def test_writes_in_autocommit_wait_in_the_queue_behind_a_stream_of_transactions():
    """Single writes outside atomic() (the relay's claims, the lease, a report's progress, session
    saves) against threads that hand the write lock to each other without a gap: SQLite's busy
    handler (sleeping up to 100 ms between tries) never finds it free; the gate's queue does."""
    _sqlite_only()
    _leases(5)
    stop = threading.Event()
    commits = [0] * 4

    def stream(n: int) -> None:
        try:
            while not stop.is_set():
                with transaction.atomic():  # a transaction of some length, like a case's transition
                    for i in range(20):
                        Lease.objects.filter(name=f"l{n}").update(holder=f"stream {commits[n]}.{i}")
                commits[n] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=stream, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(
            lambda: sum(commits) >= 200, 30, "the stream of transactions flowing", interval=0.01
        )
        connection.ensure_connection()
        connection.connection.execute(
            "PRAGMA busy_timeout = 2000"
        )  # 20 s in production: same outcome
        started = time.monotonic()
        for _ in range(20):
            assert Lease.objects.filter(name="l4").update(holder="autocommit") == 1
        took = time.monotonic() - started
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    print(f"20 autocommit writes behind a stream of {sum(commits)} transactions: {took:.2f} s")
    assert Lease.objects.get(name="l4").holder == "autocommit"
