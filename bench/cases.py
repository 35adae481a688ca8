"""bench/cases: case create and transition throughput and latency through real HTTP.

    .venv/bin/python bench/cases.py [--creates 1000] [--concurrency 1,10,50]
    .venv/bin/python bench/cases.py --topology [--web 4 --ws 1] [--front python|none] [--json]

Default: the embedded install (one Daphne process, SQLite WAL). `--topology`: the scaled
deployment of deploy/topology.py (gunicorn WSGI workers, Daphne for /ws/, the scheduler, the front)
on PostgreSQL (`--database-url`, a throwaway database) and Redis. Builds the demo grids and
categories, then drives the server with keep-alive HTTP clients in threads. Baseline in the same
run: GET /api/health (a trivial view through the same server and front). `--json` prints one JSON
object with the figures on the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import random
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import numpy as np
from common import ROOT, environment, free_port, machine, migrate, run_python, serve

sys.path.insert(0, str(ROOT / "deploy"))
import topology as topo  # noqa: E402

SETUP = """
import json
from django.core.management import call_command
from people.tokens import key_for
from cases.categories import seed_categories
from cases.models import SmallClass
from people.models import Organisation, Role, User
from grids.models import Grid, GridAssignment
sip = 'fixtures/sip/'
call_command('import_grids', sip + 'sip_grid_comprehensive_826.geojson', sip + 'sip_grid_dedicated_475.geojson',
             code_map=sip + 'code_map.csv', verbosity=0, stdout=open('/dev/null', 'w'))
seed_categories()
centre = Organisation.objects.create(code='centre', name='中心', kind='centre')
officer = User.objects.create_user('bench-officer', role=Role.OFFICER, organisation=centre)
acceptor = User.objects.create_user('bench-acceptor', role=Role.ACCEPTOR, organisation=centre)
GridAssignment.objects.bulk_create([GridAssignment(grid=g, officer=officer) for g in Grid.objects.all()])
import shapely
geometries = Grid.objects.values_list('geometry', flat=True)[:400]
points = [list(shapely.from_geojson(g).representative_point().coords[0]) for g in geometries]
category = SmallClass.objects.available().get(code='06011', big_class__kind='event').pk
print(json.dumps({'officer': key_for(officer), 'acceptor': key_for(acceptor),
                  'category': category, 'points': points}))
"""


class Client:
    def __init__(self, port, token: str) -> None:
        port = (
            next(port) if isinstance(port, itertools.cycle) else port
        )  # spread clients over servers
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        start = time.perf_counter()
        self.conn.request(
            method,
            path,
            json.dumps(body) if body is not None else None,
            {**self.headers, **(headers or {})},
        )
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start


def drive(
    n: int, threads: int, make_client, work, due=None
) -> tuple[list[float], float, list[int]]:
    """Requests 0..n-1 taken in turn by `threads` clients; (latencies, elapsed, status codes).
    Closed loop by default: a latency is the request's own time. With `due(i)` (a perf_counter time)
    a client waits until request i is due and its latency runs from then: a request that waited for
    a free client counts that wait, so a saturated server shows (no coordinated omission)."""
    latencies: list[float] = []
    codes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        client = make_client()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            if due is not None:
                time.sleep(max(0.0, due(i) - time.perf_counter()))
            status, _, seconds = work(client, i)
            if due is not None:
                seconds = time.perf_counter() - due(i)
            with lock:
                latencies.append(seconds)
                codes.append(status)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, time.perf_counter() - start, codes


def run_phase(n: int, concurrency: int, make_client, work) -> tuple[list[float], float, list[int]]:
    """Closed loop: `concurrency` clients, each sending its next request when the last one answered."""
    return drive(n, concurrency, make_client, work)


def run_paced(
    rate: float, seconds: float, make_client, work, threads: int = 64
) -> tuple[list[float], float, list[int]]:
    """Open loop: request i is due at start + i / rate whatever the answers before it."""
    start = time.perf_counter() + 0.2
    return drive(int(rate * seconds), threads, make_client, work, due=lambda i: start + i / rate)


def figures(latencies: list[float], elapsed: float, codes: list[int]) -> dict:
    ms = np.array(latencies) * 1000
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "ok": sum(1 for c in codes if 200 <= c < 300),
        "n": len(codes),
    }


def line(name: str, f: dict) -> str:
    return (
        f"{name:38} {f['rps']:>9.1f} {f['p50_ms']:>8.1f} {f['p99_ms']:>8.1f} {f['ok']:>6}/{f['n']}"
    )


@contextlib.contextmanager
def embedded():
    """One Daphne process on SQLite (the embedded default)."""
    env = environment()
    migrate(env)
    setup = json.loads(run_python(SETUP, env))
    port = free_port()
    server = serve(env, port)
    try:
        yield setup, port, "one Daphne process, SQLite WAL (synchronous=FULL)"
    finally:
        server.terminate()
        server.wait(10)


@contextlib.contextmanager
def scaled(args):
    """deploy/topology.py on a throwaway PostgreSQL database."""
    topo.ensure_database(args.database_url, fresh=True)
    data = environment()["GRIDCASE_DATA_DIR"]
    try:
        with topo.topology(
            database_url=args.database_url,
            redis_url=args.redis_url,
            web=args.web,
            ws=args.ws,
            threads=args.threads,
            front=args.front,
            data_dir=data,
            collectstatic=False,
            env={"SECRET_KEY": "bench-" + "x" * 40, "STATIC_MANIFEST": "0", "LOG_LEVEL": "WARNING"},
        ) as running:
            setup = json.loads(run_python(SETUP, running.env))
            kind = f"gthread ×{args.threads}" if args.threads > 1 else "sync"
            if (
                args.target == "asgi"
            ):  # the alternative: REST served by the Daphne processes themselves
                ports = itertools.cycle([urlparse(u).port for u in running.ws_urls])
                where = (
                    f"clients spread over the {args.ws} Daphne processes directly (REST on ASGI)"
                )
            elif args.target == "web":
                ports, where = urlparse(running.web_url).port, "clients on gunicorn directly"
            else:
                ports, where = (
                    urlparse(running.url).port,
                    f"clients through the front ({running.front})",
                )
            yield (
                setup,
                ports,
                (
                    f"topology: gunicorn {args.web} {kind} workers + {args.ws} Daphne (/ws/) + scheduler, "
                    f"PostgreSQL + Redis; {where}"
                ),
            )
    finally:
        topo.drop_database(args.database_url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=600)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument(
        "--topology", action="store_true", help="the scaled deployment (deploy/topology.py)"
    )
    parser.add_argument("--web", type=int, default=4, help="gunicorn workers (--topology)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (--topology)"
    )
    parser.add_argument("--ws", type=int, default=1, help="Daphne processes (--topology)")
    parser.add_argument("--front", default="auto", choices=["auto", "nginx", "python", "none"])
    parser.add_argument(
        "--target",
        default="front",
        choices=["front", "web", "asgi"],
        help="(--topology) where clients send requests: the front, gunicorn, or the Daphne ports",
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/gridcase_bench_topo"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--rates",
        default="10,25",
        help="open-loop create rates (req/s; comma-separated, empty: none): latency at a given load",
    )
    parser.add_argument("--seconds", type=float, default=15, help="duration of each open-loop rate")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    results: dict[str, dict] = {}
    with scaled(args) if args.topology else embedded() as (setup, port, server):
        rng = random.Random(1)
        print(f"machine: {machine()}; server: {server}")
        print(f"{'measure':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ok':>10}")
        created: list[int] = []

        def create(cl, i):
            lon, lat_ = rng.choice(setup["points"])
            status, data, seconds = cl.call(
                "POST",
                "/api/cases/",
                {"category": setup["category"], "lon": lon, "lat": lat_, "description": "渣土倾倒"},
                {"Idempotency-Key": str(uuid.uuid4())},
            )
            if status == 201:
                created.append(json.loads(data)["id"])
            return status, data, seconds

        # Warm-up, not counted: every worker's first requests open pool connections and fill caches.
        run_phase(
            max(levels) * 4,
            max(levels),
            lambda: Client(port, setup["officer"]),
            lambda cl, i: cl.call("GET", "/api/health"),
        )
        for c in levels:
            f = figures(
                *run_phase(
                    args.creates // 2,
                    c,
                    lambda: Client(port, setup["officer"]),
                    lambda cl, i: cl.call("GET", "/api/health"),
                )
            )
            results[f"health c={c}"] = f
            print(line(f"baseline GET /api/health, c={c}", f))

            f = figures(*run_phase(args.creates, c, lambda: Client(port, setup["officer"]), create))
            results[f"create c={c}"] = f
            print(line(f"POST /api/cases/ (create), c={c}", f))
        for rate in [float(r) for r in args.rates.split(",") if r]:
            f = figures(
                *run_paced(rate, args.seconds, lambda: Client(port, setup["officer"]), create)
            )
            results[f"create rate={rate:g}"] = {**f, "rate": rate}
            print(line(f"create, open loop at {rate:g}/s", f))
        todo = list(created)
        start = 0
        for c in levels:
            batch = min(len(todo) - start, args.creates)
            chunk = todo[start : start + batch]
            f = figures(
                *run_phase(
                    len(chunk),
                    c,
                    lambda: Client(port, setup["acceptor"]),
                    lambda cl, i, chunk=chunk: cl.call(
                        "POST",
                        f"/api/cases/{chunk[i]}/transition",
                        {"action": "accept", "version": 1},
                    ),
                )
            )
            results[f"transition c={c}"] = f
            print(line(f"POST …/transition (accept), c={c}", f))
            start += batch
    if args.json:
        print(json.dumps({"machine": machine(), "server": server, "results": results}))


if __name__ == "__main__":
    main()
