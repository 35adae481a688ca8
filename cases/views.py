"""Case API: thin views. Parse with a serializer, fetch through cases.access, call one domain
function, shape the answer. Errors are mapped to HTTP in backend/exceptions.py."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from backend.openapi import errors
from cases import idempotency, photos, workflow
from cases.access import get_case_for_user, visible_cases
from cases.models import Case, Photo, SmallClass, Source, overdue_at
from cases.serializers import (
    MAX_PHOTOS,
    CaseCreateSerializer,
    CaseListQuery,
    TransitionFormSerializer,
    TransitionSerializer,
    case_detail,
    case_row,
)
from people.models import Role

PARSERS = [JSONParser, MultiPartParser, FormParser]


class CasePagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _form_data(request) -> dict:
    """Request data as a plain dict; multipart forms may carry JSON in `attributes`/`contact`."""
    import json

    if hasattr(request.data, "dict"):
        data = request.data.dict()
        for key in ("attributes", "contact"):
            if isinstance(data.get(key), str):
                try:
                    data[key] = json.loads(data[key] or "{}")
                except (ValueError, RecursionError):
                    raise ValidationError({key: "Not valid JSON."}) from None
        data.pop("photos", None)
        return data
    if not isinstance(request.data, dict):  # a JSON body that is a list, a string, a number or null
        raise ValidationError("The request body must be a JSON object.")
    return dict(request.data)


def process_uploads(request, *, lon, lat, reported_at: dt.datetime) -> list[tuple]:
    """Validate and process every uploaded photo in memory — nothing is written yet, so a request
    refused later (a bad photo among good ones, a permission) leaves no file behind."""
    files = request.FILES.getlist("photos")
    if len(files) > MAX_PHOTOS:
        raise ValidationError({"photos": f"At most {MAX_PHOTOS} photos per action."})
    processed = []
    for upload in files:
        try:
            photo = photos.process_photo(upload, filename=upload.name)
        except photos.PhotoRejected as exc:
            raise ValidationError({"photos": f"{upload.name}: {exc.message}"}) from None
        processed.append(
            (photo, photos.compare_evidence(photo, lon=lon, lat=lat, reported_at=reported_at))
        )
    return processed


def attach_uploads(
    request, case: Case, action: str, *, version: int | None, inputs: workflow.Inputs
) -> None:
    """The request's photos for `action` on `case` as `inputs.photos`: processed in memory, the
    action checked with them (nothing is written for a refused action), then written. Used by every
    transition front end (the API, the unit desk)."""
    if not request.FILES:
        return
    processed = process_uploads(request, lon=case.lon, lat=case.lat, reported_at=timezone.now())
    inputs.photos = processed  # counted by the checks; files are written only for an allowed action
    workflow.check_transition(case, action, actor=request.user, version=version, inputs=inputs)
    inputs.photos = write_uploads(processed)


def write_uploads(processed: list[tuple]) -> list[dict]:
    """Store processed photos (files first, rows second: R14) — once every check has passed,
    outside any database transaction."""
    return [
        photos.photo_record(photo, photos.store_photo(photo), flags) for photo, flags in processed
    ]


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
    OpenApiParameter.HEADER,
    required=True,
    description="Made once per report (a UUID); a retry sends the same key.",
)


@extend_schema(
    methods=["GET"], parameters=[CaseListQuery], responses={200: dict, **errors(400, 403)}
)
@extend_schema(
    methods=["POST"],
    request=CaseCreateSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: dict, 201: dict, **errors(400, 403, 409, 413, 422)},
)
@api_view(["GET", "POST"])
@parser_classes(PARSERS)
def cases(request):
    """GET: the cases you may see, filtered, newest first, cursor-paginated.
    POST: report a case (JSON, or multipart with `photos`). Requires an `Idempotency-Key` header."""
    if request.method == "GET":
        return _list(request)
    return _create(request)


def _list(request):
    query = CaseListQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    rows = (
        _filter(visible_cases(request.user), query.validated_data)
        .select_related("category", "grid", "unit")
        .defer("grid__geometry")  # kilobytes a row, never in a list
    )
    paginator = CasePagination()
    page = paginator.paginate_queryset(rows, request)
    now = timezone.now()
    return paginator.get_paginated_response([case_row(c, now) for c in page])


def _filter(rows, f: dict):
    if f.get("status"):
        rows = rows.filter(status__in=f["status"])
    for key in ("area", "grid"):
        if f.get(key):
            rows = rows.in_area(f[key])
    if f.get("category"):
        rows = rows.filter(category_id=f["category"])
    if f.get("source"):
        rows = rows.filter(source=f["source"])
    if f.get("unit"):
        rows = rows.filter(unit_id=f["unit"])
    if f.get("overdue") is not None:
        overdue = overdue_at()
        rows = rows.filter(overdue) if f["overdue"] else rows.exclude(overdue)
    if f.get("supervised") is not None:
        rows = rows.filter(supervised=f["supervised"])
    tz = timezone.get_current_timezone()
    if f.get("start"):
        rows = rows.filter(reported_at__gte=dt.datetime.combine(f["start"], dt.time(), tz))
    if f.get("end"):
        rows = rows.filter(reported_at__lt=dt.datetime.combine(f["end"], dt.time(), tz))
    if f.get("q"):
        q = f["q"].strip()
        rows = rows.filter(Q(number=q) | Q(address__icontains=q) | Q(description__icontains=q))
    return rows


def _create(request):
    data = _form_data(request)
    uploads = [f.read() for f in request.FILES.getlist("photos")]
    for f in request.FILES.getlist("photos"):
        f.seek(0)
    try:
        record, replay = idempotency.begin(
            request.user,
            request.headers.get("Idempotency-Key"),
            idempotency.fingerprint(data, uploads),
        )
    except idempotency.IdempotencyError as exc:
        return Response({"detail": str(exc), "code": "idempotency"}, status=exc.status)
    if replay is not None:
        return Response(
            replay.body, status=replay.status_code, headers={"Idempotent-Replayed": "true"}
        )
    try:
        if record.case_id:  # a crashed first attempt made the case but never answered
            code, body = (
                status.HTTP_201_CREATED,
                case_detail(record.case, request.user, duplicates=True),
            )
        else:
            code, body = _report(request, data, record)
    except BaseException:
        idempotency.forget(record)
        raise
    idempotency.complete(record, code, body)
    return Response(body, status=code)


def _report(request, data: dict, record) -> tuple[int, dict]:
    form = CaseCreateSerializer(data=data)
    form.is_valid(raise_exception=True)
    v = form.validated_data
    user = request.user
    if v.get("client_uuid") and (
        known := Case.objects.filter(client_uuid=v["client_uuid"]).first()
    ):
        if known.reporter_id != user.pk:
            raise ValidationError(
                {"client_uuid": "This report id belongs to another reporter's case."}
            )
        return status.HTTP_200_OK, case_detail(known, user)
    now = timezone.now()
    source = (
        Source.PUBLIC
        if user.role == Role.PUBLIC
        else v.get("source") or (Source.PATROL if user.role == Role.OFFICER else "")
    )
    if not source:
        raise ValidationError({"source": "Say where the report came from (e.g. hotline_12345)."})
    processed = process_uploads(
        request, lon=v.get("lon"), lat=v.get("lat"), reported_at=v.get("occurred_at") or now
    )
    report = workflow.Report(
        category=v["category"],
        source=source,
        lon=v.get("lon"),
        lat=v.get("lat"),
        address=v.get("address", ""),
        description=v.get("description", ""),
        attributes=v.get("attributes") or {},
        client_uuid=v.get("client_uuid"),
        occurred_at=v.get("occurred_at"),
        contact=v.get("contact") or {},
        evidence_flags=sorted({flag for _photo, flags in processed for flag in flags}),
        category_checked=True,
    )
    # Everything is checked (the self-handle's photo and grid too) before a file is written.
    workflow.check_report(
        report, reporter=user, self_handle=v["self_handle"], photos=len(processed)
    )
    report.photos = write_uploads(processed)
    # The idempotency record names the case in the case's own transaction: a worker dying after
    # the commit leaves a record a retry answers from. Report and self-handle are one transaction.
    case = workflow.report_case(
        report,
        reporter=user,
        now=now,
        self_handle=v["self_handle"],
        also=lambda made: type(record).objects.filter(pk=record.pk).update(case=made),
    )
    return status.HTTP_201_CREATED, case_detail(
        case, user, fresh=not v["self_handle"], duplicates=True
    )


# `<int:pk>` matches digits only: a negative id is no URL of the API.
CASE_ID = OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)


@extend_schema(responses={200: dict, **errors(403, 404)}, parameters=[CASE_ID])
@api_view(["GET"])
def case_detail_view(request, pk: int):
    """One case: timeline, photos, deadline and light, allowed actions (and duplicates for the centre)."""
    case = get_case_for_user(request.user, pk)
    return Response(case_detail(case, request.user), headers={"ETag": f'"{case.version}"'})


def _if_match_version(request) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    value = header.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise ValidationError({"If-Match": 'If-Match must carry the case\'s ETag, e.g. "3".'})
    return int(value)


@extend_schema(
    request={
        "multipart/form-data": TransitionFormSerializer,
        "application/json": TransitionSerializer,
        "application/x-www-form-urlencoded": TransitionSerializer,
    },
    responses={200: dict, **errors(400, 403, 404, 409, 412, 422, 428)},
    parameters=[
        CASE_ID,
        OpenApiParameter(
            "If-Match",
            str,
            OpenApiParameter.HEADER,
            required=False,
            description='The case\'s ETag, e.g. "3" (instead of `version`)',
        ),
        OpenApiParameter(
            "Idempotency-Key",
            str,
            OpenApiParameter.HEADER,
            required=False,
            description="Optional. A retry with the same key and body answers the stored "
            "result of the first attempt (never a second event).",
        ),
    ],
)
@api_view(["POST"])
@parser_classes(PARSERS)
def transition_view(request, pk: int):
    """Apply one workflow action. Carry the version you saw (`version`, or `If-Match`).

    Actions with photos (feedback, check, self_handle) send `multipart/form-data` with one or more
    `photos` files; the form's other fields are the JSON body's. With an `Idempotency-Key` header a
    replayed request (same key, same body and photos) answers the stored result."""
    case = get_case_for_user(request.user, pk)
    data = _form_data(request)
    key = request.headers.get("Idempotency-Key")
    if not key:
        return _transition(request, case, data)
    uploads = [f.read() for f in request.FILES.getlist("photos")]
    for f in request.FILES.getlist("photos"):
        f.seek(0)
    try:
        record, replay = idempotency.begin(
            request.user,
            key,
            idempotency.fingerprint(
                {"transition": case.pk, **data, "If-Match": request.headers.get("If-Match", "")},
                uploads,
            ),
        )
    except idempotency.IdempotencyError as exc:
        return Response({"detail": str(exc), "code": "idempotency"}, status=exc.status)
    if replay is not None:
        return Response(
            replay.body,
            status=replay.status_code,
            headers={"Idempotent-Replayed": "true", "ETag": f'"{replay.body.get("version")}"'},
        )
    try:
        response = _transition(request, case, data)
    except BaseException:
        idempotency.forget(record)  # nothing changed: the same key may be used again
        raise
    if response.status_code >= 400:
        idempotency.forget(record)
    else:
        idempotency.complete(record, response.status_code, response.data)
    return response


def _transition(request, case: Case, data: dict) -> Response:
    form = TransitionSerializer(data=data)
    form.is_valid(raise_exception=True)
    v = form.validated_data
    version = _if_match_version(request) or v.get("version")
    if version is None:
        return Response(
            {
                "detail": "Send the version you saw: `version` in the body or an If-Match header.",
                "code": "version_required",
            },
            status=status.HTTP_428_PRECONDITION_REQUIRED,
        )
    inputs = transition_inputs(request.user, case, v)
    attach_uploads(request, case, v["action"], version=version, inputs=inputs)
    workflow.transition(case, v["action"], actor=request.user, version=version, inputs=inputs)
    case.refresh_from_db()
    return Response(case_detail(case, request.user), headers={"ETag": f'"{case.version}"'})


def transition_inputs(user, case: Case, v: dict) -> workflow.Inputs:
    """The workflow inputs of a validated TransitionSerializer: the API's and the console's forms."""
    return workflow.Inputs(
        reason=v.get("reason", ""),
        outcome=v.get("outcome", ""),
        unit=v.get("unit"),
        duplicate_of=_duplicate_target(user, v.get("duplicate_of")),
        duplicate_ref=v.get("duplicate_of", ""),
        amount_minutes=v.get("amount_minutes"),
        assignee=_assignee(case, v.get("assignee")),
        disposition=v.get("disposition", ""),
        demolished_m2=v.get("demolished_m2"),
        location=(v.get("lon"), v.get("lat"), v.get("address", ""))
        if ("lon" in v or v.get("address"))
        else None,
    )


def _assignee(case: Case, user_id: int | None):
    """A member of the case's unit, or None (the workflow names the problem)."""
    if user_id is None or case.unit_id is None:
        return None
    from people.models import User

    return User.objects.filter(pk=user_id, organisation_id=case.unit_id).first()


def _duplicate_target(user, ref: str | None) -> Case | None:
    if not ref:
        return None
    # ASCII digits only: str.isdigit() also takes "²" (int() refuses it) and "١٢" (int() reads 12).
    match = (
        Q(number=ref) | Q(pk=int(ref))
        if ref.isascii() and ref.isdigit() and len(ref) < 13
        else Q(number=ref)
    )
    return visible_cases(user).filter(match).first()  # None: the workflow names the problem


@extend_schema(
    responses={(200, "image/jpeg"): bytes, **errors(403, 404)},
    parameters=[
        OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH),
        OpenApiParameter(
            "kind", str, OpenApiParameter.PATH, enum=["thumbnail", "public", "original"]
        ),
    ],
)
@api_view(["GET"])
def photo_file(request, pk: int, kind: str):
    """A case photo: `thumbnail`, `public` (both EXIF-free) or `original` (evidence, with EXIF)."""
    photo = get_object_or_404(Photo, pk=pk)
    get_case_for_user(request.user, photo.case_id)
    name = {"thumbnail": photo.thumbnail, "public": photo.public, "original": photo.original}.get(
        kind
    )
    if name is None:
        raise Http404
    from django.core.files.storage import default_storage

    response = FileResponse(default_storage.open(name, "rb"))
    response["Cache-Control"] = "private, max-age=86400"
    return response


_INPUTS = serializers.DictField(
    child=serializers.CharField(),
    help_text=('Input name → "required", "optional" or the condition under which it is required.'),
)
_OUTCOMES = inline_serializer(
    "WorkflowOutcome",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "to": serializers.CharField(),
        "photos_required": serializers.BooleanField(),
    },
    many=True,
)
_ACTION = inline_serializer(
    "WorkflowAction",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "from": serializers.ListField(child=serializers.CharField()),
        "roles": serializers.ListField(child=serializers.CharField()),
        "inputs": _INPUTS,
        "reason_required": serializers.BooleanField(),
        "photos_required": serializers.BooleanField(),
        "outcomes": _OUTCOMES,
        "to": serializers.CharField(allow_null=True),
        "answers": serializers.CharField(allow_null=True),
        "opens": serializers.CharField(allow_null=True),
    },
)


@extend_schema(
    responses={
        200: inline_serializer(
            "Workflow",
            {
                "statuses": inline_serializer(
                    "WorkflowStatus",
                    {
                        "key": serializers.CharField(),
                        "label": serializers.CharField(),
                        "open": serializers.BooleanField(),
                    },
                    many=True,
                ),
                "actions": serializers.DictField(child=_ACTION),
            },
        ),
        **errors(403),
    }
)
@api_view(["GET"])
def workflow_view(request):
    """The workflow table (cases/workflow.py) as data, labels in the request's language: every
    status, and per action its inputs, whether a reason or a photo is required and its outcomes.
    The pages build their forms from this and never restate the rules."""
    return Response(workflow.describe())


@extend_schema(
    responses={
        200: inline_serializer(
            "Category",
            {
                "id": serializers.IntegerField(),
                "code": serializers.CharField(),
                "name": serializers.CharField(),
                "kind": serializers.CharField(),
                "keywords": serializers.CharField(),
                "big_class": serializers.DictField(),
                "attribute_schema": serializers.DictField(),
            },
            many=True,
        ),
        **errors(403),
    },
    parameters=[OpenApiParameter("q", str, required=False)],
)
@api_view(["GET"])
def categories(request):
    """Small classes a new case may use; `q` searches code, name and keywords."""
    rows = SmallClass.objects.available().select_related("big_class", "case_standard")
    q = request.query_params.get("q", "").strip()
    if q:
        rows = rows.filter(Q(code__startswith=q) | Q(name__icontains=q) | Q(keywords__icontains=q))
    return Response(
        [
            {
                "id": c.pk,
                "code": c.code,
                "name": c.name,
                "kind": c.big_class.kind,
                "keywords": c.keywords,
                "big_class": {"code": c.big_class.code, "name": c.big_class.name},
                "attribute_schema": getattr(
                    getattr(c, "case_standard", None), "attribute_schema", {}
                )
                or {},
            }
            for c in rows.order_by("big_class__kind", "code")[:1000]
        ]
    )


@extend_schema(
    parameters=[
        CaseListQuery,
        OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["csv", "xlsx"]),
    ],
    responses={
        (200, "text/csv"): bytes,
        (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes,
        **errors(400, 403),
    },
)
@api_view(["GET"])
def export(request, fmt: str):
    """The filtered list (same filters as GET /api/cases/) as CSV or XLSX, streamed."""
    from django.http import StreamingHttpResponse

    from cases import export as exporter

    query = CaseListQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = exporter.rows(_filter(visible_cases(request.user), query.validated_data))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(
            exporter.csv_chunks(data), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(
            exporter.xlsx_chunks(data),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.{fmt}"'
    return response
