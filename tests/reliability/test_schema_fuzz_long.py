"""Long budget of tests/reliability/test_schema_fuzz.py: many examples per operation, more roles."""

from __future__ import annotations

import os

import pytest

from people.tokens import key_for
from tests.reliability.test_schema_fuzz import known_case_body, seeded_world, throwaway_tokens
from tests.schema_fuzz import fuzz, load_open311_schema, load_schema, stateful, with_known_ids

pytestmark = [pytest.mark.django_db, pytest.mark.long]
EXAMPLES = int(os.environ.get("RELIABILITY_SCHEMA_EXAMPLES", "100"))


@pytest.mark.parametrize("who", ["shift_leader", "officer", "unit_member", "public", "anonymous"])
def test_every_operation_answers_without_5xx_and_as_documented_long(who):
    world = seeded_world()
    headers = {}
    if who != "anonymous":
        headers["Authorization"] = f"Token {key_for(getattr(world['cast'], who))}"
    fresh = throwaway_tokens(getattr(world["cast"], who)) if who != "anonymous" else None
    run = fuzz(
        with_known_ids(load_schema(), world["ids"]),
        headers=headers,
        max_examples=EXAMPLES,
        label=who,
        fresh_token=fresh,
    )
    print(
        f"\nFIGURES schema fuzz [{who}]: {run.operations} operations, {run.requests} requests, {run.seconds:.1f} s, "
        f"statuses {dict(sorted(run.statuses.items()))}, failures {len(run.failures)}"
    )
    assert not run.failures, "\n\n".join(run.failures)


def test_five_thousand_cases_over_the_api_open311_and_linked_sequences_without_a_5xx():
    """Issue #16 G: at least 5,000 generated cases in one run — every API operation as a shift
    leader, every Open311 operation anonymously, and stateful sequences along the links as an
    officer — and not one 5xx."""
    from cases.models import Case

    world = seeded_world()
    cast = world["cast"]
    leader = {"Authorization": f"Token {key_for(cast.shift_leader)}"}
    runs = [
        fuzz(
            with_known_ids(load_schema(), world["ids"]),
            headers=leader,
            max_examples=EXAMPLES,
            label="shift_leader",
            fresh_token=throwaway_tokens(cast.shift_leader),
        )
    ]
    numbers = list(Case.objects.values_list("number", flat=True))
    runs.append(
        fuzz(
            with_known_ids(
                load_open311_schema(), {"request_id": numbers, "code": [str(cast.category.pk)]}
            ),
            headers={},
            max_examples=EXAMPLES * 3,
            label="open311",
        )
    )
    runs.append(
        stateful(
            load_schema(links=True),
            headers={"Authorization": f"Token {key_for(cast.officer)}"},
            scenarios=EXAMPLES * 3,
            label="officer",
            prepare=known_case_body(cast),
            fresh_token=throwaway_tokens(cast.officer),
        )
    )
    total = sum(r.requests for r in runs)
    server_errors = sum(n for r in runs for code, n in r.statuses.items() if code >= 500)
    print(
        f"\nFIGURES schema fuzz total: {total} cases ({', '.join(f'{r.requests}' for r in runs)}), "
        f"{sum(r.seconds for r in runs):.1f} s, 5xx {server_errors}, failures {sum(len(r.failures) for r in runs)}"
    )
    failures = [f for r in runs for f in r.failures]
    assert not failures, "\n\n".join(failures)
    assert server_errors == 0
    assert total >= 5000, f"only {total} cases tried: raise RELIABILITY_SCHEMA_EXAMPLES"
