"""Schemathesis over the live OpenAPI schema, shared by the quick test (tests/reliability/test_schema_fuzz.py)
and the long one (tests/reliability/, `make reliability`). Every operation of /api/schema/ is fuzzed through the real
Django WSGI application (same middleware, authentication and exception handler as production), as
a signed-in person and as an anonymous caller. Checks: no 5xx, the status code is documented, the
content type is documented, and the body matches the documented schema.

Also: the Open311 endpoints, from their own description (open311/openapi.py; checked for 5xx), and
a stateful run that follows OpenAPI links — a created case is read, acted on and listed
(`with_links`, `stateful`)."""

from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field

import hypothesis
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import strategies as st

CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


# Open311 (GeoReport v2) answers in its own error format and in XML too: checked for 5xx only.
PENDING_PREFIXES: dict[str, tuple[str, ...]] = {
    "/open311/": (
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ),
}
# Operations that end the token they are called with: each call gets a fresh token of its own.
SELF_REVOKING = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/token/renew"),
    ("DELETE", "/api/auth/tokens/{id}"),
}


def checks(method: str = "", path: str = ""):
    from schemathesis.checks import CHECKS

    pending = next((v for prefix, v in PENDING_PREFIXES.items() if path.startswith(prefix)), ())
    return [CHECKS.get_one(name) for name in CHECK_NAMES if name not in pending]


def server_error_checks():
    from schemathesis.checks import CHECKS

    return [CHECKS.get_one("not_a_server_error")]


@dataclass
class Run:
    operations: int = 0
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    by_operation: dict[str, dict[int, int]] = field(default_factory=dict)  # the stateful run's


@contextlib.contextmanager
def connection_kept():
    """As Django's test client does: the test's connection (and its transaction) outlives the
    requests, which would otherwise close it when they finish."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def load_schema(*, links: bool = False):
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from django.test import Client

    if not links:
        with connection_kept():
            return schemathesis.openapi.from_wsgi(
                "/api/schema/?format=json", get_wsgi_application()
            )
    with connection_kept():
        raw = Client().get("/api/schema/?format=json").json()
    loaded = schemathesis.openapi.from_dict(with_links(raw))
    loaded.app, loaded.location = get_wsgi_application(), "/api/schema/?format=json"
    return loaded


def load_open311_schema():
    import schemathesis
    from django.core.wsgi import get_wsgi_application

    from open311.openapi import schema

    loaded = schemathesis.openapi.from_dict(schema())
    loaded.app, loaded.location = get_wsgi_application(), "/open311/v2/openapi.json"
    return loaded


# OpenAPI links for the stateful run: (source path, method, status) → (target path, method, parameters).
LINKS = [
    (
        ("/api/cases/", "get", "200"),
        ("/api/cases/{id}", "get", {"id": "$response.body#/results/0/id"}),
    ),
    (
        ("/api/cases/", "get", "200"),
        ("/api/cases/{id}/transition", "post", {"id": "$response.body#/results/0/id"}),
    ),
    (("/api/cases/", "post", "201"), ("/api/cases/{id}", "get", {"id": "$response.body#/id"})),
    (
        ("/api/cases/", "post", "201"),
        ("/api/cases/{id}/transition", "post", {"id": "$response.body#/id"}),
    ),
    (("/api/cases/", "post", "201"), ("/api/cases/mine", "get", {})),
    (
        ("/api/cases/{id}", "get", "200"),
        ("/api/cases/{id}/transition", "post", {"id": "$response.body#/id"}),
    ),
    (
        ("/api/cases/{id}/transition", "post", "200"),
        ("/api/cases/{id}", "get", {"id": "$response.body#/id"}),
    ),
    (
        ("/api/cases/{id}/transition", "post", "409"),
        ("/api/cases/{id}", "get", {"id": "$response.body#/case/id"}),
    ),
]


def with_links(raw: dict) -> dict:
    """The schema with LINKS added to the source responses (by the targets' operationId). Request
    bodies keep their JSON form only: schemathesis leaves out of its state machine an operation
    whose required body it cannot generate in every form (multipart here)."""
    for item in raw["paths"].values():
        for operation in item.values():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if isinstance(operation, dict)
                else {}
            )
            if "application/json" in content:
                for kind in [k for k in content if k != "application/json"]:
                    del content[kind]
    for n, ((path, method, status), (target, target_method, parameters)) in enumerate(LINKS):
        operation_id = raw["paths"][target][target_method]["operationId"]
        response = raw["paths"][path][method]["responses"].setdefault(
            status, {"description": status}
        )
        response.setdefault("links", {})[f"link{n}"] = {
            "operationId": operation_id,
            "parameters": parameters,
        }
    return raw


def stateful(
    schema, *, headers: dict[str, str], scenarios: int, label: str, prepare=None, fresh_token=None
) -> Run:
    """Run schemathesis' state machine over the linked schema: `scenarios` sequences of calls that
    follow the links, each response checked like `fuzz`'s. `prepare(case)` may adjust a generated
    case before it is sent (e.g. a known category so creations succeed and links are followed)."""
    run = Run()
    started = time.monotonic()
    base = schema.as_state_machine()

    class Machine(base):
        # Every scenario starts from the same rows: it runs in a savepoint rolled back at its end.
        # Hypothesis replays and extends earlier scenarios' choices, and a link is only followed when
        # the answer it reads has the value, so answers that depended on what earlier scenarios
        # changed would make the same choices lead to different draws (FlakyStrategyDefinition).
        def setup(self):
            self._scenario = transaction.atomic()
            self._scenario.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)

        def before_call(self, case):
            if prepare is not None:
                prepare(case)

        def call(self, case, **kwargs):
            with transaction.atomic():
                response = case.call(**kwargs)
            run.requests += 1
            run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
            seen = run.by_operation.setdefault(
                f"{case.operation.method.upper()} {case.operation.path}", {}
            )
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            return response

        def get_call_kwargs(self, case):
            if (
                fresh_token is not None
                and (case.operation.method.upper(), case.operation.path) in SELF_REVOKING
            ):
                return {"headers": {**headers, "Authorization": f"Token {fresh_token()}"}}
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=server_error_checks(), headers=headers)

    with connection_kept():
        try:
            Machine.run(
                settings=hypothesis.settings(
                    max_examples=scenarios,
                    deadline=None,
                    derandomize=False,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    stateful_step_count=6,
                    print_blob=False,
                    phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
                )
            )
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported by the caller
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            run.failures.append(f"[{label} stateful] {text[:3000]}")
    run.operations = len(run.statuses)
    run.seconds = time.monotonic() - started
    return run


def with_known_ids(schema, ids: dict[str, list]):
    """Path parameters are drawn half of the time from objects that exist (`ids` by parameter
    name), so detail and action endpoints are exercised on real rows, not only on 404s."""

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        choices = {name: ids[name] for name in path_parameters or () if ids.get(name)}
        if not choices:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.one_of(st.just(value), st.sampled_from(choices[name]))
                if name in choices
                else st.just(value)
                for name, value in path_parameters.items()
            }
        )

    return schema


def fuzz(
    schema, *, headers: dict[str, str], max_examples: int, label: str, fresh_token=None
) -> Run:
    """Run every operation up to `max_examples` times; collect (not raise) each failure.
    `fresh_token()`: a new API key for each call of an operation in SELF_REVOKING."""
    run = Run()
    started = time.monotonic()
    with connection_kept():
        _fuzz_all(schema, run, headers, max_examples, label, fresh_token)
    run.seconds = time.monotonic() - started
    return run


def _fuzz_all(schema, run: Run, headers, max_examples: int, label: str, fresh_token=None) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        run.operations += 1
        selected = checks(operation.method, operation.path)
        revoking = (
            operation.method.upper(),
            operation.path,
        ) in SELF_REVOKING and fresh_token is not None

        @hypothesis.settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=False,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
            print_blob=False,
        )
        @hypothesis.given(case=operation.as_strategy())
        def exercise(case):
            # Each request in its own savepoint, as each has its own transaction in production: a
            # database error in one must not poison the test's transaction for the next ones.
            sent = headers
            with transaction.atomic():
                if revoking:  # noqa: B023 - the closure runs within this iteration
                    sent = {**headers, "Authorization": f"Token {fresh_token()}"}
                response = case.call(headers=sent)
            run.requests += 1
            run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=selected, headers=sent)  # noqa: B023 - as above

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report each operation's, go on
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            run.failures.append(
                f"[{label}] {operation.method.upper()} {operation.path}: {text[:3000]}"
            )
