"""Long budget of tests/test_schema_fuzz.py: many examples per operation, more roles."""

from __future__ import annotations

import os

import pytest
from people.tokens import key_for

from tests.schema_fuzz import fuzz, load_schema, with_known_ids
from tests.test_schema_fuzz import seeded_world

pytestmark = [pytest.mark.django_db, pytest.mark.long]
EXAMPLES = int(os.environ.get("RELIABILITY_SCHEMA_EXAMPLES", "100"))


@pytest.mark.parametrize("who", ["shift_leader", "officer", "unit_member", "public", "anonymous"])
def test_every_operation_answers_without_5xx_and_as_documented_long(who):
    world = seeded_world()
    headers = {}
    if who != "anonymous":
        headers["Authorization"] = f"Token {key_for(getattr(world['cast'], who))}"
    run = fuzz(with_known_ids(load_schema(), world["ids"]), headers=headers, max_examples=EXAMPLES, label=who)
    print(f"\nFIGURES schema fuzz [{who}]: {run.operations} operations, {run.requests} requests, {run.seconds:.1f} s, "
          f"statuses {dict(sorted(run.statuses.items()))}, failures {len(run.failures)}")
    assert not run.failures, "\n\n".join(run.failures)
