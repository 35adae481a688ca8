"""Redis goes away for a while under two Daphne workers (docs/reliability.md §0.4–6, R8, R9): shared by
the quick test (tests/reliability/test_redis_outage.py) and the long one (tests/reliability/, `make reliability`).

A private redis-server on a free port, two `serve --no-scheduler` workers on one SQLite file with
REDIS_URL at it, WebSocket clients for a unit member (on worker B) and an acceptor (on worker A).
Redis is killed (SIGKILL: connections reset, pub/sub subscriptions gone) and restarted on the same
port after `outage` seconds. During the outage HTTP creates and transitions must answer 2xx
promptly; afterwards each client — reconnecting with {"since": last seq} only if its socket was
closed — must hold every alert stored for it, exactly once and in order."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import websockets

from tests.scaled import (
    embedded_env,
    migrated,
    run_django,
    serve_workers,
    topo,
)
from tests.test_realtime_workers import SETUP, _socket
from tests.waiting import WaitTimeout, wait_until_async

REQUEST_BUDGET_S = 3.0  # no request may wait for Redis (its socket timeout is 5 s)
REQUEST_TIMEOUT_S = (
    60.0  # the client gives up after this (a server-side timeout shows as a 5xx first)
)

_SETUP = SETUP.replace(
    "{**people, 'officer_b': other}", "{**people, 'officer_b': other, 'officer': officer}"
).replace("'unit': unit.pk}", "'unit': unit.pk, 'category': cat.pk}")
assert _SETUP.count("'officer': officer") == 1 and _SETUP.count("'category': cat.pk") == 1


@dataclass
class Outcome:
    outage_s: float = 0.0
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    slowest_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    expected: dict[str, list[int]] = field(default_factory=dict)
    received: dict[str, list[int]] = field(default_factory=dict)
    reconnects: dict[str, int] = field(default_factory=dict)
    caught_up_s: float = 0.0
    workers_alive: bool = True


class RedisServer:
    def __init__(self, port: int, workdir: str) -> None:
        self.port, self.workdir, self.process = port, workdir, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        topo.wait_for_port(self.port, self.process, "redis-server", 10)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def _request(
    port: int,
    method: str,
    path: str,
    token: str,
    body: dict | None = None,
    headers: dict | None = None,
) -> tuple[int, dict, float]:
    started = time.monotonic()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"{}"), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return (
            error.code,
            {"raw": error.read()[:300].decode(errors="replace")},
            time.monotonic() - started,
        )
    except OSError as error:
        return 0, {"raw": repr(error)}, time.monotonic() - started


def _stored_seqs(env: dict, usernames: list[str]) -> dict[str, list[int]]:
    return run_django(
        "import django, json; django.setup()\nfrom alerts.models import Notification\n"
        f"print(json.dumps({{u: list(Notification.objects.filter(user__username=u).order_by('seq')"
        f".values_list('seq', flat=True)) for u in {usernames!r}}}))",
        env,
    )


class Client:
    """A WebSocket client as the apps behave: sends {"since": last} on every (re)connect, keeps
    every alert it is shown, reconnects only when its socket is closed."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token, self.ws, self.seqs, self.reconnects = port, token, None, [], 0

    async def connect(self) -> None:
        self.ws = await _socket(self.port, self.token)
        await self.ws.send(json.dumps({"since": self.seqs[-1] if self.seqs else 0}))

    async def read_until(self, wanted: int, seconds: float) -> None:
        """Read until the last seq is `wanted` (or `seconds` pass), reconnecting when closed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (not self.seqs or self.seqs[-1] < wanted):
            try:
                if self.ws is None:
                    await self.connect()
                message = json.loads(
                    await asyncio.wait_for(self.ws.recv(), max(0.05, deadline - time.monotonic()))
                )
                self.seqs.append(message["seq"])
            except TimeoutError:
                return
            except (websockets.exceptions.ConnectionClosed, OSError):
                self.ws = None
                self.reconnects += 1
                try:  # as the apps do: try again every half second until a worker takes the socket
                    await wait_until_async(
                        self._reconnected,
                        max(0.0, deadline - time.monotonic()),
                        "a worker accepts the socket again",
                        interval=0.5,
                    )
                except WaitTimeout:
                    return

    async def _reconnected(self) -> bool:
        try:
            await self.connect()
            return True
        except (websockets.exceptions.ConnectionClosed, OSError):
            self.reconnects += 1
            return False

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def run_outage(outage: float, *, pause: float = 0.25, catch_up: float = 15.0) -> Outcome:
    """The whole scenario; every process it starts is stopped before it returns."""
    port = topo.free_port()
    env = embedded_env(
        "gridcase-outage-",
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        REDIS_PREFIX=f"gridcase-outage-{uuid.uuid4().hex[:8]}",
    )
    data = env["GRIDCASE_DATA_DIR"]
    redis = RedisServer(port, data)
    outcome = Outcome()
    try:
        setup = migrated(env, _SETUP)
        redis.start()
        with serve_workers(env, 2) as workers:
            ports = [w.port for w in workers]
            asyncio.run(_scenario(setup, ports, redis, outage, pause, catch_up, outcome))
            outcome.workers_alive = all(w.poll() is None for w in workers)
        outcome.expected = _stored_seqs(env, ["unit", "acceptor"])
    finally:
        redis.kill()
        shutil.rmtree(data, ignore_errors=True)
    return outcome


async def _scenario(
    setup, ports, redis: RedisServer, outage: float, pause: float, catch_up: float, outcome: Outcome
) -> None:
    tokens, case_id = setup["tokens"], setup["case"]
    port_a, port_b = ports
    unit, acceptor = Client(port_b, tokens["unit"]), Client(port_a, tokens["acceptor"])
    for client in (unit, acceptor):
        await client.connect()
    # No wait: a socket is in its groups before its handshake completes (alerts/consumers.py).

    def record(code: int, body: dict, seconds: float, what: str) -> None:
        outcome.requests += 1
        outcome.statuses[code] = outcome.statuses.get(code, 0) + 1
        outcome.slowest_s = max(outcome.slowest_s, seconds)
        if not 200 <= code < 300 or seconds > REQUEST_BUDGET_S:
            outcome.errors.append(f"{what}: {code} in {seconds:.2f} s {body}")

    code, body, took = await asyncio.to_thread(
        _request,
        port_a,
        "POST",
        f"/api/cases/{case_id}/transition",
        tokens["dispatcher"],
        {"action": "dispatch", "version": setup["version"], "unit": setup["unit"]},
    )
    record(code, body, took, "dispatch before the outage")
    version = body.get("version")
    await unit.read_until(1, 5)  # the push works before the outage

    redis.kill()
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < outage:
        port = ports[n % 2]
        code, body, took = await asyncio.to_thread(
            _request,
            port,
            "POST",
            f"/api/cases/{case_id}/transition",
            tokens["shiftleader"],
            {"action": "supervise", "version": version},
        )
        record(code, body, took, f"supervise #{n} on :{port}")
        version = body.get("version", version)
        code, body, took = await asyncio.to_thread(
            _request,
            port,
            "POST",
            "/api/cases/",
            tokens["officer"],
            {
                "category": setup["category"],
                "lon": 120.7005,
                "lat": 31.3005,
                "description": f"停电期间 {n}",
            },
            {"Idempotency-Key": str(uuid.uuid4())},
        )
        record(code, body, took, f"create #{n} on :{port}")
        code, body, took = await asyncio.to_thread(
            _request, port, "GET", "/api/alerts/unread", tokens["unit"]
        )
        record(code, body, took, f"unread #{n} on :{port}")
        n += 1
        due = time.monotonic() + pause  # the next round's moment: a round every `pause` seconds
        await wait_until_async(
            lambda due=due: time.monotonic() >= due, pause + 1, "the next round's moment"
        )
    redis.start()
    outcome.outage_s = time.monotonic() - started

    back = time.monotonic()
    expected_last = {"unit": 1 + n, "acceptor": n}  # one `supervised` / `new_report` per round
    await asyncio.gather(
        unit.read_until(expected_last["unit"], catch_up),
        acceptor.read_until(expected_last["acceptor"], catch_up),
    )
    outcome.caught_up_s = time.monotonic() - back
    # Anything more (a duplicate, a late push) within a short grace is an error the test sees.
    await asyncio.gather(unit.read_until(10**9, 1.0), acceptor.read_until(10**9, 1.0))
    outcome.received = {"unit": unit.seqs, "acceptor": acceptor.seqs}
    outcome.reconnects = {"unit": unit.reconnects, "acceptor": acceptor.reconnects}
    for client in (unit, acceptor):
        await client.close()
