"""The one place where domain errors become HTTP answers (house rule: errors are mapped in one place).

- TransitionNotAllowed → 409 with the reason and the fresh case;
- VersionConflict → 409 (412 when the client sent If-Match) with the fresh case;
- Django's ValidationError → 400 keyed by field; PermissionDenied → 403; Http404 → 404.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    from cases.workflow import TransitionNotAllowed, VersionConflict

    request = context.get("request")
    if isinstance(exc, (TransitionNotAllowed, VersionConflict)):
        from cases.serializers import case_detail

        conflict = isinstance(exc, VersionConflict)
        code = status.HTTP_409_CONFLICT
        if conflict and request is not None and request.headers.get("If-Match"):
            code = status.HTTP_412_PRECONDITION_FAILED
        body = {
            "detail": str(exc),
            "code": "version_conflict" if conflict else "illegal_action",
            "case": case_detail(exc.case, request.user if request else None),
        }
        return Response(body, status=code, headers={"ETag": f'"{exc.case.version}"'})
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": _("The request body is larger than %(n)d bytes.")
                % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
                "code": "too_large",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(
        exc, SuspiciousOperation
    ):  # e.g. too many form fields: Django would answer an HTML page
        return Response(
            {"detail": str(exc) or _("Malformed request."), "code": "bad_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {
                field: [str(m) for m in messages] for field, messages in exc.message_dict.items()
            }
        else:
            body = {"detail": " ".join(exc.messages)}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)
