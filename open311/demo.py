"""The demo's published API key (demo mode only)."""

from __future__ import annotations

from django.conf import settings

from open311.models import ApiClient, hash_key

DEMO_KEY = "gridcase-demo-key"
DEMO_CLIENT_NAME = "Gridcase demo"


def ensure_demo_key() -> ApiClient | None:
    """In demo mode (settings.DEMO), the active API client whose key is `gridcase-demo-key`.

    Idempotent: made once, re-activated if it was revoked. Outside demo mode it does nothing and
    returns None: a published key must never open a production instance.
    """
    if not settings.DEMO:
        return None
    client, _ = ApiClient.objects.get_or_create(
        key_hash=hash_key(DEMO_KEY),
        defaults={"name": DEMO_CLIENT_NAME, "key_prefix": DEMO_KEY[:8], "contact": "demo"},
    )
    if not client.active:
        client.active, client.revoked_at = True, None
        client.save(update_fields=["active", "revoked_at"])
    return client
