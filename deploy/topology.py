"""The scaled deployment on one machine, without Docker: the topology of docker-compose.yml
against a local PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcase REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python deploy/topology.py --web 3 --ws 2          # prints the URLs; Ctrl-C stops all

It migrates, collects static files, then starts
- `gunicorn backend.wsgi` with `--web` worker processes: the REST API, pages and static files;
- `--ws` Daphne processes (`manage.py serve --no-scheduler`): `/ws/` and the alert relays;
- one `manage.py run_scheduler`;
- the front: nginx when it is installed (the config is written from deploy/nginx.conf's routing),
  else deploy/proxy.py. `/ws/` goes to the Daphne ports, the rest to gunicorn.

From Python (tests, benches) it is a context manager; `Running` holds the URLs and processes:

    with topology(database_url=..., redis_url=..., web=2, ws=1) as running:
        running.url                      # the front
        running.web_worker_pids()        # gunicorn's workers: kill -9 one, the master respawns it
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-body;
    proxy_temp_path {dir}/nginx-proxy;
    upstream web {{ server 127.0.0.1:{web}; keepalive 32; }}
    upstream ws {{ {ws} }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 20m;
        underscores_in_headers off;
        location /ws/ {{
            proxy_pass http://ws;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_read_timeout 1h;
            proxy_pass_header Server;
        }}
        location / {{
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_pass_header Server;  # the answer names its tier (gunicorn / Daphne)
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds:.0f} s")


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the PostgreSQL database named in `url` (dropping it first when `fresh`)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


def production_env(
    *, database_url: str, redis_url: str, data_dir: str, **extra: str
) -> dict[str, str]:
    """Production mode (DEBUG off) on plain HTTP; `extra` overrides (SECRET_KEY, ALLOWED_HOSTS, …)."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GRIDCASE_DATA_DIR": data_dir,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(extra)
    return env


def web_command(port: int, workers: int, *, threads: int = 1, host: str = "127.0.0.1") -> list[str]:
    """gunicorn for the REST API and pages: sync workers (one request each at a time) unless
    `threads` > 1 (gthread)."""
    command = [
        PY,
        "-m",
        "gunicorn",
        "backend.wsgi",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "30",
        "--graceful-timeout",
        "10",
        "--no-control-socket",
    ]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    return command


def ws_command(port: int, *, host: str = "127.0.0.1") -> list[str]:
    return [PY, "manage.py", "serve", "--no-scheduler", "--host", host, "--port", str(port)]


def scheduler_command() -> list[str]:
    return [PY, "manage.py", "run_scheduler"]


@dataclass
class Running:
    url: str  # the front: use this
    web_url: str  # gunicorn directly
    ws_urls: list[str]  # the Daphne processes directly
    front: str  # "nginx", "python" or "none"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Path = Path()
    env: dict[str, str] = field(default_factory=dict)

    def web_worker_pids(self) -> list[int]:
        """The gunicorn master's worker processes (children), as the kernel lists them now."""
        master = self.processes["web"].pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def stop(processes) -> None:
    """SIGTERM every process, wait up to 15 s in all, then SIGKILL what is left (also used by the
    tests that start their own workers)."""
    processes = list(processes.values() if isinstance(processes, dict) else processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _check(command: list[str], env: dict, what: str) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


@contextlib.contextmanager
def topology(
    *,
    database_url: str,
    redis_url: str,
    web: int = 2,
    ws: int = 1,
    threads: int = 1,
    scheduler: bool = True,
    front: str = "auto",
    port: int | None = None,
    data_dir: str | None = None,
    migrate: bool = True,
    collectstatic: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """Start the topology; stop every process on exit. `front`: auto (nginx if installed, else the
    Python proxy), nginx, python or none (clients use `web_url` and `ws_urls` directly)."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise ValueError("the scaled topology runs on PostgreSQL: DATABASE_URL=postgres://…")
    if not redis_url:
        raise ValueError(
            "the scaled topology needs REDIS_URL: the channel layer spans the ASGI processes"
        )
    data_dir = data_dir or tempfile.mkdtemp(prefix="gridcase-topology-")
    full_env = production_env(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir, **(env or {})
    )
    logs = Path(data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if migrate:
        _check([PY, "manage.py", "migrate", "--noinput", "-v0"], full_env, "migrate")
    if collectstatic:
        _check([PY, "manage.py", "collectstatic", "--noinput", "-v0"], full_env, "collectstatic")
    if front == "auto":
        front = "nginx" if shutil.which("nginx") else "python"
    web_port, ws_ports = free_port(), [free_port() for _ in range(ws)]
    front_port = port or free_port()
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, command: list[str]) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "ab")
        processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return processes[name]

    try:
        start("web", web_command(web_port, web, threads=threads))
        for i, p in enumerate(ws_ports):
            start(f"ws{i + 1}", ws_command(p))
        if scheduler:
            start("scheduler", scheduler_command())
        if front == "nginx":
            conf = Path(data_dir) / "nginx.conf"
            conf.write_text(
                NGINX_CONF.format(
                    dir=data_dir,
                    web=web_port,
                    port=front_port,
                    ws=" ".join(f"server 127.0.0.1:{p};" for p in ws_ports),
                )
            )
            start("front", ["nginx", "-c", str(conf), "-p", data_dir, "-g", "daemon off;"])
        elif front == "python":
            start(
                "front",
                [
                    PY,
                    str(ROOT / "deploy" / "proxy.py"),
                    "--listen",
                    f"127.0.0.1:{front_port}",
                    "--web",
                    f"127.0.0.1:{web_port}",
                    "--ws",
                    ",".join(f"127.0.0.1:{p}" for p in ws_ports),
                ],
            )
        elif front != "none":
            raise ValueError(f"front={front!r}: use auto, nginx, python or none")
        wait_for_port(web_port, processes["web"], "gunicorn")
        for i, p in enumerate(ws_ports):
            wait_for_port(p, processes[f"ws{i + 1}"], f"daphne ws{i + 1}")
        if front != "none":
            wait_for_port(front_port, processes["front"], front)
        web_url = f"http://127.0.0.1:{web_port}"
        running = Running(
            url=f"http://127.0.0.1:{front_port}" if front != "none" else web_url,
            web_url=web_url,
            ws_urls=[f"http://127.0.0.1:{p}" for p in ws_ports],
            front=front,
            processes=processes,
            logs=logs,
            env=full_env,
        )
        _wait_healthy(running)
        yield running
    finally:
        stop(processes)


def _wait_healthy(running: Running, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(running.url + "/api/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the topology did not answer /api/health:\n" + running.log_tail()
                ) from None
            time.sleep(0.2)


def _interrupt(signum, frame) -> None:
    """SIGTERM (`kill`, systemd, `docker stop`) stops every process, as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run the scaled Gridcase topology locally (PostgreSQL + Redis)."
    )
    parser.add_argument(
        "--web", type=int, default=3, help="gunicorn worker processes (REST + pages)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)"
    )
    parser.add_argument("--ws", type=int, default=2, help="Daphne processes for /ws/")
    parser.add_argument("--port", type=int, default=8000, help="the front's port")
    parser.add_argument("--front", default="auto", choices=["auto", "nginx", "python", "none"])
    parser.add_argument("--no-scheduler", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("GRIDCASE_DATA_DIR"),
        help="media, static and logs (default: a new temporary folder)",
    )
    args = parser.parse_args()
    if not args.database_url or not args.redis_url:
        parser.error(
            "set DATABASE_URL (postgres://…) and REDIS_URL (redis://…), or pass --database-url/--redis-url"
        )
    if not os.environ.get("SECRET_KEY"):
        print("SECRET_KEY is not set: using a random one (sessions end when the topology stops).")
    signal.signal(signal.SIGTERM, _interrupt)
    with topology(
        database_url=args.database_url,
        redis_url=args.redis_url,
        web=args.web,
        ws=args.ws,
        threads=args.threads,
        scheduler=not args.no_scheduler,
        front=args.front,
        port=args.port,
        data_dir=args.data_dir,
    ) as running:
        print(f"Gridcase on {running.url}/  (front: {running.front}; Ctrl-C stops all)")
        print(
            f"  web  {running.web_url}  gunicorn, {args.web} workers, pid {running.processes['web'].pid}"
        )
        for i, url in enumerate(running.ws_urls):
            print(f"  ws{i + 1}  {url}  daphne, pid {running.processes[f'ws{i + 1}'].pid}")
        if "scheduler" in running.processes:
            print(f"  scheduler  pid {running.processes['scheduler'].pid}")
        print(f"  logs {running.logs}")
        try:
            while all(p.poll() is None for p in running.processes.values()):
                time.sleep(1)
            print("a process exited; stopping:\n" + running.log_tail())
        except KeyboardInterrupt:
            print("stopping…")


if __name__ == "__main__":
    main()
