"""bench/cases: case create and transition throughput and latency on the embedded default
(one Daphne process, SQLite WAL), through real HTTP.

    .venv/bin/python bench/cases.py [--creates 1000] [--concurrency 1,10,50]

Builds a throwaway data directory with the demo grids and categories, starts `manage.py serve`
in production mode, and drives it with keep-alive HTTP clients in threads. Baseline in the same
run: GET /api/health (a trivial view through the same server and database connection).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import uuid

import numpy as np
from common import environment, free_port, machine, migrate, run_python, serve

SETUP = """
import json
from django.core.management import call_command
from rest_framework.authtoken.models import Token
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
points = [list(shapely.from_geojson(g).representative_point().coords[0]) for g in Grid.objects.values_list('geometry', flat=True)[:400]]
print(json.dumps({'officer': Token.objects.create(user=officer).key, 'acceptor': Token.objects.create(user=acceptor).key,
                  'category': SmallClass.objects.available().get(code='06011', big_class__kind='event').pk, 'points': points}))
"""


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        start = time.perf_counter()
        self.conn.request(method, path, json.dumps(body) if body is not None else None,
                          {**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start


def run_phase(n: int, concurrency: int, make_client, work) -> tuple[list[float], float, list[int]]:
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
            status, data, seconds = work(client, i)
            with lock:
                latencies.append(seconds)
                codes.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start, codes


def line(name: str, latencies: list[float], elapsed: float, codes: list[int]) -> str:
    ms = np.array(latencies) * 1000
    ok = sum(1 for c in codes if 200 <= c < 300)
    return (f"{name:38} {len(latencies) / elapsed:>9.1f} {np.percentile(ms, 50):>8.1f} {np.percentile(ms, 99):>8.1f}"
            f" {ok:>6}/{len(codes)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=600)
    parser.add_argument("--concurrency", default="1,10,50")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    env = environment()
    migrate(env)
    setup = json.loads(run_python(SETUP, env))
    port = free_port()
    server = serve(env, port)
    try:
        rng = random.Random(1)
        print(f"machine: {machine()}; server: one Daphne process, SQLite WAL (synchronous=FULL)")
        print(f"{'measure':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ok':>10}")
        created: list[int] = []
        for c in levels:
            lat, el, codes = run_phase(args.creates // 2, c, lambda: Client(port, setup["officer"]),
                                       lambda cl, i: cl.call("GET", "/api/health"))
            print(line(f"baseline GET /api/health, c={c}", lat, el, codes))

            def create(cl, i):
                lon, lat_ = rng.choice(setup["points"])
                status, data, seconds = cl.call("POST", "/api/cases/", {
                    "category": setup["category"], "lon": lon, "lat": lat_, "description": "渣土倾倒"},
                    {"Idempotency-Key": str(uuid.uuid4())})
                if status == 201:
                    created.append(json.loads(data)["id"])
                return status, data, seconds

            lat, el, codes = run_phase(args.creates, c, lambda: Client(port, setup["officer"]), create)
            print(line(f"POST /api/cases/ (create), c={c}", lat, el, codes))
        todo = list(created)
        start = 0
        for c in levels:
            batch = min(len(todo) - start, args.creates)
            chunk = todo[start:start + batch]
            lat, el, codes = run_phase(len(chunk), c, lambda: Client(port, setup["acceptor"]),
                                       lambda cl, i, chunk=chunk: cl.call(
                                           "POST", f"/api/cases/{chunk[i]}/transition",
                                           {"action": "accept", "version": 1}))
            print(line(f"POST …/transition (accept), c={c}", lat, el, codes))
            start += batch
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
