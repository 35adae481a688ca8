"""WebSocket consumers. They relay; they don't decide (a house rule): access comes from
cases.access (`live_groups_for`), messages from the outbox, and nothing here writes to the
database.

They are async consumers, by measurement (bench/fanout): with sync consumers every pushed message
hops to the one sync thread, so one alert to 1,000 sockets took 1.8 s at the median; async
handlers send straight from the event loop.

/ws/alerts/: the signed-in person's alerts. The client sends {"since": <last seq seen>} on every
(re)connect and gets everything after it from the database, in order, then live pushes; pushes it
already has are dropped, and a gap (a push lost in the layer) is filled from the database.

/ws/cases/: case state changes in what the person may see (the live map). Best effort: a client
reloads the list after reconnecting.
"""

from __future__ import annotations

import asyncio
import weakref

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from alerts.realtime import user_group

REPLAY_LIMIT = 1000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
SINCE_GRACE = 1.0
CATCH_UP_SECONDS = 5.0
_open: weakref.WeakSet = weakref.WeakSet()  # this process's live alert sockets


class Consumer(AsyncJsonWebsocketConsumer):
    """Channels' async consumer without its per-message thread hop. `AsyncConsumer.dispatch`
    runs `close_old_connections()` through `sync_to_async` — on the one thread-sensitive thread —
    before every message it hands to a handler. One alert to 1,000 sockets of a process is 1,000
    such hops in a row, and no socket is written before the last one is done: measured
    (bench/fanout.py, one Daphne, in-memory layer) p50 490 ms at 1,000 sockets, p50 78 ms at 200,
    with the hop 85 % of the loop's time. Our handlers never touch the database on the event
    loop's thread: every query runs in `database_sync_to_async`, which closes stale connections
    itself, before and after, in the thread that uses them. So the hop guards nothing here."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


def _authenticated(scope) -> bool:
    user = scope.get("user")
    return user is not None and user.is_authenticated and user.is_active


@database_sync_to_async
def _stored_after(user_id: int, since: int) -> list[tuple[int, dict]]:
    from alerts.models import Notification

    return list(
        Notification.objects.filter(user_id=user_id, seq__gt=since)
        .order_by("seq")
        .values_list("seq", "payload")[:REPLAY_LIMIT]
    )


class AlertConsumer(Consumer):
    """Pushes that arrive before the client's {"since": n} are held back, so a reconnecting
    client gets its missed alerts first, in order, and nothing twice. A client that never sends
    `since` gets live pushes after SINCE_GRACE seconds."""

    async def connect(self):
        if not _authenticated(self.scope):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = self.scope["user"].pk
        self.last_sent: int | None = None
        self.held: list[dict] | None = []  # None once live
        self.sending = (
            asyncio.Lock()
        )  # the timer and catch_up() run beside the consumer's own messages
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.accept()
        _open.add(self)
        asyncio.get_running_loop().call_later(
            SINCE_GRACE, lambda: asyncio.ensure_future(self._go_live())
        )

    async def disconnect(self, code):
        self.held = None
        _open.discard(self)
        if getattr(self, "user_id", None) is not None:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        since = content.get("since") if isinstance(content, dict) else None
        if isinstance(since, int) and since >= 0:
            async with self.sending:
                self.last_sent = since
                await self._replay()
                await self._go_live_locked()

    async def _go_live(self) -> None:
        async with self.sending:
            await self._go_live_locked()

    async def _go_live_locked(self) -> None:
        held, self.held = self.held, None
        for message in held or []:
            await self._deliver(message)

    async def alert(self, event):
        async with self.sending:
            if self.held is not None:
                if len(self.held) < REPLAY_LIMIT:
                    self.held.append(event["message"])
                return
            await self._deliver(event["message"])

    async def catch_up(self, latest: int) -> bool:
        """Replay from the database if it holds more than this socket was sent."""
        async with self.sending:
            if self.held is not None or self.last_sent is None or latest <= self.last_sent:
                return False
            await self._replay()
            return True

    async def _deliver(self, message: dict) -> None:
        seq = message["seq"]
        if self.last_sent is not None and seq <= self.last_sent:
            return  # already sent (replay and push overlapped, or a second relay)
        if self.last_sent is not None and seq > self.last_sent + 1:
            await self._replay()  # a push went missing: the database has it
            return
        await self.send_json(message)
        self.last_sent = seq

    async def _replay(self) -> None:
        for seq, payload in await _stored_after(self.user_id, self.last_sent or 0):
            if seq > (self.last_sent or 0):
                await self.send_json(payload)
                self.last_sent = seq


@database_sync_to_async
def _latest_seqs(user_ids: set[int]) -> dict[int, int]:
    from django.db.models import Max

    from alerts.models import Notification

    return dict(
        Notification.objects.filter(user_id__in=user_ids)
        .values("user_id")
        .annotate(latest=Max("seq"))
        .values_list("user_id", "latest")
    )


async def catch_up() -> int:
    """The safety net under the layer (docs/reliability.md R8, R9): a push can be lost without the
    relay knowing — e.g. published after a Redis restart but before this process re-subscribed
    its groups — and with no later push there is no gap to notice. Every CATCH_UP_SECONDS the
    relay asks here: one grouped query for this process's live sockets; a socket behind the
    database replays. Returns how many did."""
    sockets = [c for c in list(_open) if c.held is None and c.last_sent is not None]
    if not sockets:
        return 0
    latest = await _latest_seqs({c.user_id for c in sockets})
    done = 0
    for consumer in sockets:
        done += await consumer.catch_up(latest.get(consumer.user_id, 0))
    return done


@database_sync_to_async
def live_groups_for(user) -> list[str]:
    """The live-map groups `user` may join: cases.access decides (the same rule as every list)."""
    from cases import access

    return access.live_groups_for(user)


class CaseStreamConsumer(Consumer):
    async def connect(self):
        if not _authenticated(self.scope):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = await live_groups_for(self.scope["user"])
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def case_changed(self, event):
        await self.send_json(event["message"])


class NotFoundConsumer(Consumer):
    """Any other /ws/ path: refused with 4404 (Channels' router would raise, a 500)."""

    async def connect(self):
        await self.close(code=CLOSE_NOT_FOUND)
