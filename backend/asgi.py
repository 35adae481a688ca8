"""ASGI entry point: HTTP and WebSocket (`/ws/…`).

get_asgi_application() runs first so the app registry is ready before anything imports models.
AllowedHostsOriginValidator rejects handshakes whose Origin is not in ALLOWED_HOSTS; sockets
authenticate by session cookie or `?token=`. RelayStarter runs the alert relay on this process's
event loop (alerts/relay.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from django.urls import re_path  # noqa: E402

from alerts.auth import TokenAuthMiddleware  # noqa: E402
from alerts.consumers import NotFoundConsumer  # noqa: E402
from alerts.relay import RelayStarter  # noqa: E402
from backend.routing import websocket_urlpatterns  # noqa: E402

application = RelayStarter(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(
                    [*websocket_urlpatterns, re_path(r"", NotFoundConsumer.as_asgi())])))
            ),
        }
    )
)
