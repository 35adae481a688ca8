"""Shared pieces of the benchmarks: a throwaway data directory, a production-mode environment,
servers started with `manage.py serve`, the machine's description."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT / "deploy"))
import topology as topo  # noqa: E402 - the one port wait, shared with tests/scaled.py


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def environment(data_dir: str | None = None, **extra: str) -> dict:
    data_dir = data_dir or tempfile.mkdtemp(prefix="gridcase-bench-")
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "GRIDCASE_DATA_DIR": data_dir,
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        **extra,
    }


def run_python(code: str, env: dict) -> str:
    """Run Django code in a subprocess; return its last line of output."""
    done = subprocess.run(
        [PY, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"setup failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def migrate(env: dict) -> None:
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


free_port = topo.free_port


def serve(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [PY, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        topo.wait_for_port(port, process, f"server on {port}", 60)
    except RuntimeError as error:
        process.terminate()
        raise SystemExit(str(error)) from None
    return process
