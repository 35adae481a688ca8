"""Idempotent case creation (docs/reliability.md §2 and §7; Stripe semantics, IETF draft status codes).

- a missing or malformed `Idempotency-Key` → 400;
- first request: an `in_flight` record is inserted in its own short transaction, before any work;
- a retry while the first is still running → 409 ("a request is outstanding for this key");
- a retry with a different payload → 422;
- a retry after completion → the stored status and body, byte for byte the same JSON;
- a request that fails validation stores nothing (the record is removed), so the client may fix and
  retry with the same key; a worker killed mid-request leaves an `in_flight` record that a retry
  takes over after STALE_AFTER.
Keys are scoped to the user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
STALE_AFTER = dt.timedelta(minutes=2)  # the default of settings.IDEMPOTENCY_STALE_SECONDS
INSERT_ATTEMPTS = 5


class IdempotencyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def fingerprint(data: dict, files: list[bytes]) -> str:
    try:
        encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    except (
        orjson.JSONEncodeError
    ):  # e.g. an integer beyond 64 bits: still a body, still fingerprinted
        encoded = json.dumps(data, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(encoded)
    for content in files:
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def begin(
    user, key: str | None, print_: str
) -> tuple[IdempotencyRecord | None, IdempotencyRecord | None]:
    """(record to complete, None) for new work, or (None, finished record) to replay."""
    if not key:
        raise IdempotencyError(
            400, "Idempotency-Key header is required (a UUID made once per report)."
        )
    if not KEY_PATTERN.match(key):
        raise IdempotencyError(400, "Idempotency-Key must be 1–255 printable ASCII characters.")
    # Insert, or read the record that holds the key. Between a failed insert and the read, the
    # holder may have been refused and forgotten its record: then the key is free again and the
    # insert is retried (a few times; under that much contention the client is told to retry).
    for _attempt in range(INSERT_ATTEMPTS):
        try:
            return _insert(IdempotencyRecord(user=user, key=key, fingerprint=print_)), None
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None:
            break
    else:
        raise IdempotencyError(
            409, "A request is outstanding for this Idempotency-Key; retry later."
        )
    if record.fingerprint != print_:
        raise IdempotencyError(422, "This Idempotency-Key was used with a different request body.")
    if record.state == IdempotencyRecord.State.DONE:
        return None, record
    stale = getattr(settings, "IDEMPOTENCY_STALE_SECONDS", None)
    cutoff = timezone.now() - (dt.timedelta(seconds=stale) if stale is not None else STALE_AFTER)
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, state="in_flight", created_at__lt=cutoff
    ).update(created_at=timezone.now())
    if taken and (record := IdempotencyRecord.objects.filter(pk=record.pk).first()) is not None:
        return record, None  # the first attempt died without finishing: this retry does the work
    raise IdempotencyError(409, "A request is outstanding for this Idempotency-Key; retry later.")


def _insert(record: IdempotencyRecord) -> IdempotencyRecord:
    """Insert and commit the record at once. In autocommit the INSERT is its own transaction (one
    round trip, no BEGIN/COMMIT); inside a caller's transaction a savepoint keeps that transaction
    usable after a duplicate key."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            record.save(force_insert=True)
    else:
        record.save(force_insert=True)
    return record


def complete(record: IdempotencyRecord, status: int, body: dict) -> None:
    record.state, record.status_code, record.completed_at = (
        IdempotencyRecord.State.DONE,
        status,
        timezone.now(),
    )
    record.body = orjson.loads(orjson.dumps(body))
    record.save(update_fields=["state", "status_code", "body", "completed_at"])


def forget(record: IdempotencyRecord | None) -> None:
    """Drop a record whose request stored no result (validation failed, or an error)."""
    if record is not None:
        IdempotencyRecord.objects.filter(pk=record.pk, state="in_flight").delete()
