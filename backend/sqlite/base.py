"""Django's SQLite backend with a per-process queue in front of SQLite's single writer
(RELIABILITY.md §0.10). ENGINE "backend.sqlite" in settings.

SQLite lets one connection write at a time. A connection that finds the lock taken sleeps and
retries (the busy handler: 1, 2, 5 … then 100 ms between tries) until `timeout`; it does not
queue. Under many concurrent writers the ones already sleeping 100 ms keep losing to newcomers
that retry after 1 ms: measured with 50 writer threads on two Daphne workers
(tests/test_sqlite_writers.py), p99 22 s and a 500 "database is locked" after the 20 s timeout,
while the median request took 0.7 s.

Here the threads of one process wait for each other on a lock (woken at once, roughly in turn)
before `BEGIN IMMEDIATE`, so SQLite's busy handler only arbitrates between processes. Only
outermost transactions (`atomic()` blocks) pass the gate; single autocommit statements still take
their chance with the busy handler. A gate not handed back within GATE_WAIT (a connection dropped
mid-transaction) is not waited for any longer: SQLite's own lock still protects the data.
"""

from __future__ import annotations

import logging
import threading

from django.db.backends.sqlite3 import base

log = logging.getLogger(__name__)
GATE_WAIT = 30.0
_gates: dict[str, threading.Lock] = {}
_gates_lock = threading.Lock()


def _gate(name: str) -> threading.Lock:
    """One gate per database file in this process (connections of all threads share it)."""
    with _gates_lock:
        return _gates.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _held: threading.Lock | None = None

    def _start_transaction_under_autocommit(self):
        gate = _gate(str(self.settings_dict["NAME"]))
        if gate.acquire(timeout=GATE_WAIT):
            self._held = gate
        else:
            log.warning("SQLite write gate held for more than %.0f s; going on without it", GATE_WAIT)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        gate, self._held = self._held, None
        if gate is not None:
            try:
                gate.release()
            except RuntimeError:  # already released (the holder gave up waiting): nothing to hand back
                pass

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release()
