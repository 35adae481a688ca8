"""Serve HTTP and WebSocket with Daphne (the embedded default: one process does everything)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Gridcase (HTTP + WebSocket) on HOST:PORT with Daphne."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-scheduler", action="store_true",
                            help="do not run the scheduler here (scaled: one run_scheduler process does)")

    def handle(self, *args, host: str, port: int, no_scheduler: bool = False, **options):
        from daphne.cli import CommandLineInterface

        from backend.scheduler import Scheduler

        if not no_scheduler:
            Scheduler().start_thread()

        if settings.DEMO:
            from people.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

            self.stdout.write("Demo accounts (password %r):" % DEMO_PASSWORD)
            for username, description in DEMO_ACCOUNTS:
                self.stdout.write(f"  {username:<12} {description}")
        self.stdout.write(f"Gridcase on http://{host}:{port}/  (Ctrl-C stops)")
        CommandLineInterface().run(
            ["--bind", host, "--port", str(port), "--proxy-headers", "backend.asgi:application"]
        )
