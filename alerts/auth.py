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
