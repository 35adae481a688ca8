"""The public channel's own records (docs/domain.md §10): API clients and what they submitted.

- `ApiClient`: a third-party app allowed to POST service requests. Only a SHA-256 of its key is
  stored (keys are 256-bit random tokens, so an unsalted hash is enough, as for GitHub/PyPI
  tokens); the key itself is shown once, when it is issued. Revoking sets `active` off.
- `Submission`: one accepted POST, made in the same transaction as its case. It holds what the
  case has no field for (the client, the body's fingerprint for repeat detection, the submitted
  media URLs, an address_id, the token), so nothing in `cases` had to change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

KEY_PREFIX_LENGTH = 8


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_hex(16)


class ApiClientQuerySet(models.QuerySet):
    def for_key(self, raw: str | None) -> ApiClient | None:
        """The active client holding this key; None for a missing, unknown or revoked key."""
        if not raw:
            return None
        return self.filter(key_hash=hash_key(raw), active=True).first()


class ApiClient(models.Model):
    name = models.CharField(
        _("name"), max_length=100, help_text=_("The app or organisation using the key.")
    )
    contact = models.CharField(
        _("contact"),
        max_length=200,
        blank=True,
        help_text=_("Who to call about this client (not shown publicly)."),
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(
        _("key starts with"), max_length=KEY_PREFIX_LENGTH, editable=False
    )
    active = models.BooleanField(_("active"), default=True, editable=False)
    created = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 API client")
        verbose_name_plural = _("Open311 API clients")
        ordering = ["-active", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def set_new_key(self, raw: str | None = None) -> str:
        """Give this client a new key (random unless `raw` is given) and return it; the caller
        saves the row and shows the key once. Only its hash and first characters are kept."""
        raw = raw or secrets.token_urlsafe(32)
        self.key_hash, self.key_prefix = hash_key(raw), raw[:KEY_PREFIX_LENGTH]
        return raw

    def revoke(self, *, now: dt.datetime | None = None) -> None:
        """Refuse this client's key from now on (403). Its past submissions stay."""
        self.active, self.revoked_at = False, now or timezone.now()
        self.save(update_fields=["active", "revoked_at"])


def issue_key(*, name: str, contact: str = "", raw: str | None = None) -> tuple[ApiClient, str]:
    """Create an API client and return it with its key (shown once: only the hash is stored)."""
    client = ApiClient(name=name, contact=contact)
    key = client.set_new_key(raw)
    client.save()
    return client, key


class Submission(models.Model):
    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("API client"),
        on_delete=models.PROTECT,
        related_name="submissions",
    )
    case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="open311_submission",
    )
    fingerprint = models.CharField(
        max_length=64, help_text=_("SHA-256 of the submitted parameters.")
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    media_urls = models.JSONField(default=list, blank=True)
    address_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("Open311 submission")
        verbose_name_plural = _("Open311 submissions")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["client", "fingerprint", "received_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="open311_submission_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client.name} → {self.case.number}"
