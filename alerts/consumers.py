"""WebSocket consumers. They relay; they don't decide (STYLE.md rule 21): access comes from
cases.access, messages from the outbox, and nothing here writes to the database.

/ws/alerts/: the signed-in person's alerts. The client sends {"since": <last seq seen>} on every
(re)connect and gets everything after it from the database, in order, then live pushes; pushes it
already has are dropped, and a gap (a push lost in the layer) is filled from the database.

/ws/cases/: case state changes in what the person may see (the live map). Best effort: a client
reloads the list after reconnecting.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.generic.websocket import JsonWebsocketConsumer

from alerts.realtime import area_group, grid_group, unit_group, user_group
from people.models import CENTRE_ROLES, Role

REPLAY_LIMIT = 1000
CLOSE_UNAUTHENTICATED = 4401


class AlertConsumer(JsonWebsocketConsumer):
    def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.last_sent: int | None = None
        async_to_sync(self.channel_layer.group_add)(user_group(user.pk), self.channel_name)
        self.accept()

    def disconnect(self, code):
        if getattr(self, "user_id", None) is not None:
            async_to_sync(self.channel_layer.group_discard)(user_group(self.user_id), self.channel_name)

    def receive_json(self, content, **kwargs):
        since = content.get("since") if isinstance(content, dict) else None
        if isinstance(since, int) and since >= 0:
            self.last_sent = since
            self._replay()

    def alert(self, event):
        message = event["message"]
        seq = message["seq"]
        if self.last_sent is not None and seq <= self.last_sent:
            return  # already sent (replay and push overlapped, or a second relay)
        if self.last_sent is not None and seq > self.last_sent + 1:
            self._replay()  # a push went missing: the database has it
            return
        self.send_json(message)
        self.last_sent = seq

    def _replay(self) -> None:
        from alerts.models import Notification

        rows = (Notification.objects.filter(user_id=self.user_id, seq__gt=self.last_sent or 0)
                .order_by("seq").values_list("seq", "payload")[:REPLAY_LIMIT])
        for seq, payload in rows:
            self.send_json(payload)
            self.last_sent = seq


def live_groups_for(user) -> list[str]:
    """The live-map groups `user` may join (mirrors cases.access.case_scope)."""
    if user.is_superuser:
        return [area_group(None)]
    if user.role in CENTRE_ROLES and user.organisation_id:
        area = user.area
        return [area_group(area.code if area else None)]
    if user.role == Role.UNIT_MEMBER and user.organisation_id:
        return [unit_group(user.organisation_id)]
    if user.role == Role.OFFICER:
        return [grid_group(g) for g in user.grid_assignments.values_list("grid_id", flat=True)]
    return []


class CaseStreamConsumer(JsonWebsocketConsumer):
    def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = live_groups_for(user)
        for group in self.groups_joined:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.accept()

    def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def case_changed(self, event):
        self.send_json(event["message"])
