"""Idempotency records for case creation (docs/reliability.md §2, R1–R4).

One row per (user, Idempotency-Key): inserted `in_flight` before the work starts (the unique
constraint makes concurrent retries collide here, not in the case table), then completed with the
response's status and body, which every replay returns. Keys are scoped to the user, so a guessed
key cannot fetch somebody else's result.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(models.Model):
    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set in the same transaction as the case it made: a retry after a crash between that commit
    # and `complete()` answers with this case instead of making another.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
            models.CheckConstraint(
                condition=Q(state__in=["in_flight", "done"]), name="idempotency_state_valid"
            ),
        ]
