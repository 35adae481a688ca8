"""Issue #16, items 1–4: nothing is written when a request is refused — no case, no idempotency
result, no photo file — whatever the interleaving of retries."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, CaseEvent, IdempotencyRecord, Photo, Status
from people.tokens import key_for
from tests.cast import IN_A, case_in, jpeg_bytes, make_cast

pytestmark = pytest.mark.django_db
IN_B = (120.7605, 31.3305)


def _body(cast, **overrides) -> dict:
    return {
        "category": cast.category.pk,
        "lon": IN_A[0],
        "lat": IN_A[1],
        "description": "占道堆物",
        **overrides,
    }


def _unique_jpeg(name: str = "p.jpg") -> SimpleUploadedFile:
    """A photo no other test stored (files are named by content hash)."""
    color = tuple(uuid.uuid4().bytes[:3])
    return SimpleUploadedFile(name, jpeg_bytes(color=color), content_type="image/jpeg")


def _media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


# --- 1. report + self_handle is one transaction ---------------------------------------------------


@pytest.mark.parametrize(
    "where, photo, expected",
    [
        ("own grid", False, 400),  # no after-photo
        ("other grid", True, 403),  # not the officer's grid
    ],
)
def test_a_refused_self_handle_stores_no_case_even_when_retried(where, photo, expected):
    cast = make_cast()
    client = cast.client(cast.officer)
    at = IN_A if where == "own grid" else IN_B
    before = _media_files()
    for _attempt in range(3):  # the same Idempotency-Key each time, as the offline queue retries
        data = {**_body(cast, lon=at[0], lat=at[1]), "self_handle": "true"}
        if photo:
            data["photos"] = _unique_jpeg()
        response = client.post("/api/cases/", data, HTTP_IDEMPOTENCY_KEY="self-handle-key")
        assert response.status_code == expected, response.content
        assert response.json()
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()
    assert _media_files() == before


def test_an_allowed_self_handle_is_reported_and_closing_in_one_answer():
    cast = make_cast()
    response = cast.client(cast.officer).post(
        "/api/cases/",
        {**_body(cast), "self_handle": "true", "photos": _unique_jpeg()},
        HTTP_IDEMPOTENCY_KEY="ok-self-handle",
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert case.status == Status.CLOSING
    assert list(case.events.order_by("seq").values_list("action", flat=True)) == [
        "report",
        "self_handle",
    ]
    assert Photo.objects.filter(case=case, stage="self_handle").count() == 1
    assert response.json()["status"] == Status.CLOSING


def test_a_public_reporter_cannot_self_handle_and_nothing_is_stored():
    cast = make_cast()
    response = cast.client(cast.public).post(
        "/api/cases/",
        {**_body(cast), "self_handle": "true", "photos": _unique_jpeg()},
        HTTP_IDEMPOTENCY_KEY="public-self-handle",
    )
    assert response.status_code == 403, response.content
    assert not Case.objects.exists()


# --- 2. JSON inputs are bounded and validated before writing --------------------------------------


def _nested(depth: int) -> dict:
    value: dict = {"x": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "field, value",
    [
        ("attributes", _nested(300)),
        ("attributes", {f"k{i}": "x" * 100 for i in range(400)}),  # 40 kB
        ("contact", _nested(300)),
    ],
)
def test_deep_or_large_json_inputs_are_refused_before_anything_is_written(field, value):
    cast = make_cast()
    client = cast.client(cast.officer)
    for _attempt in range(2):
        response = client.post(
            "/api/cases/",
            json.dumps(_body(cast, **{field: value})),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="deep-json",
        )
        assert response.status_code == 400, response.content[:300]
        assert field in response.json()
    assert not Case.objects.exists() and not IdempotencyRecord.objects.exists()


def test_deep_json_in_a_multipart_field_is_refused_too():
    cast = make_cast()
    response = cast.client(cast.officer).post(
        "/api/cases/",
        {**_body(cast), "attributes": json.dumps(_nested(300))},
        HTTP_IDEMPOTENCY_KEY="deep-form",
    )
    assert response.status_code == 400, response.content[:300]
    assert "attributes" in response.json()
    assert not Case.objects.exists()


# --- 3. the idempotency race with a refused body --------------------------------------------------


def _post(url: str, token: str, body: bytes, key: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_refused_creates_with_one_key_never_answer_500(live_server):
    cast = make_cast()
    token = key_for(cast.officer)
    refused = json.dumps(_body(cast, category=10**9)).encode()  # no such category: 400
    codes: list[int] = []
    for round_ in range(5):
        barrier = threading.Barrier(20)
        lock = threading.Lock()

        def run(key=f"race-{round_}", barrier=barrier, lock=lock) -> None:
            barrier.wait()
            code = _post(f"{live_server.url}/api/cases/", token, refused, key)
            with lock:
                codes.append(code)

        threads = [threading.Thread(target=run) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(codes) == 100
    assert set(codes) <= {400, 409}, sorted(codes)
    assert not Case.objects.exists() and not IdempotencyRecord.objects.exists()


# --- 4. photos of a refused request are never written ---------------------------------------------


def test_a_bad_photo_among_good_ones_writes_no_file():
    cast = make_cast()
    before = _media_files()
    bad = SimpleUploadedFile("bad.jpg", b"not an image at all", content_type="image/jpeg")
    response = cast.client(cast.officer).post(
        "/api/cases/",
        {**_body(cast), "photos": [_unique_jpeg("a.jpg"), _unique_jpeg("b.jpg"), bad]},
        HTTP_IDEMPOTENCY_KEY="bad-photo",
    )
    assert response.status_code == 400 and "bad.jpg" in response.json()["photos"][0]
    assert _media_files() == before and not Case.objects.exists()


@pytest.mark.parametrize(
    "who, action",
    [("viewer", "feedback"), ("other_unit_member", "feedback"), ("unit_member", "check")],
)
def test_photos_sent_with_a_refused_action_are_not_written(who, action):
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    before = _media_files()
    response = cast.client(getattr(cast, who)).post(
        f"/api/cases/{case.pk}/transition",
        {"action": action, "version": case.version, "outcome": "pass", "photos": _unique_jpeg()},
    )
    assert response.status_code in (403, 404, 409), response.content
    assert _media_files() == before
    assert not Photo.objects.filter(case=case, stage=action).exists()


def test_photos_of_an_allowed_action_are_written():
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    before = _media_files()
    response = cast.client(cast.unit_member).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "feedback", "version": case.version, "photos": _unique_jpeg()},
    )
    assert response.status_code == 200, response.content
    assert len(_media_files() - before) == 3  # original, public copy, thumbnail
    assert os.path.exists(
        Path(settings.MEDIA_ROOT) / Photo.objects.get(case=case, stage="feedback").public
    )
