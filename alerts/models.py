"""Stored alerts: one row per recipient, numbered per user (docs/domain.md §9).

A `Notification` is written in the same transaction as the case event that caused it (a
transactional outbox, docs/reliability.md R7): if the event commits, so does every alert; if it rolls
back, no alert exists. The relay (alerts/relay.py) pushes rows after commit; a client that missed
pushes asks for everything after its last seen `seq`.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    NEW_REPORT = "new_report", _("New report in your grid or area")
    VERIFY_TASK = "verify_task", _("Verification task")
    CHECK_TASK = "check_task", _("Check task")
    DISPATCHED = "dispatched", _("Case dispatched to your unit")
    APPROVAL_REQUEST = "approval_request", _("Request waiting for your approval")
    DEADLINE_WARNING = "deadline_warning", _("Deadline warning")
    OVERDUE = "overdue", _("Overdue")
    REWORK = "rework", _("Rework")
    SUPERVISED = "supervised", _("Supervised case")
    REPORT_PUBLISHED = (
        "report_published",
        _("Report published"),
    )  # the alert's title names its period
    REQUEST_ANSWERED = "request_answered", _("Your request was answered")
    ASSIGNED = "assigned", _("Case assigned to you")
    NEW_ILLEGAL_CONSTRUCTION = (
        "new_illegal_construction",
        _("New illegal construction"),
    )  # docs/domain.md §12


# A report alert's title names the report and its period (the payload's `report.key`): weekly
# 2026-W47 → "2026年第47周周通报已发布", monthly 2026-11 → "2026年11月月报已发布". The phone's ui.js
# words it with the same msgids from the JS catalogue (djangojs.po).
REPORT_TITLES = (
    (
        re.compile(r"^(\d{4})-W(\d{1,2})$"),
        gettext_noop("%(year)s week %(n)s: weekly report published"),
    ),
    (
        re.compile(r"^(\d{4})-(\d{1,2})$"),
        gettext_noop("%(year)s month %(n)s: monthly report published"),
    ),
    (
        re.compile(r"^(\d{4})-Q(\d)$"),
        gettext_noop("%(year)s quarter %(n)s: quarterly review published"),
    ),
)


def alert_title(payload: dict) -> str:
    """An alert's title in the active language: its kind's words, or for a report the report and
    its period."""
    kind = payload.get("type", "")
    key = (payload.get("report") or {}).get("key", "") if kind == Kind.REPORT_PUBLISHED else ""
    for pattern, words in REPORT_TITLES:
        if match := pattern.match(key):
            return gettext(words) % {"year": match[1], "n": int(match[2])}
    return str(Kind(kind).label) if kind in Kind.values else kind


class AlertCounter(models.Model):
    """The last sequence number handed to a user's alerts (locked while incremented)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last = models.PositiveBigIntegerField(default=0)


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(
        "cases.CaseEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    # A relay claims rows before pushing; a claim older than relay.CLAIM_TIMEOUT is taken over
    # (its relay died), so a crash between claim and push delays an alert but never loses it.
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "seq"]
        indexes = [
            models.Index(fields=["pushed_at", "id"]),
            models.Index(fields=["user", "read_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="notification_user_seq_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=Kind.values), name="notification_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}#{self.seq} {self.kind}"
