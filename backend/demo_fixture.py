"""The demo history kept as a committed fixture (issue 18, item 7), restored in seconds.

Building a quarter of history through the workflow's front doors (cases/demo.py, patrol/demo.py)
takes minutes on a small machine: more than the 3 minutes a first `make run` may take. So
`manage.py demo_fixture` (`make demo-fixture`) builds it once, in a fresh database, exactly as
`load_demo` would, and keeps every row the history wrote (the tables that were empty before it and
are not after: cases, events, photos, notifications, serials, the ledger entries the 违建 cases
opened, track points and their day summaries) in `fixtures/demo/history.json.xz`. `load_demo`
restores it into a fresh database through Django (`bulk_create`, one transaction, SQLite and
PostgreSQL alike) with every date and time moved forward by whole weeks, and then makes the days
between the fixture's end and yesterday through the front doors, as a live build would have.

Why whole weeks: the working calendar and the demo's weekday patterns stay aligned (a Monday stays
a Monday; a working-time deadline stays the same working time after its step). Every timestamp
of a row moves by the same amount, the deadlines, step deadlines and report times inside events
too, so each case's deadlines and on-time flags stay what the workflow computed; a case open at
the fixture's end is as overdue relative to its deadline as it was, plus the days since. Public
holidays are the exception: a history built in one season and moved into another keeps the
working days of its build (the calendar's 调休 days do not move with it); rebuilding the fixture
now and then keeps that small.

What must match for a restore (else `load_demo` builds the history live and says why): the
columns of every table the fixture holds (a migration that changes a demo table), the rows it
refers to in other tables (the same user, grid, unit, category behind each key) and the photo
files. tests/test_demo_fixture.py also fails, saying "run make demo-fixture", when the demo
modules' code or the migrations of the fixture's apps differ from the ones it was built with.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import itertools
import json
import lzma
import re
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

FIXTURE = settings.BASE_DIR / "fixtures" / "demo" / "history.json.xz"
FORMAT = 1
# The code that shapes the history: a change to any of these means the fixture is stale (a change
# to how this module writes it bumps FORMAT).
LOADER_CODE = ("cases/demo.py", "patrol/demo.py", "people/demo.py", "open311/demo.py")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")
ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
CASE_NUMBER = re.compile(r"^(\d{8})(\d{5})$")  # YYYYMMDD + the day's serial (cases.models)
KEY_FIELDS = ("username", "code", "name")  # how a referenced row is recognised


class Mismatch(Exception):
    """The fixture does not fit this database or code: build the history live instead."""


def loader_hash() -> str:
    """A hash of what the demo modules do: their syntax trees without docstrings, so reformatting
    (ruff format) or a comment does not make the fixture stale, and any change of code does."""
    digest = hashlib.sha256()
    for name in LOADER_CODE:
        tree = ast.parse((settings.BASE_DIR / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(body, list)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        digest.update(name.encode() + b"\0" + ast.dump(tree).encode())
    return digest.hexdigest()


def migration_state(app_labels: Iterable[str]) -> dict[str, list[str]]:
    """The leaf migrations of those apps in this code."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = graph.leaf_nodes()
    return {
        label: sorted(name for app, name in leaves if app == label)
        for label in sorted(set(app_labels))
    }


# Tables made from the history, not part of it: restore() writes them from the restored rows.
DERIVED = frozenset({"metrics.DailyFigures"})


def signature(model: type[models.Model]) -> list[list[str]]:
    return [[f.attname, f.get_internal_type()] for f in model._meta.concrete_fields]


def table_counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy
    }


# --- building -----------------------------------------------------------------------------------


def dump(path: Path, *, before: dict[str, int], now: dt.datetime, built_for: dict) -> dict:
    """Write every table that was empty in `before` and has rows now, except what is derived from
    them (DERIVED: written again by restore()); returns the header."""
    labels = sorted(
        label
        for label, n in table_counts().items()
        if n and not before.get(label) and label not in DERIVED
    )
    tables, refs = {}, {}
    for label in labels:
        model = apps.get_model(label)
        fields = list(model._meta.concrete_fields)
        rows = list(model._default_manager.order_by("pk").values_list(*[f.attname for f in fields]))
        columns = [_encode_column(f, [row[i] for row in rows]) for i, f in enumerate(fields)]
        tables[label] = {"signature": signature(model), "rows": len(rows), "columns": columns}
        for i, f in enumerate(fields):
            target = f.related_model._meta.label if f.is_relation and f.many_to_one else None
            if target and target not in labels:
                refs.setdefault(target, set()).update(row[i] for row in rows if row[i] is not None)
    header = {
        "format": FORMAT,
        "now": now.isoformat(),
        "built_for": built_for,
        "code": loader_hash(),
        "migrations": migration_state(apps.get_model(label)._meta.app_label for label in labels),
        "refs": {label: _keys(apps.get_model(label), pks) for label, pks in sorted(refs.items())},
        "photos": sorted(default_storage_files()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as out:
        json.dump({**header, "tables": tables}, out, ensure_ascii=False, separators=(",", ":"))
    return header


def default_storage_files() -> set[str]:
    from cases.models import Photo

    names = set()
    for row in Photo.objects.values_list("original", "public", "thumbnail"):
        names.update(n for n in row if n)
    return names


def _keys(model: type[models.Model], pks: set) -> dict[str, str | None]:
    field = next(
        (f for f in KEY_FIELDS if any(x.name == f for x in model._meta.concrete_fields)), None
    )
    if field is None:
        return {str(pk): None for pk in sorted(pks)}
    return {
        str(pk): key
        for pk, key in model._default_manager.filter(pk__in=pks).values_list("pk", field)
    }


def _encode_column(field: models.Field, values: list) -> list:
    """["d", first, delta…] for a column of integers (times as µs, dates as day numbers), ["u"]
    for a unique random key (made again on restore), else ["v", values…]; compact once compressed."""
    kind = field.get_internal_type()
    if kind == "UUIDField" and field.unique and all(v is not None for v in values):
        return ["u"]
    if kind == "DateTimeField":
        values = [
            None if v is None else (v - EPOCH) // dt.timedelta(microseconds=1) for v in values
        ]
    elif kind == "DateField":
        values = [None if v is None else v.toordinal() for v in values]
    elif kind in ("DecimalField", "UUIDField"):
        values = [None if v is None else str(v) for v in values]
    if values and all(type(v) is int for v in values):
        return ["d", values[0], *(b - a for a, b in itertools.pairwise(values))]
    return ["v", *values]


# --- restoring ----------------------------------------------------------------------------------


def read(path: Path = FIXTURE) -> dict:
    with lzma.open(path, "rt", encoding="utf-8") as src:
        return json.load(src)


def weeks_to_move(fixture: dict, now: dt.datetime) -> int:
    """Whole weeks that bring the fixture's end as close to `now` as possible without passing it."""
    end = dt.datetime.fromisoformat(fixture["now"])
    return (timezone.localdate(now) - timezone.localdate(end)).days // 7


def restored_end(fixture: dict, now: dt.datetime) -> dt.datetime:
    """Where the history restored at `now` ends: the days from then to yesterday are made live."""
    return dt.datetime.fromisoformat(fixture["now"]) + dt.timedelta(
        weeks=weeks_to_move(fixture, now)
    )


def check(fixture: dict) -> None:
    """Mismatch unless this database can take the fixture: same columns, empty tables, the same
    rows behind the keys it refers to."""
    if fixture.get("format") != FORMAT:
        raise Mismatch(f"fixture format {fixture.get('format')} (this code reads {FORMAT})")
    for label, table in fixture["tables"].items():
        try:
            model = apps.get_model(label)
        except LookupError:
            raise Mismatch(f"{label} no longer exists") from None
        if signature(model) != table["signature"]:
            raise Mismatch(f"the columns of {label} changed since the fixture was built")
        if model._default_manager.exists():
            raise Mismatch(f"{label} already has rows")
    for label, keys in fixture["refs"].items():
        model = apps.get_model(label)
        found = _keys(model, {int(pk) for pk in keys})
        wrong = [pk for pk, key in keys.items() if found.get(pk, "<missing>") != key]
        if wrong:
            raise Mismatch(
                f"{len(wrong)} {label} rows differ from the fixture's (e.g. key {wrong[0]})"
            )


def restore(
    fixture: dict,
    *,
    now: dt.datetime | None = None,
    progress: Callable[[int], object] | None = None,
) -> dt.datetime:
    """Insert the fixture's rows moved by whole weeks, in one transaction (no save(), no signals, no
    auto_now: the rows are the history as it was written); returns the moment the
    restored history ends (the days after it up to `now` are the caller's to make)."""
    from cases.demo import PHOTO_VARIANTS, demo_photo

    now = now or timezone.now()
    check(fixture)
    for variant in range(PHOTO_VARIANTS):  # the photo files (content-addressed, idempotent)
        demo_photo(variant)
    missing = [name for name in fixture["photos"] if not default_storage.exists(name)]
    if missing:
        raise Mismatch(
            f"{len(missing)} photo files the fixture names are not made by cases/demo.py"
        )
    shift = dt.timedelta(weeks=weeks_to_move(fixture, now))
    numbers = _number_map(fixture, shift)
    with transaction.atomic():
        for label, table in fixture["tables"].items():
            model = apps.get_model(label)
            fields = list(model._meta.concrete_fields)
            columns = [
                _decode_column(f, c, table["rows"], shift, numbers)
                for f, c in zip(fields, table["columns"], strict=True)
            ]
            pk_index = next(i for i, f in enumerate(fields) if f.primary_key)
            for i, column in enumerate(table["columns"]):
                if column == ["u"]:  # a random key: made again, deterministically
                    columns[i] = [
                        uuid.uuid5(uuid.NAMESPACE_URL, f"gridcase-demo:{label}:{pk}")
                        for pk in columns[pk_index]
                    ]
            _insert(model, fields, columns, progress)
        models_ = [apps.get_model(label) for label in fixture["tables"]]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models_):
                cursor.execute(sql)
        # The metrics rollup follows each case event as it is written (metrics/rollup.py), which
        # these inserts bypass: it is written again from the restored event log, in this transaction.
        from metrics import rollup

        rollup.rebuild()
    return restored_end(fixture, now)


def _insert(
    model: type[models.Model],
    fields: list[models.Field],
    columns: list[list],
    progress: Callable[[int], object] | None,
    batch: int = 5000,
) -> None:
    """The rows as one INSERT run many times (Django's cursor, each value through its field's
    get_db_prep_save where it is not a plain number or string): bulk_create builds the SQL of
    every batch of ~100 rows anew, five times slower for the 250,000 track points."""
    plain = (
        models.IntegerField,
        models.FloatField,
        models.BooleanField,
        models.CharField,
        models.TextField,
    )
    for i, f in enumerate(fields):
        target = f.target_field if f.is_relation else f
        if not isinstance(target, plain) or isinstance(target, models.UUIDField):
            columns[i] = [f.get_db_prep_save(v, connection) for v in columns[i]]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    count = len(columns[0]) if columns else 0
    with connection.cursor() as cursor:
        for start in range(0, count, batch):
            chunk = list(zip(*(c[start : start + batch] for c in columns), strict=True))
            cursor.executemany(sql, chunk)
            if progress is not None:
                progress(len(chunk))


def rows(fixture: dict) -> int:
    return sum(table["rows"] for table in fixture["tables"].values())


def _number_map(fixture: dict, shift: dt.timedelta) -> dict[str, str]:
    """Case numbers carry their report day (YYYYMMDD + serial): old → moved."""
    table = fixture["tables"].get("cases.Case")
    if table is None:
        return {}
    index = [name for name, _kind in table["signature"]].index("number")
    out = {}
    for number in table["columns"][index][1:]:
        match = CASE_NUMBER.match(number or "")
        if match:
            day = dt.datetime.strptime(match[1], "%Y%m%d").date() + shift
            out[number] = f"{day:%Y%m%d}{match[2]}"
    return out


def _decode_column(
    field: models.Field, column: list, count: int, shift: dt.timedelta, numbers: dict[str, str]
) -> list:
    tag, values = column[0], column[1:]
    if tag == "u":
        return [None] * count
    if tag == "d":
        out, running = [], 0
        for i, v in enumerate(values):
            running = v if i == 0 else running + v
            out.append(running)
        values = out
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return [None if v is None else EPOCH + dt.timedelta(microseconds=v) + shift for v in values]
    if kind == "DateField":
        return [None if v is None else dt.date.fromordinal(v) + shift for v in values]
    if kind == "DecimalField":
        return [None if v is None else Decimal(v) for v in values]
    if kind == "UUIDField":
        return [None if v is None else uuid.UUID(v) for v in values]
    if kind == "JSONField":
        return [_move(v, shift, numbers) for v in values]
    if isinstance(field, models.CharField | models.TextField):
        return [numbers.get(v, v) if isinstance(v, str) else v for v in values]
    return values


def _move(value, shift: dt.timedelta, numbers: dict[str, str]):
    """A JSON value with its times and dates moved and its case numbers renamed."""
    if isinstance(value, dict):
        return {k: _move(v, shift, numbers) for k, v in value.items()}
    if isinstance(value, list):
        return [_move(v, shift, numbers) for v in value]
    if isinstance(value, str):
        if value in numbers:
            return numbers[value]
        if ISO_DATETIME.match(value):
            moved = dt.datetime.fromisoformat(value) + shift
            return (
                moved.isoformat().replace("+00:00", "Z")
                if value.endswith("Z")
                else moved.isoformat()
            )
        if ISO_DATE.match(value):
            return (dt.date.fromisoformat(value) + shift).isoformat()
    return value
