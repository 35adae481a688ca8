"""ASGI entry point: HTTP and WebSocket (`/ws/…`).

get_asgi_application() runs first so the app registry is ready before anything imports models.
OriginValidator (alerts/auth.py) rejects handshakes whose Origin — scheme, host and port — is not
the site's own (or in CSRF_TRUSTED_ORIGINS); sockets
authenticate by session cookie or `?token=`. RelayStarter runs the alert relay on this process's
event loop (alerts/relay.py).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from alerts.auth import OriginValidator, TokenAuthMiddleware  # noqa: E402
from alerts.consumers import NotFoundConsumer  # noqa: E402
from alerts.relay import RelayStarter  # noqa: E402
from backend.bodylimit import BodyLimit  # noqa: E402
from backend.routing import websocket_urlpatterns  # noqa: E402

application = RelayStarter(
    ProtocolTypeRouter(
        {
            "http": BodyLimit(django_asgi_app),  # 413 before reading a body over the limit
            "websocket": OriginValidator(
                AuthMiddlewareStack(
                    TokenAuthMiddleware(
                        URLRouter(
                            [*websocket_urlpatterns, re_path(r"", NotFoundConsumer.as_asgi())]
                        )
                    )
                )
            ),
        }
    )
)
