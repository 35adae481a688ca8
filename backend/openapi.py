"""Error answers for the OpenAPI schema, so the documented status codes are the ones the API
gives (tests/reliability/test_schema_fuzz.py checks it). Views add them with
`extend_schema(responses={200: …, **errors(400, 403, 404)})`.

Shapes (backend/exceptions.py): a validation error maps each field to its messages (or has
`detail`); 403/404 carry `detail`; workflow conflicts carry `detail`, `code` and the fresh `case`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

_DETAIL = inline_serializer(
    "ErrorDetail",
    {"detail": serializers.CharField(), "code": serializers.CharField(required=False)},
)
_CONFLICT = inline_serializer(
    "ErrorConflict",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "case": serializers.DictField(required=False),
    },
)

_RESPONSES = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Invalid input: each field maps to its messages, or `detail`.",
    ),
    403: OpenApiResponse(_DETAIL, description="Not signed in, or not allowed (`detail` says why)."),
    404: OpenApiResponse(_DETAIL, description="No such object, or not visible to you."),
    409: OpenApiResponse(
        _CONFLICT, description="Illegal in this state, stale version or a request in flight."
    ),
    412: OpenApiResponse(_CONFLICT, description="Stale `If-Match`."),
    413: OpenApiResponse(_DETAIL, description="The request body is over the size limit."),
    422: OpenApiResponse(_DETAIL, description="Idempotency-Key reused with a different body."),
    428: OpenApiResponse(_DETAIL, description="No version given."),
    429: OpenApiResponse(_DETAIL, description="Too many attempts; retry later."),
}


def errors(*codes: int) -> dict:
    """The documented error responses for `codes`, to merge into `extend_schema(responses=…)`."""
    return {code: _RESPONSES[code] for code in codes}


def document_refused_nul(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation may answer 400 — a NUL character in
    its path or query is refused before the view runs (backend.middleware.RefuseNulMiddleware) —
    so an operation that documents no 400 of its own gets that one."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault(
                "400",
                {
                    "content": {"application/json": {"schema": {"type": "object"}}},
                    "description": "Invalid input, or a NUL character in the path or a query parameter "
                    "(`detail` says so).",
                },
            )
    return result
