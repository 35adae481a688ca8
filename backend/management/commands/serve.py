"""Serve HTTP and WebSocket with Daphne (the embedded default: one process does everything)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Gridcase (HTTP + WebSocket) on HOST:PORT with Daphne."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="do not run the scheduler here (scaled: one run_scheduler process does)",
        )

    def handle(self, *args, host: str, port: int, no_scheduler: bool = False, **options):
        from daphne.cli import CommandLineInterface

        from backend.bodylimit import install_daphne_limit
        from backend.scheduler import Scheduler

        install_daphne_limit()  # 413 for a body over MAX_REQUEST_BODY_BYTES while it arrives

        if not no_scheduler:
            Scheduler().start_thread()

        if settings.DEMO:
            from people.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

            self.stdout.write(f"Demo accounts (password {DEMO_PASSWORD!r}):")
            for username, description in DEMO_ACCOUNTS:
                self.stdout.write(f"  {username:<12} {description}")
        self.stdout.write(f"Gridcase on http://{host}:{port}/  (Ctrl-C stops)")
        CommandLineInterface().run(
            # No --proxy-headers: Daphne would take the client address from the first (client-written)
            # X-Forwarded-For entry. backend.middleware.client_ip reads it per settings.TRUSTED_PROXIES.
            ["--bind", host, "--port", str(port), "backend.asgi:application"]
        )
