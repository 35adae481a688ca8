"""The scaled topology (deploy/topology.py) for tests: a throwaway PostgreSQL database, a small
city, and clients that create cases the way the mobile app does — one Idempotency-Key per report,
retried on a connection error, a 5xx or a 409 until a 2xx answers."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tests.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
import topology as topo  # noqa: E402

SETUP = """
import django, json; django.setup()
import shapely
from people.tokens import key_for
from cases.models import BigClass, CaseStandard, ClassificationStandard, SmallClass
from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment
from people.models import Organisation, Role, User
d = Area.objects.create(code='320505', name='区', level='district')
s = Area.objects.create(code='320505006', name='街道', level='street', parent=d)
c = Area.objects.create(code='320505006001', name='社区', level='community', parent=s)
g = Grid.objects.create(code='320505006001001', name='网格1', community=c,
                        geometry=to_geojson(shapely.box(120.700, 31.300, 120.710, 31.310)))
centre = Organisation.objects.create(code='centre', name='中心', kind='centre')
std = ClassificationStandard.objects.create(code='T', name='T', active=True)
cat = SmallClass.objects.create(big_class=BigClass.objects.create(standard=std, kind='event', code='06', name='市容'),
                                code='06001', name='私搭乱建')
CaseStandard.objects.create(small_class=cat)
officer = User.objects.create_user('officer', role=Role.OFFICER, organisation=centre)
acceptor = User.objects.create_user('acceptor', role=Role.ACCEPTOR, organisation=centre)
GridAssignment.objects.create(grid=g, officer=officer)
print(json.dumps({'officer': key_for(officer), 'acceptor': key_for(acceptor),
                  'category': cat.pk}))
"""

COUNT_CASES = """
import django, json; django.setup()
from cases.models import Case, CaseEvent
from cases.models import IdempotencyRecord
print(json.dumps({'numbers': list(Case.objects.values_list('number', flat=True)),
                  'events': CaseEvent.objects.filter(action='report').count(),
                  'keys_done': IdempotencyRecord.objects.filter(state='done').count()}))
"""


def postgres_server() -> str:
    """The PostgreSQL server of the suite (its DATABASE_URL on the PostgreSQL pass, else PG_TEST_URL)."""
    for url in (os.environ.get("DATABASE_URL", ""), os.environ.get("PG_TEST_URL", "")):
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return "postgres://postgres@127.0.0.1:5432/gridcase"


def run_django(code: str, env: dict) -> dict:
    """Run a Django script (it calls django.setup() itself) in `env`; its last line of output, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def embedded_env(prefix: str, **extra: str) -> dict:
    """Production mode on a SQLite file and media of its own (a new GRIDCASE_DATA_DIR), no Redis unless
    `extra` says so: for tests that start their own `manage.py serve` workers."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "t" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "GRIDCASE_DATA_DIR": tempfile.mkdtemp(prefix=prefix),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "GRIDCASE_FAST_HASHER": "1",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "LOG_LEVEL": "ERROR",
        **extra,
    }


def migrated(env: dict, setup: str) -> dict:
    """Migrate `env`'s database and run the `setup` script in it; the script's JSON answer."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    return run_django(setup, env)


@contextlib.contextmanager
def serve_workers(
    env: dict, count: int = 2, *, scheduler: bool = False, log: Path | None = None
) -> Iterator[list[subprocess.Popen]]:
    """`count` `manage.py serve` (Daphne) workers on free ports, listening when this yields them (each
    with `.port`); stopped on exit. `log`: a file their output goes to (else it is dropped)."""
    workers = []
    output = open(log, "ab") if log is not None else None  # noqa: SIM115 (closed in finally)
    try:
        for _ in range(count):
            port = topo.free_port()
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "serve",
                    "--port",
                    str(port),
                    *([] if scheduler else ["--no-scheduler"]),
                ],
                cwd=ROOT,
                env=env,
                stdout=output or subprocess.DEVNULL,
                stderr=output or subprocess.DEVNULL,
            )
            worker.port = port
            workers.append(worker)
        for worker in workers:
            topo.wait_for_port(worker.port, worker, f"worker on {worker.port}", 30)
        yield workers
    finally:
        topo.stop(workers)
        if output is not None:
            output.close()


@contextlib.contextmanager
def serve_city(setup: str, prefix: str = "gridcase-asgi-") -> Iterator[tuple[str, dict]]:
    """One `manage.py serve` (Daphne: HTTP and WebSocket, in-memory layer, no scheduler) on a fresh
    SQLite database set up by the `setup` script (pytest-django's live server speaks no WebSocket).
    Yields its base URL and the script's JSON answer; the process and its files go on exit."""
    env = embedded_env(prefix, LOG_LEVEL="WARNING")
    try:
        answer = migrated(env, setup)
        with serve_workers(env, 1) as (worker,):
            yield f"http://127.0.0.1:{worker.port}", answer
    finally:
        shutil.rmtree(env["GRIDCASE_DATA_DIR"], ignore_errors=True)


@contextlib.contextmanager
def scaled_city(
    redis_url: str, *, web: int = 2, ws: int = 1, front: str = "auto"
) -> Iterator[tuple[topo.Running, dict]]:
    server = urlparse(postgres_server())
    url = server._replace(path=f"/gridcase_topo_{uuid.uuid4().hex[:8]}").geturl()
    topo.ensure_database(url, fresh=True)
    env = {
        "SECRET_KEY": "t" * 50,
        "STATIC_MANIFEST": "0",
        "GRIDCASE_FAST_HASHER": "1",
        "LOG_LEVEL": "WARNING",
        "REDIS_PREFIX": f"gridcase-test-{uuid.uuid4().hex[:8]}",
        "IDEMPOTENCY_STALE_SECONDS": "3",
    }
    try:
        with topo.topology(
            database_url=url,
            redis_url=redis_url,
            web=web,
            ws=ws,
            collectstatic=False,
            front=front,
            env=env,
        ) as running:
            yield running, run_django(SETUP, running.env)
    finally:
        topo.drop_database(url)


@dataclass
class Outcome:
    acknowledged: dict[str, str] = field(
        default_factory=dict
    )  # key → case number of the 2xx answer
    retries: dict[str, int] = field(default_factory=dict)  # how often each answer was not a 2xx
    failures: list[str] = field(default_factory=list)  # keys given up on (should stay empty)
    killed: list[int] = field(default_factory=list)


def _post(base: str, token: str, body: bytes, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + "/api/cases/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}
    except (OSError, ValueError):  # reset, refused, timed out, a truncated body
        return 0, {}


def create_while_killing(
    running: topo.Running,
    setup: dict,
    *,
    creates: int,
    threads: int,
    kill_at: tuple[float, ...] = (0.3,),
    give_up_s: float = 120,
) -> Outcome:
    """`creates` reports by `threads` clients; when the acknowledged share passes each of `kill_at`,
    one gunicorn worker busy with a request is killed with SIGKILL (its master starts another)."""
    outcome = Outcome()
    lock = threading.Lock()
    todo = iter(range(creates))
    rng = random.Random(7)

    def client() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            key = str(uuid.uuid4())
            body = json.dumps(
                {
                    "category": setup["category"],
                    "lon": 120.701 + rng.random() * 0.008,
                    "lat": 31.301 + rng.random() * 0.008,
                    "description": f"report {i}",
                }
            ).encode()
            last: list[int] = []

            def sent(body: bytes = body, key: str = key, last: list[int] = last) -> bool:
                """One try: True once answered with a 2xx or refused for good (not retried)."""
                status, answer = _post(running.url, setup["officer"], body, key)
                last[:] = [status]
                with lock:
                    if 200 <= status < 300:
                        outcome.acknowledged[key] = answer["number"]
                        return True
                    outcome.retries[key] = outcome.retries.get(key, 0) + 1
                    if status not in (0, 409) and status < 500:
                        outcome.failures.append(f"{key}: {status}")
                        return True
                return False

            try:  # retried with the same key every 0.2 s, as a phone's queue does
                wait_until(sent, give_up_s, f"an answer to {key}", interval=0.2)
            except WaitTimeout:
                with lock:
                    outcome.failures.append(f"{key}: {last[0]}")

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for t in workers:
        t.start()
    for share in kill_at:
        wait_until(
            lambda share=share: (
                len(outcome.acknowledged) >= share * creates
                or not any(t.is_alive() for t in workers)
            ),
            give_up_s,
            f"{share:.0%} of the creates acknowledged",
            interval=0.01,
        )
        pids = running.web_worker_pids()
        if pids:
            victim = random.Random(len(outcome.killed)).choice(pids)
            os.kill(victim, signal.SIGKILL)
            outcome.killed.append(victim)
    for t in workers:
        t.join()
    return outcome


def stored(running: topo.Running) -> dict:
    return run_django(COUNT_CASES, running.env)


def check_nothing_lost_or_doubled(
    running: topo.Running, outcome: Outcome, creates: int, before: dict
) -> dict:
    """Every acknowledged case stored exactly once, and no other case made (`before`: stored() then)."""
    assert outcome.failures == [], outcome.failures[:10]
    assert len(outcome.acknowledged) == creates
    assert outcome.killed, "no worker was killed"
    rows = stored(running)
    numbers = rows["numbers"]
    assert len(numbers) == len(set(numbers)), "a case number is stored twice"
    acknowledged = set(outcome.acknowledged.values())
    assert len(acknowledged) == creates, "two keys were answered with the same case"
    assert set(numbers) - set(before["numbers"]) == acknowledged, (
        "stored cases differ from the acknowledged ones"
    )
    assert len(numbers) - len(before["numbers"]) == creates
    assert (
        rows["events"] - before["events"] == creates
        and rows["keys_done"] - before["keys_done"] == creates
    )
    return rows
