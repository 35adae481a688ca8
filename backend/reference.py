"""Per-process caches of reference rows, checked by ONE version read (docs/performance.md).

Reference rows — the classification (standards, big and small classes, case standards), the step
time limits and deadline rules, the working calendar, the grid layer with its grids and areas — are
read by nearly every request that writes a case and change a few times a year. Each process keeps
what it read of them in memory, keyed by a token:

- database triggers on every one of those tables (`install_triggers`, run after every `migrate`)
  replace the token with a random one in the writing statement's transaction — ORM saves, queryset
  updates, bulk writes, raw SQL and (on PostgreSQL) TRUNCATE alike;
- a rolled-back write rolls the token back with it, and a new token is random, so two different
  states of the tables never share one (a counter could come back after a rollback or a restore);
- the token is read before the rows, so a change racing a load is seen by the next read.

Inside an HTTP request the token is read once, at the first cache use, and pinned for the rest
of the request (`pinned()` does the same for batch work such as the deadline sweep); an ORM save or
delete of a reference row unpins it, so a request that changes reference rows reads them fresh.
Cached objects are shared between requests and threads: callers must not modify them.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.apps import apps
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.models.signals import post_delete, post_save

NAME = "reference"
TABLE = "backend_referenceversion"
MODELS = (
    "cases.ClassificationStandard",
    "cases.BigClass",
    "cases.SmallClass",
    "cases.CaseStandard",
    "cases.StepLimit",
    "cases.DeadlineRules",
    "worktime.WorkingDay",
    "worktime.WorkingPeriod",
    "grids.GridLayer",
    "grids.Grid",
    "grids.Area",
)

_caches: dict[str, tuple[str | None, Any]] = {}
_lock = threading.Lock()
_local = threading.local()  # .active: inside a request or pinned(); .token: the token read for it


def tables() -> list[str]:
    return [apps.get_model(label)._meta.db_table for label in MODELS]


def token() -> str | None:
    """The current token (None before any reference row was written); one primary-key read, or
    none when this request already read it."""
    if getattr(_local, "active", False) and getattr(_local, "token", None) is not None:
        return _local.token
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {TABLE} WHERE name = %s", [NAME])
        row = cursor.fetchone()
    found = row[0] if row else None
    if getattr(_local, "active", False):
        _local.token = found
    return found


def cached(name: str, load: Callable[[], Any]) -> Any:
    """`load()`'s value, loaded again only when the token changed since it was loaded."""
    current = token()
    hit = _caches.get(name)
    if hit is not None and hit[0] == current and current is not None:
        return hit[1]
    value = load()
    with _lock:
        _caches[name] = (current, value)
    return value


def forget() -> None:
    """Drop every cache of this process (tests that swap databases)."""
    with _lock:
        _caches.clear()
    _local.token = None


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """Inside the block the token is read once, as within an HTTP request: for batch work outside
    requests (the deadline sweep computes a light per open case)."""
    before = getattr(_local, "active", False), getattr(_local, "token", None)
    _local.active, _local.token = True, None
    try:
        yield
    finally:
        _local.active, _local.token = before


def _request_started(**kwargs) -> None:
    _local.active, _local.token = True, None


def _request_finished(**kwargs) -> None:
    _local.active, _local.token = False, None


def _unpin(sender, **kwargs) -> None:
    if sender._meta.label in MODELS:
        _local.token = None


request_started.connect(_request_started, dispatch_uid="reference-request-started")
request_finished.connect(_request_finished, dispatch_uid="reference-request-finished")
post_save.connect(_unpin, dispatch_uid="reference-unpin-save")
post_delete.connect(_unpin, dispatch_uid="reference-unpin-delete")


# --- the triggers ------------------------------------------------------------------------------


def _sqlite_statements(table: str) -> list[str]:
    bump = (
        f"INSERT OR REPLACE INTO {TABLE} (name, token) "
        f"VALUES ('{NAME}', lower(hex(randomblob(16))))"
    )
    return [
        f'CREATE TRIGGER IF NOT EXISTS "reference_{table}_{event.lower()}" '
        f'AFTER {event} ON "{table}" FOR EACH ROW BEGIN {bump}; END'
        for event in ("INSERT", "UPDATE", "DELETE")
    ]


POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reference_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (name, token) VALUES ('{NAME}', md5(random()::text || clock_timestamp()::text))
    ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END $$
"""


def _postgres_statements(table: str) -> list[str]:
    return [
        f'CREATE OR REPLACE TRIGGER "reference_{table}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
        f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION reference_bump()'
    ]


def install_triggers(using: str = "default") -> None:
    """Create the triggers where they are missing (idempotent). Run after every migrate: on SQLite a
    migration that rebuilds a table drops its triggers."""
    from django.db import connections

    target = connections[using]
    present = set(target.introspection.table_names())
    if TABLE not in present:  # migrated back before the token's table: nothing to keep fresh
        return
    # A table a partial migrate has not made yet gets its trigger after the migrate that makes it.
    existing = [table for table in tables() if table in present]
    with target.cursor() as cursor:
        if target.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            statements = [s for table in existing for s in _postgres_statements(table)]
        elif target.vendor == "sqlite":
            statements = [s for table in existing for s in _sqlite_statements(table)]
        else:  # pragma: no cover - the project runs on these two
            raise RuntimeError(f"no reference triggers for {target.vendor}")
        for statement in statements:
            cursor.execute(statement)
        # A token from the start (rows written before the triggers existed, a flushed table): until
        # there is one, nothing is cached.
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE name = %s", [NAME])
        if cursor.fetchone() is None:
            cursor.execute(
                f"INSERT INTO {TABLE} (name, token) VALUES (%s, %s)", [NAME, secrets.token_hex(16)]
            )
    forget()


def installed_triggers(using: str = "default") -> set[str]:
    """The names of the reference triggers present in the database (for the tests and `check`)."""
    from django.db import connections

    target = connections[using]
    with target.cursor() as cursor:
        if target.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'reference_%%'"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'reference_%'"
            )
        return {row[0] for row in cursor.fetchall()}


def expected_triggers(vendor: str) -> set[str]:
    if vendor == "postgresql":
        return {f"reference_{table}" for table in tables()}
    return {
        f"reference_{table}_{event}"
        for table in tables()
        for event in ("insert", "update", "delete")
    }
