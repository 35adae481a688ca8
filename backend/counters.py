"""Counter rows (`last` = the number last handed out) incremented in one round trip.

`UPDATE … SET last = last + 1 … RETURNING last` (SQLite ≥ 3.35 and PostgreSQL) takes the row lock
and reads the new value at once; the ORM needs an UPDATE then a SELECT. The lock is held until
the caller's transaction ends, so the shorter the rest of that transaction, the more writers per
second pass (the daily case serial is one row every report of the day waits for).
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction


def increment(model, key_field: str, key) -> int | None:
    """Add 1 to `model.last` where `key_field` = `key`; the new value, or None if there is no row."""
    field = model._meta.get_field(key_field)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(model._meta.db_table)} SET {quote('last')} = {quote('last')} + 1 "
            f"WHERE {quote(field.column)} = %s RETURNING {quote('last')}",
            [field.get_db_prep_value(key, connection)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def next_value(model, key_field: str, key) -> int:
    """The next number of the counter row for `key`, making the row (at 1) on first use. Call inside
    the caller's transaction: the row stays locked until it ends."""
    value = increment(model, key_field, key)
    if value is None:
        try:
            with transaction.atomic():
                return model.objects.create(
                    **{model._meta.get_field(key_field).attname: key, "last": 1}
                ).last
        except IntegrityError:  # another transaction made the row first
            value = increment(model, key_field, key)
    return value
