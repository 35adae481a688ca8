"""Django's SQLite backend with every write of the process queued in front of SQLite's single writer
(docs/reliability.md §0.10, docs/reliability.md "Writers of the embedded process"). ENGINE
"backend.sqlite" in settings.

SQLite lets one connection write at a time. A connection that finds the lock taken sleeps and
retries (the busy handler: 1, 2, 5 … then 100 ms between tries) until `timeout`; it does not
queue, so under many writers the ones already sleeping 100 ms keep losing to newcomers (measured:
p99 22 s and a 500 after the 20 s timeout). Worse, SQLite does not call the busy handler at all
when a connection that already holds a read snapshot asks to write: the write fails AT ONCE with
"database is locked" (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT when another connection committed since
the snapshot was taken). A connection holds a snapshot inside a transaction begun DEFERRED (a
plain BEGIN, or a SAVEPOINT outside a transaction) and while one of its SELECTs is unfinished (an
`.iterator()` or a cursor not read to the end), even in autocommit mode.

So here, for every connection of the process, whatever the caller:

1. Every write transaction passes the process's gate (one lock per database file, waited for by
   the threads in turn) and begins with `BEGIN IMMEDIATE`, which takes SQLite's write lock before
   the first read — no snapshot is ever upgraded, and SQLite's busy handler only arbitrates
   between processes (a `migrate`, a command) where it does wait.
   - `atomic()` blocks: the outermost one takes the gate before `BEGIN IMMEDIATE` and hands it
     back at COMMIT / ROLLBACK (the only transaction mode accepted is IMMEDIATE or EXCLUSIVE).
   - A single write in autocommit mode (`Model.save()` of one row, `QuerySet.update()`,
     `.delete()`, a raw INSERT/UPDATE/DELETE/REPLACE — session saves, `last_login`, the relay's
     claims, the scheduler's lease, a report's progress) runs as its own gated
     `BEGIN IMMEDIATE … COMMIT`; rows it returns (RETURNING) are read before the COMMIT.
   - Manual transactions (`set_autocommit(False)`, or a SAVEPOINT outside a transaction): the
     gate and `BEGIN IMMEDIATE` are taken before their first write or savepoint and held until
     Django commits or rolls back.
2. Before a connection begins a write transaction, any SELECT of its own still unfinished is read
   to the end into its cursor (which then serves the rows from memory): the snapshot is released
   first, so the write waits in the queue instead of failing.

A gate not handed back within GATE_WAIT (a connection dropped mid-transaction) is not waited for
any longer: SQLite's own lock (and its busy handler) still protects the data.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import deque

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base

log = logging.getLogger(__name__)
GATE_WAIT = 30.0
_gates: dict[str, Gate] = {}
_gates_lock = threading.Lock()
# Statements that write (DML; Django's DDL runs in migrations, inside atomic blocks) and those that
# open a transaction by themselves (a SAVEPOINT outside a transaction begins a DEFERRED one).
_WRITE = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_SAVEPOINT = re.compile(r"\s*SAVEPOINT\b", re.IGNORECASE)
_BEGIN = re.compile(r"\s*BEGIN\b", re.IGNORECASE)
_END = re.compile(r"\s*(?:COMMIT|END|ROLLBACK\s*(?:TRANSACTION\s*)?;?\s*$)", re.IGNORECASE)


class Gate:
    """A lock handed over in the order it was asked for (threading.Lock is not fair: a thread that
    releases it and asks again at once usually wins over the threads already waiting)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._taken = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._taken:
                self._taken = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if turn in self._waiting:
                self._waiting.remove(turn)
                return False
        return True  # handed over between the timeout and the mutex

    def release(self) -> None:
        with self._mutex:
            if not self._taken:
                raise RuntimeError("release of a gate not taken")
            if self._waiting:
                self._waiting.popleft().release()  # stays taken: the next in line has it
            else:
                self._taken = False


def _gate(name: str) -> Gate:
    """One gate per database file in this process (connections of all threads share it)."""
    with _gates_lock:
        return _gates.setdefault(name, Gate())


class GatedCursor(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, routing writes through the wrapper's gate (see the module docstring)
    and able to serve the rest of its rows from memory once they were read out early."""

    db: DatabaseWrapper
    _rows: deque | None = None

    def execute(self, query, params=None):
        return self._run(query, lambda: super(GatedCursor, self).execute(query, params))

    def executemany(self, query, param_list):
        return self._run(query, lambda: super(GatedCursor, self).executemany(query, param_list))

    def _run(self, query: str, statement):
        self._rows = None
        self.db._reading.discard(self)
        raw = self.connection
        if not raw.in_transaction and (_WRITE.match(query) or _SAVEPOINT.match(query)):
            if self.db.get_autocommit() and not self.db.in_atomic_block and _WRITE.match(query):
                return self._own_transaction(statement)
            self.db._begin_immediate()  # a manual transaction: held until Django commits or rolls back
        elif _BEGIN.match(query) and not raw.in_transaction:
            self.db._begin_immediate()  # a hand-written BEGIN [DEFERRED]: begun IMMEDIATE, gated
            return self
        if _END.match(query):
            try:
                return statement()
            finally:
                if not raw.in_transaction:
                    self.db._release()
        result = statement()
        if self.description is not None:
            self.db._reading.add(self)  # rows to read: an open snapshot until read to the end
        return result

    def _own_transaction(self, statement):
        """One write in autocommit mode, as a gated BEGIN IMMEDIATE … COMMIT of its own."""
        self.db._begin_immediate()
        try:
            result = statement()
            if self.description is not None:  # RETURNING: read the rows inside the transaction
                self._rows = deque(super().fetchall())
        except BaseException:
            self.db._end("ROLLBACK")
            raise
        self.db._end("COMMIT")
        return result

    def drain(self) -> None:
        """Read the unfinished SELECT to its end now; the rows are served from memory."""
        self._rows = deque(super().fetchall())

    def fetchone(self):
        if self._rows is None:
            row = super().fetchone()
            if row is None:
                self.db._reading.discard(self)
            return row
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size=None):
        size = self.arraysize if size is None else size
        if self._rows is None:
            rows = super().fetchmany(size)
            if len(rows) < size:
                self.db._reading.discard(self)
            return rows
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    def fetchall(self):
        if self._rows is None:
            rows = super().fetchall()
            self.db._reading.discard(self)
            return rows
        rows, self._rows = list(self._rows), deque()
        return rows

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def close(self):
        self.db._reading.discard(self)
        self._rows = None
        return super().close()


class DatabaseWrapper(base.DatabaseWrapper):
    _held: Gate | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reading: weakref.WeakSet[GatedCursor] = weakref.WeakSet()

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.transaction_mode is None:
            self.transaction_mode = "IMMEDIATE"
        elif self.transaction_mode == "DEFERRED":
            raise ImproperlyConfigured(
                "backend.sqlite begins every write transaction IMMEDIATE (a DEFERRED one fails with "
                "'database is locked' when its snapshot is upgraded): drop transaction_mode or say IMMEDIATE."
            )
        return params

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=GatedCursor)
        cursor.db = self
        return cursor

    def _drain_reads(self) -> None:
        """Read this connection's unfinished SELECTs to their end, releasing their snapshot."""
        for cursor in list(self._reading):
            cursor.drain()
        self._reading.clear()

    def _take_gate(self) -> None:
        if self._held is not None:
            return
        gate = _gate(str(self.settings_dict["NAME"]))
        if gate.acquire(timeout=GATE_WAIT):
            self._held = gate
        else:
            log.warning(
                "SQLite write gate held for more than %.0f s; going on without it", GATE_WAIT
            )

    def _begin_immediate(self) -> None:
        """Take the gate and SQLite's write lock (BEGIN IMMEDIATE), with no snapshot open before."""
        self._drain_reads()
        self._take_gate()
        try:
            with self.wrap_database_errors:
                self.connection.execute(f"BEGIN {self.transaction_mode}")
        except BaseException:
            self._release()
            raise

    def _end(self, statement: str) -> None:
        try:
            with self.wrap_database_errors:
                self.connection.execute(statement)
        finally:
            self._release()

    def _start_transaction_under_autocommit(self):
        self._begin_immediate()

    def _release(self) -> None:
        gate, self._held = self._held, None
        if gate is not None:
            try:
                gate.release()
            except (
                RuntimeError
            ):  # already released (the holder gave up waiting): nothing to hand back
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
            self._reading.clear()
            return super()._close()
        finally:
            self._release()
