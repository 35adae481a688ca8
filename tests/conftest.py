"""Suite-wide fixtures. Services that a test needs and that are missing make it skip with a
message locally; under CI=true they make it fail (never skip)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI") == "true"
# tests/reliability/ is collected in every run: its quick tests run in `make test` (and so in CI);
# the tests marked `long` (the long budgets) are skipped, saying so, unless GRIDCASE_RELIABILITY=1
# (`make reliability`).
LONG_BUDGETS = os.environ.get("GRIDCASE_RELIABILITY") == "1"
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
_scratch: dict[str, str | None] = {}


def pytest_configure(config) -> None:
    """Every temporary folder of the session goes into one scratch folder, removed at the end:
    tempfile's (tempfile.mkdtemp, pytest's tmp_path) and the child processes' (TMPDIR), so no
    `gridcase-*` folder is left in the system temp directory."""
    folder = tempfile.mkdtemp(prefix="gridcase-tests-")
    _scratch.update(folder=folder, tempdir=tempfile.tempdir, TMPDIR=os.environ.get("TMPDIR"))
    tempfile.tempdir = folder
    os.environ["TMPDIR"] = folder


def pytest_collection_modifyitems(config, items) -> None:
    if LONG_BUDGETS:
        return
    skip = pytest.mark.skip(reason="a long reliability budget: `make reliability` runs it")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)


def pytest_unconfigure(config) -> None:
    folder = _scratch.pop("folder", None)
    if folder is None:
        return
    tempfile.tempdir = _scratch.pop("tempdir", None)
    previous = _scratch.pop("TMPDIR", None)
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous
    shutil.rmtree(folder, ignore_errors=True)


def screenshot_path(name: str) -> Path:
    """Where a test saves the screenshot `name`: docs/screenshots/ when GRIDCASE_SCREENSHOTS=1 asks
    for the documentation's pictures, else the session's scratch folder (tests never modify
    tracked files)."""
    if os.environ.get("GRIDCASE_SCREENSHOTS") == "1":
        folder = DOCS_SCREENSHOTS
    else:
        folder = Path(_scratch.get("folder") or tempfile.gettempdir()) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def require(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true: {what} is required and not available")
    pytest.skip(f"{what} is not available here")


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
    require(_answers(url, 6379), f"Redis at {url}")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = "/usr/bin/chromium"
    require(Path(path).exists(), "Debian's chromium (/usr/bin/chromium)")
    return path


@pytest.fixture
def asgi_city(request):
    """One `manage.py serve` (HTTP and WebSocket) on a fresh database set up by the test
    module's `ASGI_CITY_SETUP` script (tests/scaled.py `serve_city`): (base URL, the script's
    JSON answer)."""
    from tests.scaled import serve_city

    with serve_city(request.module.ASGI_CITY_SETUP) as served:
        yield served


@pytest.fixture(autouse=True)
def english_messages(request, settings):
    """Tests read messages in English (the source strings); the product default stays zh-hans,
    which tests marked `chinese` (and the browser tests, through a zh-CN page) check."""
    if request.node.get_closest_marker("chinese"):
        yield
        return
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _allow_flush_of_case_events(request):
    """SQLite refuses DELETE of case events unless gridcase_maintenance allows it (migration
    cases/0003). A transactional test's database is flushed after it: allow that, and only that."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if not transactional:
        yield
        return
    from django.db import connection

    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM gridcase_maintenance")
            cursor.execute("INSERT INTO gridcase_maintenance (allow_event_delete) VALUES (1)")


@pytest.fixture(autouse=True)
def _events_append_only_again(request, django_db_blocker):
    """Undo the allowance above at the start of every test (the flush leaves that table alone)."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        yield
        return
    from django.db import connection

    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM gridcase_maintenance")
    yield
