"""Quick budget: schemathesis over every operation of the OpenAPI schema, as a shift leader (a
centre role who sees the whole city, every console and metrics endpoint) and anonymously. The
long budget is tests/reliability/test_schema_fuzz_long.py (`make reliability`)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from people.tokens import key_for

from cases.models import Status
from tests.cast import case_in, jpeg_bytes, make_cast
from tests.schema_fuzz import fuzz, load_schema, with_known_ids

pytestmark = pytest.mark.django_db
QUICK_EXAMPLES = 8


def seeded_world() -> dict:
    """A small city with cases in several states, one with a photo, so detail, action, photo and
    console endpoints are exercised on real rows; returns the ids schemathesis may draw from."""
    cast = make_cast()
    cases = [case_in(cast, status) for status in (Status.REPORTED, Status.DISPATCHING, Status.HANDLING,
                                                   Status.CHECKING)]
    client = cast.client(cast.officer)
    response = client.post("/api/cases/", {"category": cast.category.pk, "lon": 120.7005, "lat": 31.3005,
                                           "description": "带照片", "photos": SimpleUploadedFile(
                                               "p.jpg", jpeg_bytes(), content_type="image/jpeg")},
                           HTTP_IDEMPOTENCY_KEY="seed-photo")
    assert response.status_code == 201, response.content
    photo_ids = [p["id"] for p in response.json()["photos"]]
    return {"cast": cast, "ids": {"id": [c.pk for c in cases] + [response.json()["id"]] + photo_ids,
                                  "code": [cast.grid.code, cast.other_grid.code],
                                  "kind": ["thumbnail", "public", "original"], "fmt": ["csv", "xlsx"]}}


@pytest.mark.parametrize("who", ["shift_leader", "anonymous"])
def test_every_operation_answers_without_5xx_and_as_documented(who):
    world = seeded_world()
    headers = {}
    if who != "anonymous":
        user = getattr(world["cast"], who)
        headers["Authorization"] = f"Token {key_for(user)}"
    schema = with_known_ids(load_schema(), world["ids"])
    run = fuzz(schema, headers=headers, max_examples=QUICK_EXAMPLES, label=who)
    print(f"schema fuzz [{who}]: {run.operations} operations, {run.requests} requests, "
          f"{run.seconds:.1f} s, statuses {dict(sorted(run.statuses.items()))}")
    assert run.operations >= 25, "the schema lost operations"
    assert not run.failures, "\n\n".join(run.failures)
