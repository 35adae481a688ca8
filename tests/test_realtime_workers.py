"""The scaled deployment: two Daphne workers sharing Redis (pub/sub layer) and one database, real
WebSocket clients. An alert caused by a request on one worker reaches a client on the other."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
import websockets

from tests.scaled import embedded_env, migrated, serve_workers

pytestmark = pytest.mark.redis

SETUP = """
import django, json; django.setup()
import shapely
from people.tokens import key_for
from cases import workflow
from cases.models import BigClass, CaseStandard, ClassificationStandard, SmallClass
from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment
from people.models import Organisation, Role, User
d = Area.objects.create(code='320505', name='区', level='district')
s = Area.objects.create(code='320505006', name='街道', level='street', parent=d)
c = Area.objects.create(code='320505006001', name='社区', level='community', parent=s)
g1 = Grid.objects.create(code='320505006001001', name='网格1', community=c,
                         geometry=to_geojson(shapely.box(120.700, 31.300, 120.701, 31.301)))
g2 = Grid.objects.create(code='320505006001002', name='网格2', community=c,
                         geometry=to_geojson(shapely.box(120.710, 31.300, 120.711, 31.301)))
centre = Organisation.objects.create(code='centre', name='中心', kind='centre')
unit = Organisation.objects.create(code='unit', name='执法大队', kind='handling_unit')
std = ClassificationStandard.objects.create(code='T', name='T', active=True)
big = BigClass.objects.create(standard=std, kind='event', code='06', name='市容')
cat = SmallClass.objects.create(big_class=big, code='06001', name='私搭乱建')
CaseStandard.objects.create(small_class=cat)
def user(name, role, org):
    return User.objects.create_user(name, role=role, organisation=org)
officer, other = user('officer', Role.OFFICER, centre), user('officer_b', Role.OFFICER, centre)
GridAssignment.objects.create(grid=g1, officer=officer)
GridAssignment.objects.create(grid=g2, officer=other)
people = {n: user(n, r, o) for n, r, o in [('acceptor', Role.ACCEPTOR, centre),
          ('shiftleader', Role.SHIFT_LEADER, centre), ('dispatcher', Role.DISPATCHER, centre),
          ('unit', Role.UNIT_MEMBER, unit)]}
case = workflow.report_case(workflow.Report(category=cat, lon=120.7005, lat=31.3005), reporter=officer)
for action, who in [('accept', 'acceptor'), ('register', 'shiftleader')]:
    case.refresh_from_db()
    workflow.transition(case, action, actor=people[who], version=case.version)
case.refresh_from_db()
tokens = {n: key_for(u) for n, u in {**people, 'officer_b': other}.items()}
print(json.dumps({'tokens': tokens, 'case': case.pk, 'version': case.version, 'unit': unit.pk}))
"""


@pytest.fixture
def two_workers(redis_url):
    env = embedded_env(
        "gridcase-workers-",
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        REDIS_PREFIX=f"gridcase-test-{uuid.uuid4().hex[:8]}",
    )
    setup = migrated(env, SETUP)
    with serve_workers(env, 2, scheduler=True) as workers:
        yield setup, [w.port for w in workers]


def _post(port: int, path: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _socket(port: int, token: str | None, origin: str | None = None):
    query = f"?token={token}" if token else ""
    return websockets.connect(
        f"ws://127.0.0.1:{port}/ws/alerts/{query}",
        origin=origin or f"http://127.0.0.1:{port}",
        open_timeout=5,
    )


async def _drain(ws, seconds: float) -> list[dict]:
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    except TimeoutError:
        return got


def test_an_alert_crosses_workers_and_a_reconnect_replays_exactly_the_missed_ones(two_workers):
    setup, (port_a, port_b) = two_workers
    tokens, case_id = setup["tokens"], setup["case"]
    transition = f"/api/cases/{case_id}/transition"

    async def scenario():
        unit_ws = await _socket(port_b, tokens["unit"])
        stranger_ws = await _socket(port_a, tokens["officer_b"])
        for ws in (unit_ws, stranger_ws):
            await ws.send(json.dumps({"since": 0}))
        # No wait needed: a socket is in its groups before its handshake completes
        # (alerts/consumers.py), and pushes before {"since"} are held, then delivered.
        started = time.monotonic()
        code, body = await asyncio.to_thread(
            _post,
            port_a,
            transition,
            tokens["dispatcher"],
            {"action": "dispatch", "version": setup["version"], "unit": setup["unit"]},
        )
        assert code == 200, body
        first = json.loads(await asyncio.wait_for(unit_ws.recv(), 1.0))
        latency = time.monotonic() - started
        await unit_ws.close()
        version = body["version"]
        for _ in range(3):
            code, body = await asyncio.to_thread(
                _post,
                port_a,
                transition,
                tokens["shiftleader"],
                {"action": "supervise", "version": version},
            )
            assert code == 200, body
            version = body["version"]
        again = await _socket(port_a, tokens["unit"])
        await again.send(json.dumps({"since": first["seq"]}))
        missed = await _drain(again, 1.5)
        await again.close()
        strange = await _drain(stranger_ws, 0.2)
        await stranger_ws.close()
        return first, latency, missed, strange

    first, latency, missed, strange = asyncio.run(scenario())
    assert first["type"] == "dispatched" and first["seq"] == 1
    assert latency < 1.0
    assert [(m["seq"], m["type"]) for m in missed] == [
        (2, "supervised"),
        (3, "supervised"),
        (4, "supervised"),
    ]
    assert strange == []


def test_anonymous_and_cross_origin_sockets_are_refused_by_a_worker(two_workers):
    setup, (port_a, _port_b) = two_workers

    async def refused(token, origin) -> bool:
        try:
            async with _socket(port_a, token, origin) as ws:
                await asyncio.wait_for(ws.recv(), 2)
        except (websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed):
            return True
        return False

    assert asyncio.run(refused(None, None))
    assert asyncio.run(refused(setup["tokens"]["unit"], "http://evil.example"))
