"""The Open311 GeoReport v2 endpoints under /open311/v2/ and the public status page /status/<n>.

Plain Django function views rather than DRF's @api_view (the house default is one @api_view function
per operation), because the spec fixes what DRF would otherwise decide: the format comes from the
resource's extension, POST bodies are form-encoded and authenticated by an `api_key` parameter (so
no session, no CSRF), and every error, including a 405 or a rate limit, has the spec's shape in the
requested format. The `open311_endpoint` decorator is the one place where errors become answers
(rule 15). DRF's SimpleRateThrottle does the rate limiting: per client IP for every call, per key
for POSTs."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from rest_framework.throttling import SimpleRateThrottle

from cases.idempotency import KEY_PATTERN
from cases.models import Case, Photo
from open311 import public
from open311.definitions import available_services, definition_dict, find_service, service_dict
from open311.formats import CONTENT_TYPES, MIME_TYPES, Open311Error, error_response, respond
from open311.models import ApiClient, Submission
from open311.queries import find_requests, parse_query
from open311.submit import fingerprint, parse_post, submit_request

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Sortable: the last change of this API's shape. The dictionary has no modification times yet, so
# edits of services do not move it (see docs/open311.md).
CHANGESET = "2026-11-29T00:00:00+08:00"


class _Throttle(SimpleRateThrottle):
    """A rate per scope (settings.OPEN311_RATES), counted per `ident`, or per
    client IP when there is none."""

    def __init__(self, scope: str, ident: str | None) -> None:
        self.scope, self.ident = scope, ident
        super().__init__()

    def get_rate(self) -> str:
        return settings.OPEN311_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        from backend.middleware import client_ip

        # The address as settings.TRUSTED_PROXIES says (a server without REMOTE_ADDR: "unknown").
        return f"open311:{self.scope}:{self.ident or 'ip:' + (client_ip(request) or 'unknown')}"


def _throttle(request: HttpRequest, scope: str, ident: str | None = None) -> None:
    throttle = _Throttle(scope, ident)
    if not throttle.allow_request(request, None):
        wait = math.ceil(throttle.wait() or 1)
        raise Open311Error(429, f"Too many requests: try again in {wait} s.", retry_after=wait)


def open311_endpoint(*methods: str) -> Callable:
    """Checks shared by every endpoint: the format (400 in XML if neither xml nor json), the
    method (405), the jurisdiction (404 when OPEN311_JURISDICTION_ID is set and another is named),
    the per-IP rate (429). Turns Open311Error into the error answer in the requested format."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            fmt = fmt.lower()
            if fmt not in CONTENT_TYPES:
                return error_response(
                    Open311Error(400, f"format: .{fmt} is not served; use .xml or .json."), "xml"
                )
            try:
                if request.method not in methods:
                    raise Open311Error(
                        405, f"{request.method} is not allowed here; use {' or '.join(methods)}."
                    )
                _check_no_nul(request, kwargs)
                _check_jurisdiction(request)
                _throttle(request, "read")
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                response = error_response(exc, fmt)
                if exc.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response

        return wrapper

    return decorate


def _check_no_nul(request: HttpRequest, path_args: dict) -> None:
    """A NUL character is no part of any id, code or filter, and PostgreSQL refuses one in a text
    parameter: a query or path carrying one is refused (400, naming every such parameter) before
    anything reads the database. A POST's free text drops control characters (clean_text)."""
    named = [name for name, value in path_args.items() if "\x00" in str(value)]
    named += [
        name
        for name, values in request.GET.lists()
        if "\x00" in name or any("\x00" in v for v in values)
    ]
    if named:
        raise Open311Error(
            400, *(f"{name!r}: contains a NUL character." for name in dict.fromkeys(named))
        )


def _check_jurisdiction(request: HttpRequest) -> None:
    ours = settings.OPEN311_JURISDICTION_ID
    asked = (
        request.POST.get("jurisdiction_id") or request.GET.get("jurisdiction_id") or ""
    ).strip()
    if ours and asked and asked != ours:
        raise Open311Error(
            404, f"jurisdiction_id: {asked!r} is not served here (this is {ours!r})."
        )


# --- discovery and services -------------------------------------------------------------------


@open311_endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""
    endpoint = request.build_absolute_uri(reverse("open311-discovery", kwargs={"fmt": fmt})).rsplit(
        "/", 1
    )[0]
    return respond(
        {
            "changeset": CHANGESET,
            "contact": settings.OPEN311_CONTACT,
            "key_service": settings.OPEN311_KEY_SERVICE,
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": endpoint,
                    "changeset": CHANGESET,
                    "type": "test" if settings.DEMO else "production",
                    "formats": [MIME_TYPES["xml"], MIME_TYPES["json"]],
                }
            ],
        },
        root="discovery",
        fmt=fmt,
    )


@open311_endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return respond([service_dict(s) for s in available_services()], root="services", fmt=fmt)


@open311_endpoint("GET")
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    return respond(definition_dict(find_service(code)), root="service_definition", fmt=fmt)


# --- requests ---------------------------------------------------------------------------------


@open311_endpoint("GET", "POST")
def service_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET: the requests matching the filters. POST: report one (api_key required)."""
    if request.method == "POST":
        return _create(request, fmt)
    query = parse_query(request.GET, now=timezone.now())
    cases, more = find_requests(query)
    headers = {"Link": f'<{_page_url(request, query.page + 1)}>; rel="next"'} if more else None
    body = [public.request_dict(case, photo_url=_photo_url(request)) for case in cases]
    return respond(body, root="service_requests", fmt=fmt, headers=headers)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    params = _post_params(request)
    client = _client(params.get("api_key", "").strip())
    _throttle(request, "post", f"client{client.pk}")
    new = parse_post(params, service=find_service(params.get("service_code", "").strip()))
    try:
        submission, made = submit_request(
            new,
            client=client,
            fingerprint=fingerprint(params),
            idempotency_key=_idempotency_key(request),
        )
    except ValidationError as exc:  # the workflow's last word on the category or attributes
        raise Open311Error(400, *exc.messages) from None
    body = [
        {
            "service_request_id": submission.case.number,
            "service_notice": _received(request, submission.case),
            "account_id": new.contact.get("account_id"),
        }
    ]
    return respond(
        body,
        root="service_requests",
        fmt=fmt,
        headers=None if made else {"Idempotent-Replayed": "true"},
    )


def _post_params(request: HttpRequest) -> QueryDict:
    """The form body, plus query-string parameters the body does not have (some clients put
    api_key there)."""
    params = request.GET.copy()
    for name, values in request.POST.lists():
        params.setlist(name, values)
    return params


def _client(key: str) -> ApiClient:
    if not key:
        raise Open311Error(403, "api_key: required to create a service request.")
    client = ApiClient.objects.for_key(key)
    if client is None:
        raise Open311Error(
            403, "api_key: not valid (unknown or revoked) — can't create the service request."
        )
    return client


def _idempotency_key(request: HttpRequest) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if key and not KEY_PATTERN.match(key):
        raise Open311Error(400, "Idempotency-Key: 1–255 printable ASCII characters without spaces.")
    return key


def _received(request: HttpRequest, case: Case) -> str:
    url = request.build_absolute_uri(reverse("case-status", args=[case.number]))
    return (
        f"已收到，网格监督员将现场核实。进度查询：{url} / "
        f"Received; a grid officer will verify it on site. Progress: {url}"
    )


@open311_endpoint("GET")
def request_detail(request: HttpRequest, request_id: str, fmt: str) -> HttpResponse:
    case = public.public_requests().filter(number=request_id).first()
    if case is None:
        raise Open311Error(404, f"service_request_id: no request {request_id!r}.")
    return respond(
        [public.request_dict(case, photo_url=_photo_url(request))], root="service_requests", fmt=fmt
    )


@open311_endpoint("GET")
def token_detail(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    submission = Submission.objects.select_related("case").filter(token=token).first()
    if submission is None:
        raise Open311Error(404, f"token: no token {token!r}.")
    return respond(
        [{"service_request_id": submission.case.number, "token": submission.token}],
        root="service_requests",
        fmt=fmt,
    )


@open311_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def not_found(request: HttpRequest, fmt: str, path: str = "") -> HttpResponse:
    raise Open311Error(404, f"No resource {request.path!r}: see discovery.xml.")


def not_found_without_format(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(
        Open311Error(
            404,
            f"No resource {request.path!r}: resources end in .xml or .json (see discovery.xml).",
        ),
        "xml",
    )


def _page_url(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def _photo_url(request: HttpRequest) -> Callable[[Photo], str]:
    return lambda photo: request.build_absolute_uri(reverse("open311-photo", args=[photo.pk]))


# --- public pages -----------------------------------------------------------------------------


@require_GET
def photo(request: HttpRequest, pk: int) -> FileResponse:
    """The EXIF-free public copy of a public request's report photo (never the original)."""
    found = public.published_photos().filter(pk=pk).first()
    if found is None:
        raise Http404("No such photo.")
    response = FileResponse(default_storage.open(found.public, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def status_page(request: HttpRequest, number: str) -> HttpResponse:
    """/status/<case number>: a public request's category, status in words, public steps and
    expected date; no person, no contact data, only the public copy of a report photo."""
    case = public.public_requests().filter(number=number).first()
    if case is None:
        raise Http404("No public request with this number.")
    label, detail, _english = public.status_words(case)
    photo_obj = public.report_photo(case)
    return render(
        request,
        "open311/status.html",
        {
            "case": case,
            "status_label": label,
            "status_detail": detail,
            "closed": public.open311_status(case) == "closed",
            "steps": public.timeline(case),
            "photo_url": reverse("open311-photo", args=[photo_obj.pk]) if photo_obj else None,
        },
    )
