"""Alerts (docs/domain.md §9): who is told what, stored in the event's transaction, pushed over WebSocket,
replayed after a reconnect, refused to strangers."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from alerts.models import Kind, Notification
from cases.models import Status
from tests.cast import act, case_in, make_cast, photo_record, report

ORIGIN = (b"origin", b"http://testserver")


def told(**since) -> set[tuple[str, str]]:
    """(username, kind) of every notification (after an id, if given)."""
    rows = Notification.objects.filter(id__gt=since.get("after", 0)).select_related("user")
    return {(n.user.username, n.kind) for n in rows}


def last_id() -> int:
    return Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.django_db
def test_each_event_tells_exactly_the_people_domain_9_lists():
    cast = make_cast()
    mark = last_id()
    case = report(cast, by=cast.acceptor, source="hotline_12345")
    assert told(after=mark) == {("officer", Kind.NEW_REPORT), ("acceptor", Kind.NEW_REPORT)}
    steps = [
        ("send_verify", cast.acceptor, {}, {("officer", Kind.VERIFY_TASK)}),
        ("verify", cast.officer, {"outcome": "confirmed"}, set()),
        ("accept", cast.acceptor, {}, set()),
        ("register", cast.shift_leader, {}, set()),
        ("supervise", cast.shift_leader, {}, {("dispatcher", Kind.SUPERVISED)}),
        ("dispatch", cast.dispatcher, {"unit": cast.unit}, {("unit", Kind.DISPATCHED)}),
        (
            "request_extension",
            cast.unit_member,
            {"reason": "量大", "amount_minutes": 60},
            {("dispatcher", Kind.APPROVAL_REQUEST)},
        ),
        ("approve_extension", cast.dispatcher, {}, {("unit", Kind.REQUEST_ANSWERED)}),
        ("supervise", cast.viewer, {}, {("unit", Kind.SUPERVISED)}),
        (
            "feedback",
            cast.unit_member,
            {"photos": [photo_record()]},
            {("officer", Kind.CHECK_TASK)},
        ),
        ("check", cast.officer, {"outcome": "fail", "reason": "残留"}, {("unit", Kind.REWORK)}),
        (
            "request_return",
            cast.unit_member,
            {"reason": "非本单位职责"},
            {("dispatcher", Kind.APPROVAL_REQUEST)},
        ),
    ]
    for action, actor, inputs, expected in steps:
        mark = last_id()
        case = act(case, action, actor, **inputs)
        assert told(after=mark) == expected, action
    strangers = {"officer_b", "unit2", "citizen"}
    assert not Notification.objects.filter(user__username__in=strangers).exists()


@pytest.mark.django_db
def test_an_officers_own_report_does_not_alert_them_but_tells_the_acceptors():
    cast = make_cast()
    mark = last_id()
    report(cast)
    assert told(after=mark) == {("acceptor", Kind.NEW_REPORT)}


@pytest.mark.django_db
def test_sequence_numbers_are_per_user_and_gapless():
    cast = make_cast()
    for _ in range(3):
        report(cast)
    seqs = list(
        Notification.objects.filter(user=cast.acceptor)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == [1, 2, 3]


@pytest.mark.django_db
def test_a_rolled_back_event_leaves_no_alert():
    cast = make_cast()
    case = case_in(cast, Status.DISPATCHING)
    mark = last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        act(case, "dispatch", cast.dispatcher, unit=cast.unit)
        raise RuntimeError("the request failed after the transition")
    assert last_id() == mark


@pytest.mark.django_db
def test_unread_count_and_marking_read_over_http():
    cast = make_cast()
    for _ in range(3):
        report(cast)
    client = cast.client(cast.acceptor)
    body = client.get("/api/alerts/", {"since": 1}).json()
    assert [a["seq"] for a in body["results"]] == [2, 3] and body["unread"] == 3
    assert body["results"][0]["type"] == "new_report" and body["results"][0]["case"]["number"]
    assert client.post(
        "/api/alerts/read", {"up_to": 2}, content_type="application/json"
    ).json() == {"unread": 1}
    assert client.get("/api/alerts/unread").json() == {"unread": 1}
    assert client.post("/api/alerts/read", {}, content_type="application/json").status_code == 400


# --- over the real ASGI stack ----------------------------------------------------------------


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


async def connect(path: str, headers) -> WebsocketCommunicator:
    from backend.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _code = await communicator.connect()
    assert connected
    return communicator


async def receive_all(communicator, *, timeout: float = 1.0) -> list[dict]:
    """Every message that arrives until `timeout` passes quietly (without cancelling the app)."""
    got = []
    while not await communicator.receive_nothing(timeout=timeout, interval=0.02):
        got.append(await communicator.receive_json_from())
    return got


@pytest.mark.django_db(transaction=True)
def test_dispatch_reaches_the_unit_socket_and_reconnect_replays_exactly_what_was_missed():
    cast = make_cast()
    case = case_in(cast, Status.DISPATCHING)
    headers = session_headers(cast.unit_member)

    async def scenario():
        socket = await connect("/ws/alerts/", headers)
        await socket.send_json_to({"since": 0})
        await sync_to_async(act)(case, "dispatch", cast.dispatcher, unit=cast.unit)
        first = await socket.receive_json_from(timeout=2)
        assert (
            first["type"] == "dispatched"
            and first["seq"] == 1
            and first["case"]["number"] == case.number
        )
        assert (
            set(first) == {"seq", "type", "at", "case", "link"}
            and first["link"] == f"/desk/?case={case.pk}"
        )
        assert set(first["case"]) >= {"id", "number", "status", "grid", "category", "light"}
        await socket.disconnect()
        current = case
        for action, actor, inputs in [
            ("supervise", cast.shift_leader, {}),
            ("feedback", cast.unit_member, {"photos": [photo_record()]}),
            ("check", cast.officer, {"outcome": "fail", "reason": "返工"}),
        ]:
            current = await sync_to_async(act)(current, action, actor, **inputs)
        again = await connect("/ws/alerts/", headers)
        await again.send_json_to({"since": 1})
        missed = await receive_all(again, timeout=1.5)
        await again.disconnect()
        return missed

    missed = async_to_sync(scenario)()
    assert [(m["seq"], m["type"]) for m in missed] == [(2, "supervised"), (3, "rework")]


@pytest.mark.django_db(transaction=True)
def test_an_officer_of_another_grid_receives_nothing():
    cast = make_cast()
    headers = session_headers(cast.officer_elsewhere)

    async def scenario():
        socket = await connect("/ws/alerts/", headers)
        await socket.send_json_to({"since": 0})
        await sync_to_async(case_in)(cast, Status.CHECKING)
        got = await receive_all(socket, timeout=1.0)
        await socket.disconnect()
        return got

    assert async_to_sync(scenario)() == []


@pytest.mark.django_db(transaction=True)
def test_anonymous_and_cross_origin_sockets_are_refused():
    cast = make_cast()

    async def attempt(headers):
        from backend.asgi import application

        communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(attempt)([ORIGIN]) == (False, 4401)
    cookie = [h for h in session_headers(cast.officer) if h[0] == b"cookie"]
    connected, _ = async_to_sync(attempt)([(b"origin", b"http://evil.example"), *cookie])
    assert connected is False


@pytest.mark.django_db(transaction=True)
def test_a_token_authenticates_a_socket():
    from people.tokens import key_for

    cast = make_cast()
    key = key_for(cast.acceptor)

    async def scenario():
        socket = await connect(f"/ws/alerts/?token={key}", [ORIGIN])
        await socket.send_json_to({"since": 0})
        await sync_to_async(report)(cast)
        got = await receive_all(socket, timeout=1.5)
        await socket.disconnect()
        return got

    assert [m["type"] for m in async_to_sync(scenario)()] == ["new_report"]


@pytest.mark.django_db(transaction=True)
def test_the_live_map_stream_shows_changes_in_the_callers_area_only():
    cast = make_cast()
    dispatcher, elsewhere = (
        session_headers(cast.dispatcher),
        session_headers(cast.officer_elsewhere),
    )

    async def scenario():
        centre = await connect("/ws/cases/", dispatcher)
        stranger = await connect("/ws/cases/", elsewhere)
        case = await sync_to_async(report)(cast)
        got = await receive_all(centre, timeout=1.5)
        nothing = await receive_all(stranger, timeout=0.5)
        await centre.disconnect()
        await stranger.disconnect()
        return case, got, nothing

    case, got, nothing = async_to_sync(scenario)()
    assert [(m["type"], m["action"], m["case"]["number"]) for m in got] == [
        ("case.changed", "report", case.number)
    ]
    assert nothing == []


@pytest.mark.django_db(transaction=True)
def test_a_push_is_written_from_the_event_loop_without_a_thread_hop(monkeypatch):
    """Channels' consumers hop to the sync thread (close_old_connections) before every message;
    with 1,000 sockets that serialised every push behind 1,000 hops (bench/fanout.py: p50 490 →
    160 ms without it). Ours do not hop for a push: count the hops while 20 pushes go out."""
    import channels.consumer
    from channels.layers import get_channel_layer

    from alerts.realtime import user_group

    cast = make_cast()
    headers = session_headers(cast.unit_member)
    hops = []
    original = channels.consumer.aclose_old_connections

    async def counted():
        hops.append(1)
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)

    async def scenario():
        socket = await connect("/ws/alerts/", headers)
        await socket.send_json_to({"since": 0})
        assert await socket.receive_nothing(timeout=0.3)  # live now, nothing stored
        before = len(hops)
        layer = get_channel_layer()
        for seq in range(1, 21):
            message = {"seq": seq, "type": "dispatched", "at": "2026-12-03T08:00:00+08:00"}
            await layer.group_send(
                user_group(cast.unit_member.pk), {"type": "alert", "message": message}
            )
        got = [(await socket.receive_json_from(timeout=2))["seq"] for _ in range(20)]
        pushed_hops = len(hops) - before
        await socket.disconnect()
        return got, pushed_hops

    got, pushed_hops = async_to_sync(scenario)()
    assert got == list(range(1, 21))
    assert pushed_hops == 0
