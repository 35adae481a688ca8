"""bench/fanout: latency from commit to receipt for one event fanned out to N connected clients.

    .venv/bin/python bench/fanout.py [--clients 1000] [--redis redis://127.0.0.1:6379/0]

The N clients are WebSocket connections of the acceptor to /ws/alerts/ (one user group of N
members); one report by an officer makes one stored alert for the acceptor, which the relay
pushes to all N. Latency = receipt time − the alert's `at` (the event time, just before commit),
same machine clock. Runs on the in-memory layer (one worker) and, with --redis, on the Redis
pub/sub layer with two workers (clients split between them, the report sent to the first).
The clients are this process (the load generator), the servers their own processes; "gen CPU"
is how many cores the load generator used from the report to the last receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
import urllib.request
import uuid

import numpy as np
import websockets
from common import ROOT, environment, free_port, machine, migrate, run_python, serve

# The one-grid city of the scaled tests (grid 120.700–120.710, 31.300–31.310; officer, acceptor, a class).
sys.path.insert(0, str(ROOT))
from tests.scaled import SETUP  # noqa: E402


async def receive_one(ws, arrivals: list[float]) -> None:
    message = json.loads(await asyncio.wait_for(ws.recv(), 30))
    at = dt.datetime.fromisoformat(message["at"]).timestamp()
    arrivals.append(time.time() - at)


def report(port: int, setup: dict) -> None:
    body = json.dumps({"category": setup["category"], "lon": 120.7005, "lat": 31.3005}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/cases/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {setup['officer']}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201


def last_seq(port: int, setup: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/alerts/?limit=500",
        headers={"Authorization": f"Token {setup['acceptor']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return max((a["seq"] for a in json.loads(response.read())["results"]), default=0)


async def fan_out(ports: list[int], setup: dict, clients: int) -> tuple[list[float], float, float]:
    for port in ports:  # warm each worker up (imports, the grid index) before measuring
        await asyncio.to_thread(report, port, setup)
    since = await asyncio.to_thread(last_seq, ports[0], setup)
    sockets = []
    for i in range(clients):
        port = ports[i % len(ports)]
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/alerts/?token={setup['acceptor']}",
            origin=f"http://127.0.0.1:{port}",
            open_timeout=30,
            compression=None,
        )
        await ws.send(json.dumps({"since": since}))
        sockets.append(ws)
    await asyncio.sleep(1.0)  # every group_add done
    arrivals: list[float] = []
    waiting = [asyncio.create_task(receive_one(ws, arrivals)) for ws in sockets]
    started, cpu = time.monotonic(), time.process_time()
    await asyncio.to_thread(report, ports[0], setup)
    await asyncio.gather(*waiting)
    elapsed = time.monotonic() - started
    cores = (time.process_time() - cpu) / elapsed  # what this load generator took meanwhile
    await asyncio.gather(*(ws.close() for ws in sockets))
    return arrivals, elapsed, cores


def run(label: str, clients: int, redis: str | None, workers: int) -> dict:
    env = environment(REDIS_URL=redis or "", REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:6]}")
    migrate(env)
    setup = json.loads(run_python(SETUP, env))
    ports = [free_port() for _ in range(workers)]
    servers = [serve(env, p) for p in ports]
    try:
        arrivals, elapsed, cores = asyncio.run(fan_out(ports, setup, clients))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    ms = np.array(arrivals) * 1000
    print(
        f"{label:44} {len(ms):>7} {ms.min():>8.0f} {np.percentile(ms, 50):>8.0f} "
        f"{np.percentile(ms, 99):>8.0f} {ms.max():>8.0f} {cores:>8.2f}"
    )
    return {
        "got": len(ms),
        "clients": clients,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "load_generator_cores": round(cores, 2),
    }


async def layer_only(layer, members: int) -> float:
    """Seconds for one group_send to `members` channels and every receive, in one process."""
    channels = [await layer.new_channel() for _ in range(members)]
    for channel in channels:
        await layer.group_add("bench", channel)
    started = time.perf_counter()
    receivers = [asyncio.create_task(layer.receive(c)) for c in channels]
    await asyncio.sleep(0)
    await layer.group_send("bench", {"type": "alert", "message": {"seq": 1}})
    await asyncio.gather(*receivers)
    return time.perf_counter() - started


def layers(members: int) -> dict:
    import sys

    from channels.layers import InMemoryChannelLayer

    sys.path.insert(0, str(__import__("common").ROOT))
    from backend.layers import SweepingInMemoryChannelLayer

    took = {}
    for cls in (InMemoryChannelLayer, SweepingInMemoryChannelLayer):
        seconds = took[cls.__name__] = asyncio.run(layer_only(cls(), members)) * 1000
        print(f"{'layer only: ' + cls.__name__ + f', {members} members':52} {seconds:>8.0f} ms")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument(
        "--redis-clients",
        type=int,
        default=0,
        help="clients of the Redis run (default: --clients), e.g. 10000",
    )
    parser.add_argument("--layer-members", default="1000", help="e.g. 1000,10000")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on the last line"
    )
    args = parser.parse_args()
    figures = {"layer_only_ms": {m: layers(int(m)) for m in args.layer_members.split(",")}}
    print(f"machine: {machine()}; one event to {args.clients} sockets of one user")
    print(
        f"{'setup':44} {'got':>7} {'min ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'gen CPU':>8}"
    )
    figures["inmemory"] = run("in-memory layer, 1 Daphne worker", args.clients, None, 1)
    if not args.skip_redis:
        figures["redis"] = run(
            "Redis pub/sub layer, 2 Daphne workers",
            args.redis_clients or args.clients,
            args.redis,
            2,
        )
    if args.json:
        print(json.dumps({"machine": machine(), **figures}))


if __name__ == "__main__":
    main()
