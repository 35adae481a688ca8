"""bench/servers: the REST API under WSGI (gunicorn sync workers) and under ASGI (Daphne), in one
topology on one PostgreSQL database, measured in interleaved rounds so that the load of a shared
machine falls on both alike.

    .venv/bin/python bench/servers.py [--workers 4] [--rounds 3] [--n 150] [--json]
    .venv/bin/python bench/servers.py --compare-root /path/to/other/checkout   # before/after a change

deploy/topology.py starts `--workers` gunicorn workers and as many Daphne processes; each round sends
`--n` GET /api/health and `--n` case creates at concurrency 50 to gunicorn directly, to the Daphne
processes directly (clients spread over them), and to gunicorn through the front (nginx when
installed, else deploy/proxy.py).
`--compare-root`: a second topology from another checkout (its own database) joins the rounds, so a
change to the create path is measured against the code before it under the same load.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import random
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from common import ROOT, environment, machine, run_python

from cases import SETUP, Client, run_phase


def _topology_module(root: Path):
    spec = importlib.util.spec_from_file_location(
        f"topology_{abs(hash(root))}", root / "deploy" / "topology.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _start(stack: ExitStack, root: Path, name: str, args) -> dict:
    topo = _topology_module(root)
    url = f"{args.pg.rstrip('/')}/gridcase_bench_servers_{name}"
    topo.ensure_database(url, fresh=True)
    stack.callback(topo.drop_database, url)
    running = stack.enter_context(
        topo.topology(
            database_url=url,
            redis_url=args.redis_url,
            web=args.workers,
            ws=args.workers,
            front="auto",
            threads=args.threads,
            collectstatic=False,
            data_dir=environment()["GRIDCASE_DATA_DIR"],
            env={"SECRET_KEY": "bench-" + "x" * 40, "STATIC_MANIFEST": "0", "LOG_LEVEL": "WARNING"},
        )
    )
    setup = json.loads(run_python(SETUP, {**running.env, "PYTHONPATH": str(root)}))
    return {"running": running, "setup": setup}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=150, help="requests per kind, target and round")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--compare-root", help="another checkout: its WSGI create path joins the rounds"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(3)
    with ExitStack() as stack:
        here = _start(stack, ROOT, "this", args)
        run, setup = here["running"], here["setup"]
        targets = {
            "WSGI gunicorn": (urlparse(run.web_url).port, setup),
            "ASGI Daphne": (itertools.cycle([urlparse(u).port for u in run.ws_urls]), setup),
            "WSGI via front": (urlparse(run.url).port, setup),
        }
        if args.compare_root:
            other = _start(stack, Path(args.compare_root).resolve(), "other", args)
            targets["WSGI gunicorn, --compare-root"] = (
                urlparse(other["running"].web_url).port,
                other["setup"],
            )
        samples: dict[tuple[str, str], list] = {}
        for _ in range(args.rounds):
            for target, (port, s) in targets.items():
                for kind in ("health", "create"):

                    def work(client, i, s=s, kind=kind):
                        if kind == "health":
                            return client.call("GET", "/api/health")
                        lon, lat = rng.choice(s["points"])
                        return client.call(
                            "POST",
                            "/api/cases/",
                            {
                                "category": s["category"],
                                "lon": lon,
                                "lat": lat,
                                "description": "bench",
                            },
                            {"Idempotency-Key": str(uuid.uuid4())},
                        )

                    token = s["officer"]
                    lat_, elapsed, codes = run_phase(
                        args.n, args.concurrency, lambda p=port, t=token: Client(p, t), work
                    )
                    samples.setdefault((target, kind), []).append((lat_, elapsed, codes))
    results = {}
    kind = f"gthread ×{args.threads}" if args.threads > 1 else "sync"
    print(
        f"machine: {machine()}; {args.workers} gunicorn {kind} workers and {args.workers} Daphne processes, "
        f"PostgreSQL + Redis; c={args.concurrency}; {args.rounds} interleaved rounds of {args.n}"
    )
    print(f"{'target':34} {'kind':7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>10}")
    for (target, kind), runs in samples.items():
        lat = np.array([x for r in runs for x in r[0]]) * 1000
        codes = [c for r in runs for c in r[2]]
        f = {
            "rps": round(len(lat) / sum(r[1] for r in runs), 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "ok": sum(200 <= c < 300 for c in codes),
            "n": len(codes),
            "rounds_rps": [round(len(r[0]) / r[1], 1) for r in runs],
        }
        results[f"{target} {kind}"] = f
        print(
            f"{target:34} {kind:7} {f['rps']:>8.1f} {f['p50_ms']:>8.1f} {f['p99_ms']:>8.1f} {f['ok']:>6}/{f['n']}"
            f"   rounds: {f['rounds_rps']}"
        )
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}))


if __name__ == "__main__":
    main()
