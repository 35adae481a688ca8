"""The scheduler: periodic jobs, run by exactly one process at a time.

Mechanism (docs/operations.md): a loop thread in whichever processes are allowed to schedule —
the one `manage.py serve` process in the embedded default, the one `manage.py run_scheduler`
process in the scaled deployment (web workers start with `--no-scheduler`). Whatever runs, a
database lease decides who acts: a process takes the `scheduler` lease when it is free or expired
and renews it on every tick; the others wait. A crashed holder's lease expires after LEASE_SECONDS
and another takes over. The jobs are also idempotent themselves (deadline alarms are unique rows),
so even a lease lost mid-job cannot make an alarm fire twice.

Why not Celery beat or APScheduler: both need either a broker or their own job store and still no
cross-process exclusivity without one; the lease is one table and ten lines, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)
LEASE_SECONDS = 90


@dataclass
class Job:
    name: str
    path: str  # dotted path of a callable taking `now`
    every: dt.timedelta
    last_run: dt.datetime | None = field(default=None)

    def due(self, now: dt.datetime) -> bool:
        return self.last_run is None or now - self.last_run >= self.every


def default_jobs() -> list[Job]:
    sweep, reports = settings.DEADLINE_SWEEP_SECONDS, settings.REPORTS_JOB_SECONDS
    return [
        Job("deadline alarms", "cases.alarms.sweep", dt.timedelta(seconds=sweep)),
        # Monday 08:00 publication and on-demand builds (reports/jobs.py); cheap when idle.
        Job("reports", "reports.jobs.run", dt.timedelta(seconds=reports)),
    ]


def take_lease(holder: str, now: dt.datetime, name: str = "scheduler") -> bool:
    """Take or renew the lease; True if `holder` holds it until now + LEASE_SECONDS."""
    from backend.models import Lease

    until = now + dt.timedelta(seconds=LEASE_SECONDS)
    mine = Lease.objects.filter(name=name, holder=holder).update(expires_at=until)
    if mine:
        return True
    if Lease.objects.filter(name=name, expires_at__lt=now).update(holder=holder, expires_at=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=until)
        return True
    except IntegrityError:
        return False


class Scheduler:
    def __init__(self, jobs: list[Job] | None = None, holder: str | None = None) -> None:
        self.jobs = jobs if jobs is not None else default_jobs()
        self.holder = holder or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()

    def tick(self, now: dt.datetime | None = None) -> list[str]:
        """Run the due jobs if this process holds the lease; return their names."""
        now = now or timezone.now()
        ran = []
        if not take_lease(self.holder, now):
            return ran
        for job in self.jobs:
            if job.due(now):
                self._run(job, now)
                ran.append(job.name)
        return ran

    def _run(self, job: Job, now: dt.datetime) -> None:
        job.last_run = now
        try:
            function: Callable = import_string(job.path)
            function(now)
        except Exception:  # one failing job must not stop the others, nor the loop
            log.exception("scheduled job %s failed", job.name)
        else:
            from backend.monitoring import job_succeeded

            job_succeeded(job.name, timezone.now())

    def run_forever(self) -> None:
        log.info("scheduler %s started", self.holder)
        while not self.stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            self.stop.wait(settings.SCHEDULER_TICK)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="gridcase-scheduler", daemon=True)
        thread.start()
        return thread
