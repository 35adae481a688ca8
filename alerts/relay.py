"""The outbox relay: pushes stored notifications (and live-map changes) to the channel layer.

It runs as an asyncio task inside each ASGI server process (started by `RelayStarter` around the
ASGI application), so `group_send` happens on the server's own event loop — correct for the
in-memory layer and for Redis — and never inside an HTTP request (docs/reliability.md §0.4–6: a slow
or dead Redis must not slow or fail the API). Requests only wake it after commit.

Rows are claimed before pushing; several relays (one per worker) never push a row twice, and a
claim left by a dead relay expires after CLAIM_TIMEOUT. Delivery is at-least-once; clients
dedupe by `seq` and catch up with `{"since": seq}`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import threading
import uuid
from collections import deque

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from alerts.consumers import CATCH_UP_SECONDS, catch_up
from alerts.realtime import user_group

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
CLAIM_TIMEOUT = dt.timedelta(seconds=30)
BATCH = 500
SEND_TIMEOUT = 2.0

_loop: asyncio.AbstractEventLoop | None = None
_event: asyncio.Event | None = None
_live: deque = deque(maxlen=10_000)


def wake() -> None:
    """Called after a commit that stored notifications; never blocks, never touches the network."""
    loop, event = _loop, _event
    if loop is None or event is None or loop.is_closed():
        return  # no relay in this process (a WSGI worker, a command): another process polls
    try:
        loop.call_soon_threadsafe(event.set)
    except RuntimeError:  # the loop closed between the check and the call
        pass


def queue_live(message: dict, groups: list[str]) -> None:
    """A best-effort live-map change (clients reload on reconnect); pushed by the relay."""
    _live.append((message, groups))
    wake()


def _in_own_connection(function):
    """Run in a worker thread and hand the connection back (to the pool) when done."""

    def run(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return sync_to_async(run, thread_sensitive=False)


def _claim(limit: int = BATCH) -> list[tuple[int, int, dict]]:
    """Claim unpushed rows; return (id, user id, payload), oldest first."""
    from alerts.models import Notification

    now = timezone.now()
    claim = uuid.uuid4().hex
    claimable = Q(pushed_at__isnull=True) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    )
    ids = list(
        Notification.objects.filter(claimable).order_by("id").values_list("id", flat=True)[:limit]
    )
    if not ids:
        return []
    Notification.objects.filter(claimable, id__in=ids).update(claim=claim, claimed_at=now)
    return list(
        Notification.objects.filter(claim=claim, pushed_at__isnull=True)
        .order_by("id")
        .values_list("id", "user_id", "payload")
    )


def _mark_pushed(ids: list[int]) -> None:
    from alerts.models import Notification

    Notification.objects.filter(id__in=ids).update(pushed_at=timezone.now())


async def push_pending() -> int:
    """Push every claimable row once. Returns how many were pushed."""
    layer = get_channel_layer()
    total = 0
    while rows := await _in_own_connection(_claim)():
        pushed = []
        try:
            for row_id, user_id, payload in rows:
                await asyncio.wait_for(
                    layer.group_send(user_group(user_id), {"type": "alert", "message": payload}),
                    SEND_TIMEOUT,
                )
                pushed.append(row_id)
        finally:
            if pushed:
                await _in_own_connection(_mark_pushed)(pushed)
        total += len(pushed)
    return total


async def push_live() -> int:
    layer = get_channel_layer()
    sent = 0
    while _live:
        message, groups = _live.popleft()
        for group in groups:
            await asyncio.wait_for(
                layer.group_send(group, {"type": "case.changed", "message": message}), SEND_TIMEOUT
            )
        sent += 1
    return sent


async def run_forever(*, poll: bool = True) -> None:
    """Wake on commit or every POLL_SECONDS (rows written by other processes); back off on errors.
    `poll=False` (a WSGI worker's relay thread): wake on this process's commits only; what it
    leaves, the ASGI relays' polls pick up."""
    global _loop, _event
    _loop, _event = asyncio.get_running_loop(), asyncio.Event()
    idle = POLL_SECONDS if poll else None
    delay = idle
    caught_up = _loop.time()
    while True:
        try:
            await asyncio.wait_for(_event.wait(), delay)
        except TimeoutError:
            pass
        _event.clear()
        try:
            await push_live()
            await push_pending()
            delay = idle
        except Exception:  # the layer is down or slow: keep the rows, try again later
            log.warning("alert relay could not push; retrying", exc_info=True)
            delay = min((delay or POLL_SECONDS) * 2, 10.0)
        if _loop.time() - caught_up >= CATCH_UP_SECONDS:  # pushes the layer lost: from the database
            caught_up = _loop.time()
            try:
                await catch_up()
            except Exception:
                log.warning("alert catch-up failed; retrying", exc_info=True)


class RelayStarter:
    """ASGI wrapper that starts the relay on the server's event loop at its first connection."""

    def __init__(self, app) -> None:
        self.app = app
        self.task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(run_forever())
        return await self.app(scope, receive, send)


def _layer_spans_processes() -> bool:
    """An in-memory layer only reaches this process's sockets, and a WSGI worker holds none."""
    from channels.layers import InMemoryChannelLayer

    return not isinstance(get_channel_layer(), InMemoryChannelLayer)


class RelayThreadStarter:
    """WSGI wrapper: a WSGI worker has no event loop, so its relay runs on a loop of its own in a
    daemon thread, started at the worker's first request (after gunicorn forks) and woken by this
    process's commits. Without it, live-map changes made through the REST API on WSGI would never be
    pushed (they are queued in memory, not stored) and alerts would wait for an ASGI relay's poll."""

    def __init__(self, app) -> None:
        self.app = app
        self.pid: int | None = None
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid() and _layer_spans_processes():
                    threading.Thread(
                        target=lambda: asyncio.run(run_forever(poll=False)),
                        name="alert-relay",
                        daemon=True,
                    ).start()
                self.pid = os.getpid()
        return self.app(environ, start_response)
