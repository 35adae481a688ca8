"""WebSocket URL routes. The alert streams arrive with the realtime issue."""

websocket_urlpatterns: list = []
