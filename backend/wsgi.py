"""WSGI entry point: the REST API and pages in the scaled deployment (docs/operations.md).

RelayThreadStarter runs this worker's alert relay in a thread (alerts/relay.py), so live-map
changes and alerts made by its requests are pushed like those made under ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
application = get_wsgi_application()

from alerts.relay import RelayThreadStarter  # noqa: E402

application = RelayThreadStarter(application)
