"""Quick budget: schemathesis over every operation of the OpenAPI schema, as a shift leader (a
centre role who sees the whole city, every console and metrics endpoint) and anonymously; over
every Open311 operation (open311/openapi.py); and statefully, following the schema's links from
a created case to reading, acting on and listing it. The long budget is
tests/reliability/test_schema_fuzz_long.py (`make reliability`)."""

from __future__ import annotations

import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, Status
from people.tokens import key_for
from tests.cast import IN_A, case_in, jpeg_bytes, make_cast
from tests.schema_fuzz import fuzz, load_open311_schema, load_schema, stateful, with_known_ids

pytestmark = pytest.mark.django_db
QUICK_EXAMPLES = 8


def seeded_world() -> dict:
    """A small city with cases in several states, one with a photo, so detail, action, photo and
    console endpoints are exercised on real rows; returns the ids schemathesis may draw from."""
    cast = make_cast()
    cases = [
        case_in(cast, status)
        for status in (Status.REPORTED, Status.DISPATCHING, Status.HANDLING, Status.CHECKING)
    ]
    client = cast.client(cast.officer)
    response = client.post(
        "/api/cases/",
        {
            "category": cast.category.pk,
            "lon": 120.7005,
            "lat": 31.3005,
            "description": "带照片",
            "photos": SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg"),
        },
        HTTP_IDEMPOTENCY_KEY="seed-photo",
    )
    assert response.status_code == 201, response.content
    photo_ids = [p["id"] for p in response.json()["photos"]]
    return {
        "cast": cast,
        "ids": {
            "id": [c.pk for c in cases] + [response.json()["id"]] + photo_ids,
            "code": [cast.grid.code, cast.other_grid.code],
            "kind": ["thumbnail", "public", "original"],
            "fmt": ["csv", "xlsx"],
        },
    }


def throwaway_tokens(like):
    """Tokens of new people with `like`'s role and organisation, one per call: logout, renew and
    revoke end them, never the fuzzing person's own token (ids drawn from real rows may name it)."""
    import uuid

    from tests.factories import make_user

    def fresh() -> str:
        return key_for(
            make_user(
                role=like.role,
                username=f"fuzz-{uuid.uuid4().hex[:12]}",
                organisation=like.organisation,
            )
        )

    return fresh


@pytest.mark.parametrize("who", ["shift_leader", "anonymous"])
def test_every_operation_answers_without_5xx_and_as_documented(who):
    world = seeded_world()
    headers = {}
    if who != "anonymous":
        user = getattr(world["cast"], who)
        headers["Authorization"] = f"Token {key_for(user)}"
    schema = with_known_ids(load_schema(), world["ids"])
    fresh = throwaway_tokens(getattr(world["cast"], who)) if who != "anonymous" else None
    run = fuzz(schema, headers=headers, max_examples=QUICK_EXAMPLES, label=who, fresh_token=fresh)
    print(
        f"schema fuzz [{who}]: {run.operations} operations, {run.requests} requests, "
        f"{run.seconds:.1f} s, statuses {dict(sorted(run.statuses.items()))} {run.by_operation}"
    )
    assert run.operations >= 25, "the schema lost operations"
    assert not run.failures, "\n\n".join(run.failures)


def test_every_open311_operation_answers_without_5xx():
    world = seeded_world()
    case_numbers = list(Case.objects.values_list("number", flat=True))
    schema = with_known_ids(
        load_open311_schema(),
        {"request_id": case_numbers, "code": [str(world["cast"].category.pk)]},
    )
    run = fuzz(schema, headers={}, max_examples=QUICK_EXAMPLES * 2, label="open311")
    print(
        f"open311 fuzz: {run.operations} operations, {run.requests} requests, {run.seconds:.1f} s, "
        f"statuses {dict(sorted(run.statuses.items()))} {run.by_operation}"
    )
    assert run.operations >= 7 and not run.failures, "\n\n".join(run.failures)


def known_case_body(cast):
    """Half of the generated reports are a plain valid report (a real category, a point in the
    officer's grid), and half of the generated case lists ask for no filter, so creations succeed,
    lists name the officer's cases, and the links from both are followed. The other halves stay as
    generated (and the stateless runs fuzz every field): the run's randomness then decides only which
    operations are called, never whether a link can lead anywhere."""

    def prepare(case) -> None:
        # Which half: decided by what was generated (never by case.id, a fresh uuid), so the same
        # choices give the same requests when Hypothesis replays them.
        if zlib.crc32(repr((case.query, case.body)).encode()) % 2:
            return
        operation = (case.operation.method.upper(), case.operation.path)
        if operation == ("POST", "/api/cases/") and isinstance(case.body, dict):
            case.body = {
                "category": cast.category.pk,
                "lon": IN_A[0],
                "lat": IN_A[1],
                "description": "fuzz: a plain report",
                "self_handle": False,
            }
        elif operation == ("GET", "/api/cases/"):
            case.query = {}

    return prepare


def test_stateful_sequences_follow_the_links_without_5xx():
    world = seeded_world()
    cast = world["cast"]
    headers = {"Authorization": f"Token {key_for(cast.officer)}"}
    run = stateful(
        load_schema(links=True),
        headers=headers,
        scenarios=QUICK_EXAMPLES * 5,
        label="officer",
        prepare=known_case_body(cast),
        fresh_token=throwaway_tokens(cast.officer),
    )
    print(
        f"stateful: {run.requests} requests, {run.seconds:.1f} s, statuses "
        f"{dict(sorted(run.statuses.items()))}, by operation {run.by_operation}"
    )
    assert not run.failures, "\n\n".join(run.failures)
    assert run.requests >= QUICK_EXAMPLES * 5
    # Links were followed: a case id taken from one answer was read in the next.
    assert run.by_operation.get("GET /api/cases/{id}", {}).get(200), run.by_operation
