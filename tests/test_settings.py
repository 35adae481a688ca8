"""Settings: production mode refuses insecure configurations; SQLite runs WAL/IMMEDIATE/FULL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "grid.example.gov.cn",
    "GRIDCASE_DEMO": "0",
}


def start_with(**env: str) -> subprocess.CompletedProcess:
    """Run `manage.py check` as a fresh process under the given environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "GRIDCASE_DEMO"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_secure_production_configuration_starts():
    result = start_with(**GOOD)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "override, complaint",
    [
        ({"ALLOWED_HOSTS": "*"}, "must not contain a wildcard"),
        ({"ALLOWED_HOSTS": "grid.example.gov.cn,*"}, "must not contain a wildcard"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"GRIDCASE_DEMO": "1"}, "GRIDCASE_DEMO must be off"),
        ({"DEBUG": "maybe"}, "is not a boolean"),
        # a malformed setting stops the start, naming the variable
        ({"SCHEDULER_TICK": "soon"}, "SCHEDULER_TICK='soon' is not a number"),
        ({"DEADLINE_SWEEP_SECONDS": "0"}, "DEADLINE_SWEEP_SECONDS='0' must be at least 0.1"),
        ({"REPORTS_JOB_SECONDS": "nan"}, "REPORTS_JOB_SECONDS='nan' must be at least"),
        ({"OPEN311_POST_RATE": "sixty"}, "OPEN311_POST_RATE='sixty': use a count per period"),
        (
            {"OPEN311_REPEAT_WINDOW_HOURS": "-1"},
            "OPEN311_REPEAT_WINDOW_HOURS='-1' must be at least 0",
        ),
        ({"GRIDCASE_TILES_GCJ02": "perhaps"}, "GRIDCASE_TILES_GCJ02='perhaps' is not a boolean"),
    ],
)
def test_production_mode_refuses_an_insecure_or_malformed_configuration(override, complaint):
    result = start_with(**{**GOOD, **override})
    assert result.returncode != 0
    assert complaint in result.stderr


def test_declared_settings_reach_the_code_that_reads_them():
    script = (
        "import django; django.setup(); from django.conf import settings as s;"
        " from backend.scheduler import default_jobs; print([j.every.total_seconds() for j in "
        "default_jobs()], s.SCHEDULER_TICK, s.OPEN311_RATES, s.OPEN311_REPEAT_WINDOW.total_seconds(),"
        " s.GRIDCASE_TILES_GCJ02)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            **GOOD,
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "SCHEDULER_TICK": "0.5",
            "DEADLINE_SWEEP_SECONDS": "2",
            "REPORTS_JOB_SECONDS": "3",
            "OPEN311_READ_RATE": "10/s",
            "OPEN311_REPEAT_WINDOW_HOURS": "1.5",
            "GRIDCASE_TILES_GCJ02": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2.0, 3.0] 0.5 {'read': '10/s', 'post': '60/min'} 5400.0 True"


def test_debug_mode_starts_without_production_settings():
    result = start_with(DEBUG="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.chinese
def test_time_zone_and_languages():
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


@pytest.mark.django_db
def test_sqlite_runs_wal_with_full_sync_and_immediate_transactions():
    if connection.vendor != "sqlite":
        pytest.skip(f"SQLite-only settings (this run is on {connection.vendor})")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20000
    assert "journal_mode=WAL" in options["init_command"]


def test_sqlite_file_database_is_in_wal_mode(tmp_path):
    """The test database is in memory (no WAL there), so check a real file as `make run` makes it."""
    env = {**GOOD, "DEBUG": "1", "GRIDCASE_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    clean = {k: v for k, v in os.environ.items() if k not in env}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "backend.settings"},
    )
    assert result.stdout.strip() == "wal", result.stderr


@pytest.mark.django_db
def test_postgres_uses_a_connection_pool():
    if connection.vendor != "postgresql":
        pytest.skip(f"PostgreSQL-only settings (this run is on {connection.vendor})")
    assert settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] >= 10
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0


@pytest.mark.chinese
@pytest.mark.django_db
def test_the_ui_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "网格" in page and 'lang="zh-hans"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get("/").content.decode()


@pytest.mark.chinese
@pytest.mark.django_db
def test_api_errors_are_chinese_by_default(client):
    body = client.get("/api/grids/locate", {"lon": "x", "lat": "31"}).json()
    assert body["lon"][0] == "请填写合法的数字。"


def test_the_favicon_is_the_app_icon(client):
    """The admin's pages have no icon link, so browsers ask for /favicon.ico: never a 404."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("icon-192.png")
    assert client.get(response["Location"]).status_code == 200
