"""The scaled topology (deploy/topology.py) on PostgreSQL + Redis: gunicorn workers for the API
behind the front, Daphne for /ws/, the scheduler. A gunicorn worker killed with SIGKILL in the
middle of case creates loses no acknowledged case and doubles none (clients retry with their
Idempotency-Key). Runs on both suite passes: the topology has its own PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.request

import pytest
import websockets

from tests.conftest import _answers, require
from tests.scaled import (
    _post,
    check_nothing_lost_or_doubled,
    create_while_killing,
    postgres_server,
    run_django,
    scaled_city,
    stored,
)

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def city(redis_url):
    require(_answers(postgres_server(), 5432), f"PostgreSQL at {postgres_server()}")
    with scaled_city(redis_url, web=2, ws=1) as made:
        yield made


def _check_routing(running, setup, key: str) -> None:
    """/api/ reaches gunicorn, /ws/ reaches Daphne, and an alert made on gunicorn crosses over."""
    with urllib.request.urlopen(running.url + "/api/health", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Server"].startswith("gunicorn")
    assert len(running.web_worker_pids()) == 2

    async def scenario():
        base = running.url.replace("http://", "ws://")
        async with (
            websockets.connect(
                f"{base}/ws/alerts/?token={setup['acceptor']}", origin=running.url, open_timeout=10
            ) as ws,
            websockets.connect(
                f"{base}/ws/cases/?token={setup['acceptor']}", origin=running.url, open_timeout=10
            ) as live,
        ):
            await ws.send(json.dumps({"since": 0}))
            # No wait: both sockets are in their groups before their handshakes complete
            # (alerts/consumers.py); pushes before {"since"} are held, then delivered.
            body = json.dumps(
                {"category": setup["category"], "lon": 120.705, "lat": 31.305}
            ).encode()
            request = urllib.request.Request(
                running.url + "/api/cases/",
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Token {setup['officer']}",
                    "Idempotency-Key": key,
                },
            )
            answer = await asyncio.to_thread(urllib.request.urlopen, request, timeout=10)
            assert answer.status == 201 and answer.headers["Server"].startswith("gunicorn")
            alert = json.loads(await asyncio.wait_for(ws.recv(), 5))
            change = json.loads(await asyncio.wait_for(live.recv(), 5))
            return alert, change, json.loads(answer.read())

    alert, change, case = asyncio.run(scenario())
    assert alert["type"] == "new_report" and alert["case"]["number"] == case["number"]
    # the live map hears of a change made on a WSGI worker (its relay thread pushes it)
    assert change["action"] == "report" and change["case"]["number"] == case["number"]


def test_the_front_sends_the_api_to_gunicorn_and_ws_to_daphne_and_alerts_cross_over(city):
    running, setup = city
    assert running.front == ("nginx" if shutil.which("nginx") else "python")
    _check_routing(*city, key="front-1")


def test_the_python_front_routes_as_nginx_does(redis_url):
    """Where nginx is not installed the topology puts deploy/proxy.py in front: same routing."""
    require(_answers(postgres_server(), 5432), f"PostgreSQL at {postgres_server()}")
    with scaled_city(redis_url, web=2, ws=1, front="python") as (running, setup):
        assert running.front == "python"
        _check_routing(running, setup, key="python-front-1")


def test_a_worker_killed_mid_load_loses_and_doubles_no_case(city):
    running, setup = city
    workers = running.web_worker_pids()
    before = stored(running)
    outcome = create_while_killing(running, setup, creates=200, threads=20, kill_at=(0.3,))
    check_nothing_lost_or_doubled(running, outcome, 200, before)
    assert outcome.killed[0] in workers and outcome.killed[0] not in running.web_worker_pids()
    assert len(running.web_worker_pids()) == 2  # gunicorn's master replaced the dead worker


def test_docker_compose_runs_the_commands_of_the_topology_script():
    """Docker is not available everywhere: check that compose parses and starts what
    deploy/topology.py starts (same programs and options; host, port and interpreter differ)."""
    import sys
    from pathlib import Path

    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
    import topology as topo

    root = Path(__file__).resolve().parent.parent
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose["services"]

    def normal(command: list[str]) -> list[str]:
        words = ["python" if w == topo.PY else w for w in command]
        return [
            w
            for w in words
            if not any(x in w for x in ("127.0.0.1", "0.0.0.0", "8000", "9999", "${WEB_WORKERS"))
            and w not in ("--host", "--port")
        ]

    web = normal(topo.web_command(9999, 4))
    assert normal(services["web"]["command"]) == [w for w in web if w != "4"]
    assert normal(services["ws"]["command"]) == normal(topo.ws_command(9999))
    assert normal(services["scheduler"]["command"]) == normal(topo.scheduler_command())
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["collectstatic"]["command"][-2:] == ["collectstatic", "--noinput"]
    for name in ("web", "ws", "scheduler"):
        needs = services[name]["depends_on"]
        assert (
            needs["migrate"]["condition"]
            == needs["collectstatic"]["condition"]
            == "service_completed_successfully"
        )
    nginx = (root / "deploy" / "nginx.conf").read_text()
    assert "upstream web { server web:8000;" in nginx and "upstream ws { server ws:8000; }" in nginx
    assert (
        "location /ws/ {\n        proxy_pass http://ws;" in nginx
        and "location / {\n        proxy_pass http://web;" in nginx
    )


WITHDRAW = """
import django, json; django.setup()
from cases.models import SmallClass
print(json.dumps({'changed': SmallClass.objects.filter(pk=%d).update(active=%s)}))
"""


def test_a_class_withdrawn_by_another_process_is_refused_by_every_worker(city):
    """Each gunicorn worker keeps the classification in memory (backend/reference.py); a class
    withdrawn by another process with a bulk update — no model signal — is refused by the next
    create anywhere, and offered again once restored: the triggers replaced the token."""
    running, setup = city
    body = json.dumps({"category": setup["category"], "lon": 120.705, "lat": 31.305}).encode()

    def statuses(prefix: str) -> set[int]:  # a connection each: the front spreads them
        return {_post(running.url, setup["officer"], body, f"{prefix}-{i}")[0] for i in range(8)}

    assert statuses("withdraw-before") == {201}
    assert run_django(WITHDRAW % (setup["category"], "False"), running.env) == {"changed": 1}
    try:
        assert statuses("withdraw-during") == {400}
    finally:
        run_django(WITHDRAW % (setup["category"], "True"), running.env)
    assert statuses("withdraw-after") == {201}
