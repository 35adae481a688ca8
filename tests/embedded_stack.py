"""The embedded default under load with every writer of its process busy (issue 26), shared by the
quick test (tests/reliability/test_embedded_stack.py) and anyone who wants a longer run.

One `manage.py serve` process WITH its scheduler, as `make run` starts it, on a SQLite file of its
own (WAL, IMMEDIATE transactions). The scheduler ticks every half second and runs the deadline sweep
and the report job every second; the small class is urgent with a 1-minute limit and every step has a
1-minute limit, and the setup leaves cases whose clocks run out one after another all through the
run, so yellow and red alarms (and their alerts, pushed by the relay) are raised while the clients
work. Meanwhile:

- `clients` threads drive cases through their lifecycle as the people would: the officer reports
  (Idempotency-Key), the acceptor accepts, the shift leader registers, the dispatcher dispatches to
  the unit, the unit reads the case and feeds back with a photo (multipart), the officer checks
  with a photo, the shift leader closes. Every fourth case is left waiting at a step and every
  fourth in handling, so the sweep finds new clocks running out during the run too.
- one more thread asks for a report build again and again (a revision of a finished week).

Every answer must be a 2xx (the flows never race: a 4xx would be a bug of the scenario or of the
server); no 5xx, no "database is locked" in any answer, nor in the server's log (a scheduler job or
the relay that failed on a locked database only shows there).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.scaled import embedded_env, run_django, serve_workers
from tests.waiting import WaitTimeout, wait_until

SETUP = """
import django, json, datetime as dt; django.setup()
from django.core.management import call_command
call_command('migrate', verbosity=0)  # in this process: one Django start less than `manage.py migrate`
import shapely
from django.utils import timezone
from people.tokens import key_for
from cases import workflow
from cases.models import BigClass, CaseStandard, ClassificationStandard, SmallClass, StepLimit
from grids.geo import to_geojson
from grids.models import Area, Grid, GridAssignment
from people.models import Organisation, Role, User
d = Area.objects.create(code='320505', name='区', level='district')
s = Area.objects.create(code='320505006', name='街道', level='street', parent=d)
c = Area.objects.create(code='320505006001', name='社区', level='community', parent=s)
g = Grid.objects.create(code='320505006001001', name='网格1', community=c,
                        geometry=to_geojson(shapely.box(120.700, 31.300, 120.710, 31.310)))
centre = Organisation.objects.create(code='centre', name='中心', kind='centre')
unit = Organisation.objects.create(code='unit', name='执法大队', kind='handling_unit')
std = ClassificationStandard.objects.create(code='T', name='T', active=True)
cat = SmallClass.objects.create(big_class=BigClass.objects.create(standard=std, kind='event', code='06', name='市容'),
                                code='06001', name='私搭乱建')
CaseStandard.objects.create(small_class=cat, time_limit=1, time_limit_unit='minutes', urgency='urgent')
for step in ['accept', 'verify', 'register', 'dispatch', 'check', 'close']:
    StepLimit.objects.update_or_create(step=step, defaults={'time_limit': 1, 'time_limit_unit': 'minutes'})
people = {n: User.objects.create_user(n, role=r, organisation=o) for n, r, o in [
    ('officer', Role.OFFICER, centre), ('acceptor', Role.ACCEPTOR, centre), ('shiftleader', Role.SHIFT_LEADER, centre),
    ('dispatcher', Role.DISPATCHER, centre), ('unit', Role.UNIT_MEMBER, unit)]}
GridAssignment.objects.create(grid=g, officer=people['officer'])
# Clocks that run out all through the run: a case every SPREAD/COUNT seconds, from one minute ago on,
# half of them waiting to be accepted (step clock), half in handling (the disposal clock).
now = timezone.now()
for i in range(COUNT):
    at = now - dt.timedelta(seconds=60) + dt.timedelta(seconds=SPREAD * i / COUNT)
    case = workflow.report_case(workflow.Report(category=cat, lon=120.705, lat=31.305, description=f'clock {i}'),
                                reporter=people['officer'], now=at)
    if i % 2:
        for action, who, extra in [('accept', 'acceptor', {}), ('register', 'shiftleader', {}),
                                   ('dispatch', 'dispatcher', {'unit': unit})]:
            case.refresh_from_db()
            workflow.transition(case, action, actor=people[who], version=case.version, inputs=workflow.Inputs(**extra),
                                now=at)
print(json.dumps({'tokens': {n: key_for(u) for n, u in people.items()},
                  'category': cat.pk, 'unit': unit.pk}))
"""

FIGURES = """
import django, json, datetime as dt; django.setup()
from django.utils.dateparse import parse_datetime
from alerts.models import Notification
from cases.models import Case, CaseAlarm
from reports.models import Report
started = parse_datetime(STARTED)
built = Report.objects.filter(state__in=('draft', 'published'), built_at__gte=started)
print(json.dumps({'alarms': CaseAlarm.objects.count(),
                  'alarms_in_run': CaseAlarm.objects.filter(raised_at__gte=started).count(),
                  'reports_built': built.count(),
                  'reports_failed': list(Report.objects.filter(state='failed').values_list('error', flat=True)),
                  'notifications': Notification.objects.count(),
                  'unpushed': Notification.objects.filter(pushed_at__isnull=True).count(),
                  'cases': Case.objects.count(), 'closed': Case.objects.filter(status='closed').count()}))
"""

REQUEST_TIMEOUT_S = 60.0


@dataclass
class Run:
    clients: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    by_action: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    report_requests: int = 0
    figures: dict = field(default_factory=dict)
    log_problems: list[str] = field(default_factory=list)
    log: str = ""  # the server's output
    tracebacks: list[str] = field(default_factory=list)  # each ending with its exception's line
    build_wait: float = 0.0  # seconds waited after the run for a build (-1: none came)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        f = self.figures
        return (
            f"embedded stack: {self.clients} clients for {self.seconds:.0f} s, {sum(self.statuses.values())} "
            f"requests, statuses {dict(sorted(self.statuses.items()))}, by action "
            f"{dict(sorted(self.by_action.items()))}, p50 {self.percentile(0.5):.2f} s, p99 "
            f"{self.percentile(0.99):.2f} s, max {self.percentile(1.0):.2f} s; alarms raised during the run "
            f"{f.get('alarms_in_run')} (all {f.get('alarms')}), reports built {f.get('reports_built')} "
            f"(requested {self.report_requests} times; waited {self.build_wait} s after the run for one), "
            f"notifications {f.get('notifications')} "
            f"(unpushed {f.get('unpushed')}), cases {f.get('cases')} (closed {f.get('closed')}); "
            f"server log problems {len(self.log_problems)}"
        )


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def _multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="scene.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _call(
    port: int,
    method: str,
    path: str,
    token: str,
    body: dict | None = None,
    *,
    photo: bytes | None = None,
    headers: dict | None = None,
) -> tuple[int, dict, str, float]:
    """(status, JSON answer or {}, raw text, seconds)."""
    if photo is not None:
        data, content_type = _multipart(body or {}, photo)
    else:
        data, content_type = (
            (json.dumps(body).encode() if body is not None else None),
            "application/json",
        )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=data,
        headers={
            "Content-Type": content_type,
            "Authorization": f"Token {token}",
            **(headers or {}),
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            text = response.read().decode(errors="replace")
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(errors="replace"), error.code
    except OSError as error:
        text, status = repr(error), 0
    took = time.monotonic() - started
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}, text, took


def run_embedded(clients: int = 20, seconds: float = 60.0, *, clocks: int = 40) -> Run:
    """Start the stack, drive it for `seconds`, stop it; the figures of the run."""
    env = embedded_env(
        "gridcase-embedded-",
        DEADLINE_SWEEP_SECONDS="1",
        REPORTS_JOB_SECONDS="1",
        SCHEDULER_TICK="0.5",
        LOG_LEVEL="WARNING",
    )
    log = Path(tempfile.mkstemp(prefix="gridcase-embedded-", suffix=".log")[1])
    run = Run(clients=clients)
    try:
        # the clocks of the setup's cases run out over `seconds` + 30 s: from the first sweep to after the end
        setup = run_django(
            SETUP.replace("COUNT", str(clocks)).replace("SPREAD", str(seconds + 30)), env
        )
        started = dt.datetime.now(dt.UTC)
        with serve_workers(env, 1, scheduler=True, log=log) as (worker,):
            _drive(worker.port, setup, clients, seconds, run)
            alive = worker.poll() is None
            if alive:  # on a very loaded machine a build may still be rendering: let it finish
                run.build_wait = _await_a_build(
                    worker.port, setup["tokens"]["shiftleader"], started
                )
        if not alive:
            run.bad.append("the server process died during the run")
        run.figures = run_django(FIGURES.replace("STARTED", repr(started.isoformat())), env)
        run.log = text = log.read_text(errors="replace")
        run.log_problems = [
            line
            for line in text.splitlines()
            if "database is locked" in line.lower() or " ERROR " in line or "Traceback" in line
        ]
        run.tracebacks = _tracebacks(text)
        if "database is locked" in text.lower():
            run.bad.append("the server's log says 'database is locked'")
    finally:
        shutil.rmtree(env["GRIDCASE_DATA_DIR"], ignore_errors=True)
        log.unlink(missing_ok=True)
    return run


def _tracebacks(log: str) -> list[str]:
    """The tracebacks in the server's log, each from "Traceback" to its exception's line (what a
    failed run must show: the answers of a 500 say nothing in production mode)."""
    found, current = [], None
    for line in log.splitlines():
        if line.startswith("Traceback"):
            current = [line]
        elif current is not None:
            current.append(line)
            if line and not line[0].isspace():
                found.append("\n".join(current[-12:]))
                current = None
    return found


def _await_a_build(port: int, token: str, since: dt.datetime, timeout: float = 90.0) -> float:
    """Seconds waited after the run until a report requested in it was built (0: one was)."""
    waited = time.monotonic()

    def built() -> bool:
        _status, answer, _text, _took = _call(port, "GET", "/api/reports/", token)
        # Built: a draft (a report is built as a draft and published by a person or at its time).
        return any(
            r["state"] in ("draft", "published")
            and r.get("built_at")
            and dt.datetime.fromisoformat(r["built_at"]) >= since
            for r in answer.get("results", [])
        )

    try:
        wait_until(built, timeout, "a report requested in the run built", interval=0.5)
    except WaitTimeout:
        return -1.0
    return round(time.monotonic() - waited, 1)


def _drive(port: int, setup: dict, clients: int, seconds: float, run: Run) -> None:
    tokens, photo = setup["tokens"], _jpeg()
    lock = threading.Lock()
    ends: list[float] = []
    start = threading.Barrier(clients + 2, action=lambda: ends.append(time.monotonic() + seconds))

    def call(
        what: str, method: str, path: str, who: str, body: dict | None = None, **kwargs
    ) -> tuple[int, dict]:
        if time.monotonic() >= ends[0]:
            return 0, {}  # the run is over: the case stays where it is
        status, answer, text, took = _call(port, method, path, tokens[who], body, **kwargs)
        with lock:
            run.statuses[status] = run.statuses.get(status, 0) + 1
            run.by_action[what] = run.by_action.get(what, 0) + 1
            run.latencies.append(took)
            if not 200 <= status < 300 or "database is locked" in text.lower():
                run.bad.append(f"{what} {method} {path}: {status} {text[:400]}")
        return status, answer

    def lifecycle(n: int, r: int) -> None:
        """One case from report to close; every fourth stops at a step, every fourth in handling."""
        status, case = call(
            "report",
            "POST",
            "/api/cases/",
            "officer",
            {
                "category": setup["category"],
                "lon": 120.705,
                "lat": 31.305,
                "description": f"客户 {n} 第 {r} 件",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if status != 201:
            return
        path = f"/api/cases/{case['id']}"
        steps = [
            ("accept", "acceptor", {}),
            ("register", "shiftleader", {}),
            ("dispatch", "dispatcher", {"unit": setup["unit"]}),
        ]
        if r % 4 == 1:
            steps = steps[: 1 + n % 2]  # left waiting to be registered or dispatched
        for action, who, extra in steps:
            status, case = call(
                action,
                "POST",
                f"{path}/transition",
                who,
                {"action": action, "version": case["version"], **extra},
            )
            if status != 200:
                return
        if r % 4 in (1, 2):
            return  # left waiting (above) or in handling: its clock runs out during the run
        status, case = call("read", "GET", path, "unit")  # the unit reads the case, then feeds back
        if status != 200:
            return
        for action, who, fields in [
            ("feedback", "unit", {}),
            ("check", "officer", {"outcome": "pass"}),
        ]:
            status, case = call(
                action,
                "POST",
                f"{path}/transition",
                who,
                {"action": action, "version": case["version"], **fields},
                photo=photo,
            )
            if status != 200:
                return
        call(
            "close",
            "POST",
            f"{path}/transition",
            "shiftleader",
            {"action": "close", "version": case["version"]},
        )

    def client(n: int) -> None:
        start.wait()
        r = 0
        while time.monotonic() < ends[0]:
            lifecycle(n, r)
            r += 1

    def reporter() -> None:
        """Asks for a build of a finished week again and again (a revision once it is published)."""
        start.wait()
        period = (dt.date.today() - dt.timedelta(days=14)).isoformat()
        first = True
        while time.monotonic() < ends[0]:
            body = {"kind": "weekly", "period": period}
            if not first:
                body.update(revise=True, reason="再核一次")
            status, _answer = call("report build", "POST", "/api/reports/", "shiftleader", body)
            with lock:
                run.report_requests += 1
            first = first and not 200 <= status < 300
            due = min(time.monotonic() + 2.0, ends[0])  # a request every 2 s
            wait_until(
                lambda due=due: time.monotonic() >= due,
                3.0,
                "the next request's moment",
                interval=0.1,
            )

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=reporter))
    for t in threads:
        t.start()
    started = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    run.seconds = time.monotonic() - started
