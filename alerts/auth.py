"""WebSocket authentication by API token: `wss://…/ws/alerts/?token=<token>` for clients that
have no session cookie. The session (AuthMiddlewareStack) is used when no token is given. The
token is a people.ApiToken: an expired or revoked one authenticates nobody."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for(key: str):
    from people.tokens import user_for_key

    found = user_for_key(key)
    return found[0] if found else AnonymousUser()


class TokenAuthMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        keys = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if keys:
            scope = {**scope, "user": await _user_for(keys[0])}
        return await self.app(scope, receive, send)


def _headers(scope) -> dict[bytes, str]:
    found = {}
    for name, value in scope.get("headers", []):
        try:
            found.setdefault(name.lower(), value.decode("latin1").strip())
        except UnicodeDecodeError:
            pass
    return found


def origin_allowed(scope) -> bool:
    """Whether a WebSocket handshake comes from one of our own pages: its Origin must be, scheme,
    host and port, the origin the page was served from — the handshake's own Host (a host of
    ALLOWED_HOSTS) with http for ws and https for wss (or behind a TLS proxy that says so by
    SECURE_PROXY_SSL_HEADER) — or one listed in CSRF_TRUSTED_ORIGINS. Without a Host header (no
    browser sends that) the Origin's host must be in ALLOWED_HOSTS on its scheme's default port."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.http.request import validate_host

    headers = _headers(scope)
    origin = headers.get(b"origin", "")
    if not origin or origin == "null":
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return False
    default_port = 443 if parts.scheme == "https" else 80
    host = headers.get(b"host")
    if host is None:
        return origin_port in (None, default_port) and validate_host(
            parts.hostname, settings.ALLOWED_HOSTS
        )
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").lower().replace("_", "-").encode()
        secure = secure or headers.get(name) == proxy_header[1]
    expected = urlsplit(f"{'https' if secure else 'http'}://{host}")
    try:
        expected_port = expected.port or (443 if secure else 80)
    except ValueError:
        return False
    return (
        validate_host(expected.hostname or "", settings.ALLOWED_HOSTS)
        and parts.scheme == expected.scheme
        and parts.hostname == expected.hostname
        and (origin_port or default_port) == expected_port
    )


class OriginValidator:
    """Refuses a WebSocket handshake whose Origin is not ours (origin_allowed), before anything else."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and not origin_allowed(scope):
            from channels.security.websocket import WebsocketDenier

            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
