"""WebSocket URL routes: /ws/alerts/ (a person's alerts) and /ws/cases/ (live map)."""

from alerts.routing import websocket_urlpatterns  # noqa: F401
