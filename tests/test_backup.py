"""Backups (docs/operations.md, "Backups and restore"), on SQLite: the documented commands, taken
while the instance serves, restored into an empty folder; the restored instance serves the same
case list and the same photos."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.scaled import topo

ROOT = Path(__file__).resolve().parent.parent
SETUP = """
import django, json; django.setup()
from people.tokens import key_for
from cases import workflow
from tests.cast import act, make_cast, photo_record, report
cast = make_cast()
cases = [report(cast, description=f"第{i}件", photos=[photo_record()]) for i in range(5)]
act(cases[0], "accept", cast.acceptor)
act(cases[1], "reject", cast.acceptor, reason="不属实")
print(json.dumps({"token": key_for(cast.acceptor)}))
"""


def environment(data: Path) -> dict[str, str]:
    """Production mode, everything under `data` (no MEDIA_ROOT or STATIC_ROOT of the caller's)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("MEDIA_ROOT", "STATIC_ROOT")}
    return {
        **inherited,
        "DEBUG": "0",
        "SECRET_KEY": "b" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "GRIDCASE_DATA_DIR": str(data),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "GRIDCASE_FAST_HASHER": "1",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "LOG_LEVEL": "WARNING",
        "GRIDCASE_DEMO": "0",
    }


class Served:
    def __init__(self, data: Path) -> None:
        env = environment(data)
        self.port = topo.free_port()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        topo.wait_for_port(self.port, self.process, "manage.py serve", 60)

    def get(self, path: str, token: str) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def shell(command: str, cwd: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{command}\n{done.stderr}"


@pytest.mark.skipif(
    shutil.which("sqlite3") is None, reason="the sqlite3 command-line tool is not installed"
)
def test_a_backup_taken_while_serving_restores_into_an_empty_folder_and_serves_the_same_cases():
    with tempfile.TemporaryDirectory(prefix="gridcase-backup-") as folder:
        work = Path(folder)
        source = work / "var"
        env = environment(source)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        made = subprocess.run(
            [sys.executable, "-c", SETUP],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout.strip().splitlines()[-1])["token"]

        serving = Served(source)
        try:
            listed = json.loads(serving.get("/api/cases/", token))
            first = json.loads(serving.get(f"/api/cases/{listed['results'][0]['id']}", token))
            photo_url = first["events"][0]["photos"][0]["original"]
            photo = serving.get(photo_url, token)
            # The documented commands, run in the folder that holds var/, while the instance serves.
            shell(
                'mkdir -p backup && sqlite3 var/gridcase.sqlite3 ".backup backup/gridcase.sqlite3" '
                "&& tar -C var -czf backup/media.tar.gz media",
                work,
            )
        finally:
            serving.stop()
        assert len(listed["results"]) == 5 and len(photo) > 100

        restored = work / "restored"
        assert not restored.exists()
        shell(
            f"mkdir -p {restored} && cp backup/gridcase.sqlite3 {restored}/gridcase.sqlite3 "
            f"&& tar -C {restored} -xzf backup/media.tar.gz",
            work,
        )
        check = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**env, "GRIDCASE_DATA_DIR": str(restored)},
            timeout=120,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        shutil.rmtree(source)  # nothing of the original is left to serve from

        again = Served(restored)
        try:
            assert json.loads(again.get("/api/cases/", token)) == listed
            assert again.get(photo_url, token) == photo
        finally:
            again.stop()
