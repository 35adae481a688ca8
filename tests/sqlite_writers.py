"""Many concurrent writers on the embedded default's SQLite file (docs/reliability.md §0.10), shared by
the quick test (tests/reliability/test_sqlite_writers.py) and the long one (tests/reliability/, `make reliability`).

Two `serve --no-scheduler` Daphne workers on one SQLite file (WAL, IMMEDIATE transactions); N
threads each report cases (officer) and move them on (acceptor: accept; then several threads race
a shift leader's `supervise` on one shared case, where exactly one per version wins and the others
get a deliberate 409). Every answer must be 2xx or a deliberate 4xx; no 5xx, no "database is
locked" in any body; afterwards the number of cases equals 1 + the successful creates."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field

from tests.redis_outage import _SETUP, _request
from tests.scaled import embedded_env, migrated, run_django, serve_workers

DELIBERATE = {400, 403, 404, 409, 412, 422, 428}


@dataclass
class Tally:
    writers: int = 0
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    creates_ok: int = 0
    cases_in_db: int = 0
    events_in_db: int = 0
    latencies: list[float] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def run_writers(writers: int, rounds: int) -> Tally:
    env = embedded_env("gridcase-writers-")
    tally = Tally(writers=writers)
    try:
        setup = migrated(env, _SETUP)
        with serve_workers(env, 2) as workers:
            _hammer(setup, [w.port for w in workers], writers, rounds, tally)
        tally.cases_in_db, tally.events_in_db = run_django(
            "import django, json; django.setup()\nfrom cases.models import Case, CaseEvent\n"
            "print(json.dumps([Case.objects.count(), CaseEvent.objects.count()]))",
            env,
        )
    finally:
        shutil.rmtree(env["GRIDCASE_DATA_DIR"], ignore_errors=True)
    return tally


def _hammer(setup: dict, ports: list[int], writers: int, rounds: int, tally: Tally) -> None:
    tokens, shared = setup["tokens"], setup["case"]
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def call(port, method, path, token, body=None, headers=None):
        code, answer, took = _request(port, method, path, token, body, headers)
        text = json.dumps(answer, ensure_ascii=False)
        with lock:
            tally.requests += 1
            tally.statuses[code] = tally.statuses.get(code, 0) + 1
            tally.latencies.append(took)
            if (
                not (200 <= code < 300 or code in DELIBERATE)
                or "database is locked" in text.lower()
            ):
                tally.bad.append(f"{method} {path}: {code} {text[:300]}")
        return code, answer

    def writer(n: int) -> None:
        port = ports[n % 2]
        start.wait()
        for r in range(rounds):
            code, body = call(
                port,
                "POST",
                "/api/cases/",
                tokens["officer"],
                {
                    "category": setup["category"],
                    "lon": 120.7005,
                    "lat": 31.3005,
                    "description": f"写者 {n} 第 {r} 轮",
                },
                {"Idempotency-Key": str(uuid.uuid4())},
            )
            if code == 201:
                with lock:
                    tally.creates_ok += 1
                call(
                    port,
                    "POST",
                    f"/api/cases/{body['id']}/transition",
                    tokens["acceptor"],
                    {"action": "accept", "version": body["version"]},
                )
            code, body = call(port, "GET", f"/api/cases/{shared}", tokens["shiftleader"])
            if (
                code == 200
            ):  # everyone races one case: one supervise per version wins, the rest get 409
                call(
                    port,
                    "POST",
                    f"/api/cases/{shared}/transition",
                    tokens["shiftleader"],
                    {"action": "supervise", "version": body["version"]},
                )

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally.seconds = time.monotonic() - started
