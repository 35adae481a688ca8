"""A newcomer's first hour (issue 23): the README's commands on a fresh clone, the data folder made
wherever it is configured, production still strict, and a report that failed for a missing Chinese
font built once the font is there."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from reports import jobs, periods, render
from reports.models import Kind, Report, ReportSettings, State
from tests.scaled import topo
from tests.test_metrics import WeekData
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
# What a newcomer's shell does not have: everything the suite sets (Makefile TEST_ENV) and the rest
# of the project's variables.
PROJECT_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "HTTPS",
    "STATIC_MANIFEST",
    "GRIDCASE_",
    "SQLITE_TEST_NAME",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "STATIC_",
    "MEDIA_ROOT",
    "PORT",
    "LOG_LEVEL",
    "PG_TEST_URL",
    "REDIS_TEST_URL",
    "CSRF_",
    "DB_",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "PYTEST_",
    "VIRTUAL_ENV",
)


def newcomer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_VARIABLES)}
    return {**env, **extra}


def fresh_clone(into: Path) -> Path:
    """The tracked files as they are in the working tree (a clone of what is about to be
    committed), with this worktree's virtualenv. Modification times are kept, so `make` finds the
    virtualenv up to date and installs nothing."""
    clone = into / "clone"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = ROOT / name
        if not source.exists():
            continue  # deleted in the working tree, not yet committed
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (clone / ".venv").symlink_to(VENV)
    return clone


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float) -> None:
    def serving() -> bool:
        assert process.poll() is None, "make run stopped"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    wait_until(serving, seconds, f"an answer at {url}", interval=0.5)


def run(
    clone: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args),
        cwd=clone,
        env=env or newcomer_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(
    not (VENV / ".installed").exists(), reason="needs the worktree's virtualenv (make install)"
)
def test_the_readmes_commands_work_in_a_fresh_clone_without_extra_variables():
    with tempfile.TemporaryDirectory(prefix="gridcase-clone-") as folder:
        clone = fresh_clone(Path(folder))
        assert not (clone / ".env").exists() and not (clone / "var").exists()
        port = topo.free_port()
        # The default demo, as a newcomer gets it: its history restored from the committed fixture.
        server = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=newcomer_env(PORT=str(port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/api/health", server, 600)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            output = server.communicate(timeout=60)[0]
        assert "Wrote .env" in output and "Chinese fonts" in output, output[-3000:]
        assert "demo cases and their history restored" in output, output[-3000:]
        assert "Demo city ready: loaded in" in output, output[-3000:]
        env_file = (clone / ".env").read_text()
        assert "DEBUG=1" in env_file and "SECRET_KEY" not in env_file
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", ".env"], cwd=ROOT)
        assert ignored.returncode == 0, ".env must be git-ignored"

        # The README's commands, as written (its file names: layer.geojson, a.geojson, b.geojson).
        # The demo's two layers, with the one decided code correction (fixtures/sip/code_map.csv) applied.
        sip = clone / "fixtures" / "sip"
        shutil.copy(sip / "sip_grid_comprehensive_826.geojson", clone / "a.geojson")
        (clone / "b.geojson").write_text(
            (sip / "sip_grid_dedicated_475.geojson")
            .read_text()
            .replace('"3205050060075010"', '"320505006007510"')
        )
        shutil.copy(clone / "a.geojson", clone / "layer.geojson")
        python = ".venv/bin/python"
        dry = run(clone, python, "manage.py", "import_grids", "a.geojson", "b.geojson", "--dry-run")
        assert dry.returncode == 0, dry.stderr[-3000:]
        assert "1301 features read" in dry.stdout and "0 errors" in dry.stdout, dry.stdout[-2000:]
        assert "Dry run: nothing was written." in dry.stdout
        helped = run(clone, python, "manage.py", "import_grids", "--help")
        assert helped.returncode == 0 and "--dry-run" in helped.stdout
        written = run(clone, python, "manage.py", "import_grids", "layer.geojson")
        assert written.returncode == 0, written.stderr[-3000:]
        assert (
            "826 features read" in written.stdout
            and "0 grids created, 826 updated" in written.stdout
        ), written.stdout
        # "Bringing your own city": the directory as it is now, then checked as a city would edit it.
        template = run(clone, python, "manage.py", "import_directory", "--template", "city.xlsx")
        assert template.returncode == 0 and (clone / "city.xlsx").stat().st_size > 0, (
            template.stderr[-3000:]
        )
        checked = run(clone, python, "manage.py", "import_directory", "city.xlsx", "--dry-run")
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
        assert "0 errors" in checked.stdout and "Dry run: nothing was written." in checked.stdout
        # docs/worktime.md and docs/onboarding.md's commands run by hand too.
        for command in (["seed_calendar"], ["seed_categories"]):
            done = run(clone, python, "manage.py", *command)
            assert done.returncode == 0, done.stderr[-3000:]

        # Production stays strict: DEBUG=0 in the environment never reads .env.
        strict = run(clone, python, "manage.py", "check", env=newcomer_env(DEBUG="0"))
        assert strict.returncode != 0 and "Refusing to start in production mode" in strict.stderr


def test_the_data_folder_is_created_wherever_it_is_configured():
    with tempfile.TemporaryDirectory(prefix="gridcase-datadir-") as folder:
        data = Path(folder) / "some" / "new" / "dir"
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=newcomer_env(DEBUG="1", GRIDCASE_DATA_DIR=str(data)),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert (data / "gridcase.sqlite3").stat().st_size > 0


class MissingFontTest(WeekData):
    @pytest.fixture(autouse=True)
    def _fixtures(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def test_a_report_that_failed_for_a_missing_font_is_built_once_the_font_is_there(self):
        self.monkeypatch.setattr(jobs, "_font_looked_at", None)
        settings = ReportSettings.load()
        settings.auto_weekly = settings.auto_monthly = settings.auto_quarterly = False
        settings.save()
        # An automatic week (as the Monday job asks for it): its draft is published on the tick after
        # its publication time (docs/domain.md §7), long past for 2024-W10.
        report = jobs.request(periods.parse(Kind.WEEKLY, "2024-W10"), automatic=True)
        now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
        empty = tempfile.mkdtemp(prefix="gridcase-nofonts-")
        path = os.environ["PATH"]
        try:
            self.monkeypatch.setenv("PATH", empty)
            render.chinese_font.cache_clear()
            (failed,) = jobs.run(now)
            assert failed.pk == report.pk and failed.state == State.FAILED
            assert failed.error.startswith("MissingFont:")
            # Still no font a minute later: it stays failed, nothing is rebuilt.
            assert jobs.run(now + dt.timedelta(minutes=1)) == []
        finally:
            self.monkeypatch.setenv("PATH", path)
            shutil.rmtree(empty, ignore_errors=True)
        # The font is there now; within a minute the report is built.
        assert (
            jobs.run(now + dt.timedelta(minutes=1, seconds=30)) == []
        )  # looked less than a minute ago
        (built,) = jobs.run(now + dt.timedelta(minutes=2, seconds=1))
        assert built.pk == report.pk and built.state == State.DRAFT, built.error
        (published,) = jobs.run(now + dt.timedelta(minutes=2, seconds=2))
        assert published.pk == report.pk and published.state == State.PUBLISHED, published.error
        assert Report.objects.filter(state=State.FAILED).count() == 0
