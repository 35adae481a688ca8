"""API tokens with an expiry, one per device (issue #16 item 7; docs/security.md).

- `issue(user, device=…)` makes a new key (40 hex characters) and replaces the device's previous
  token; only the SHA-256 digest is stored, so a database leak leaks no usable key;
- a token is valid until `expires_at` (settings.API_TOKEN_TTL_HOURS after issue or renewal);
  `renew()` gives the same device a new key and a new expiry and revokes the old key at once;
- `revoke()` on logout, by the person (their own tokens) or by an administrator (anyone's);
- `ExpiringTokenAuthentication` reads `Authorization: Token <key>` as DRF's own class does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from people.models import ApiToken, User

LAST_USED_EVERY = dt.timedelta(minutes=10)  # `last_used_at` is written at most this often


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def issue(user: User, *, device: str, now: dt.datetime | None = None) -> tuple[str, ApiToken]:
    """A new key for `user` on `device` (replacing that device's token); the key is not stored."""
    now = now or timezone.now()
    key = secrets.token_hex(20)
    device = (device or "default").strip()[:100] or "default"
    with transaction.atomic():
        ApiToken.objects.filter(user=user, device=device).delete()
        token = ApiToken.objects.create(
            user=user, device=device, digest=digest(key), created_at=now, expires_at=now + ttl()
        )
    return key, token


def renew(token: ApiToken, *, now: dt.datetime | None = None) -> tuple[str, ApiToken]:
    """A new key and expiry for the token's device; the old key stops working at once."""
    return issue(token.user, device=token.device, now=now)


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def user_for_key(key: str, *, now: dt.datetime | None = None) -> tuple[User, ApiToken] | None:
    """The active user and token of a valid, unexpired key; else None."""
    if not key or len(key) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
    now = now or timezone.now()
    if token is None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against ApiToken: expired, revoked or unknown keys are a 401."""

    def authenticate_credentials(self, key):
        found = user_for_key(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token: sign in again."))
        return found


def key_for(user: User, *, device: str | None = None) -> str:
    """A fresh key for `user` (scripts, tests, benchmarks): on a device of its own unless named."""
    return issue(user, device=device or f"script-{secrets.token_hex(4)}")[0]
