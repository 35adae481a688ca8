"""Reports API and pages (docs/reports.md).

- GET  /api/reports/                      published and pending reports (newest first; ?kind=, ?year=)
- POST /api/reports/                      {kind, period, revise?, reason?} → 202, queued for the scheduler
- GET  /api/reports/<id>                  one report's state and progress, and its steps (who, when)
- POST /api/reports/<id>/publish          {problems?, requirements?, review?}: publish a draft
- GET  /api/reports/<kind>/<period|latest>.<html|pdf|xlsx>[?revision=N]
- GET  /reports/                          the list page (request a report, watch its progress)
- GET/POST /reports/<id>/                 a draft: read it, write 存在问题 / 下周工作要求, publish

Read by the centre's roles, handling-unit members and administrators; requested by centre roles
and administrators; corrected (a new revision, with a reason) by shift leaders and administrators.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from backend.openapi import errors
from people.models import CENTRE_ROLES, Role, User
from reports import jobs
from reports import render as rendering
from reports.models import Kind, Report, ReportFile, State
from reports.names import person_name
from reports.periods import parse

REQUESTERS = (*CENTRE_ROLES, Role.ADMIN)
CORRECTORS = (Role.SHIFT_LEADER, Role.ADMIN)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def may_read(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in jobs.READERS)


def _require(user: User, roles) -> None:
    if not (user.is_superuser or user.role in roles):
        raise PermissionDenied(_("Your role may not do this with reports."))


def item(report: Report, superseded: set[int] = frozenset()) -> dict:
    return {
        "review_url": reverse("report-review", args=[report.pk])
        if report.state == State.DRAFT
        else None,
        "failure_help": failure_help(report.error) if report.state == State.FAILED else "",
        "id": report.pk,
        "kind": report.kind,
        "kind_name": report.get_kind_display(),
        "key": report.key,
        "label": report.label,
        "start": report.start,
        "end": report.end,
        "revision": report.revision,
        "reason": report.reason,
        "state": report.state,
        "progress": report.progress,
        "step": report.step,
        "error": report.error,
        "year": report.year,
        "issue": report.issue,
        "serial": report.serial,
        "automatic": report.automatic,
        "requested_at": report.requested_at,
        "built_at": report.built_at,
        "published_at": report.published_at,
        "superseded": report.pk in superseded,
        "links": jobs.links(report) if report.state == State.PUBLISHED else None,
    }


def failure_help(error: str) -> str:
    """What fixes a failed build or publication, from its error (shown under the error)."""
    if error.startswith("MissingFont"):
        return _(
            "Install a Chinese font on the machine that builds reports (fonts-noto-cjk: make system-deps), "
            "then ask for the report again; nothing else needs changing."
        )
    if "weekday" in error or "period starts" in error:
        return _(
            "The report settings (first weekday, cut-off) changed after this report was requested: ask for "
            "the period again under the new settings."
        )
    if error.startswith(("OperationalError", "InterfaceError", "DatabaseError")):
        return _(
            "The database was unreachable or busy while the report was built: ask for it again once it "
            "answers."
        )
    return _(
        "Ask for the report again; if it fails the same way, the server log holds the details of this "
        "error for the administrator."
    )


def steps(report: Report) -> list[dict]:
    return [
        {
            "action": e.action,
            "action_name": e.get_action_display(),
            "by": person_name(e.by) if e.by else "",
            "automatic": e.automatic,
            "at": e.at,
            "note": e.note,
        }
        for e in report.events.select_related("by__organisation")
    ]


class PublishSerializer(serializers.Serializer):
    problems = serializers.CharField(
        max_length=8000,
        required=False,
        allow_blank=True,
        help_text="存在问题; omitted or empty: the generated findings as they are",
    )
    requirements = serializers.CharField(
        max_length=8000,
        required=False,
        allow_blank=True,
        help_text="下周工作要求; omitted or empty: the generated ones",
    )
    review = serializers.CharField(
        max_length=8000, required=False, allow_blank=True, help_text="讲评 (quarterly reviews)"
    )


def _superseded(reports: list[Report]) -> set[int]:
    newest: dict[tuple, int] = {}
    for r in reports:
        if r.state == State.PUBLISHED:
            newest[(r.kind, r.start)] = max(newest.get((r.kind, r.start), 0), r.revision)
    return {
        r.pk
        for r in reports
        if r.state == State.PUBLISHED and r.revision < newest[(r.kind, r.start)]
    }


class RequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    period = serializers.CharField(
        max_length=20, help_text="2026-W47, 2026-11, 2026-Q4 or a date in the period"
    )
    revise = serializers.BooleanField(
        default=False, help_text="Publish a corrected revision of a published report"
    )
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    def validate(self, data: dict) -> dict:
        try:
            span = parse(data["kind"], data["period"])
        except ValueError as error:
            raise serializers.ValidationError({"period": str(error)}) from None
        except OverflowError:  # 0001-W01 and the like: its start is before year 1 in UTC
            raise serializers.ValidationError(
                {"period": _("%(text)s is out of the calendar's range.") % {"text": data["period"]}}
            ) from None
        if span.start.year < 1970:
            raise serializers.ValidationError(
                {
                    "period": _("%(text)s is before 1970: no cases to report.")
                    % {"text": data["period"]}
                }
            )
        if span.end > timezone.now():
            raise serializers.ValidationError(
                {
                    "period": _("%(label)s has not ended yet: a report covers a complete period.")
                    % {"label": span.label}
                }
            )
        if data["revise"] and not data["reason"].strip():
            raise serializers.ValidationError({"reason": _("Say what the revision corrects.")})
        data["span"] = span
        return data


@extend_schema(
    methods=["GET"],
    summary="Published and pending reports",
    operation_id="reports_list",
    parameters=[OpenApiParameter("kind", str, enum=Kind.values), OpenApiParameter("year", int)],
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="{results: [report]}"),
        **errors(400, 403),
    },
)
@extend_schema(
    methods=["POST"],
    summary="Request a report (or a revision)",
    operation_id="reports_request",
    request=RequestSerializer,
    responses={
        202: OpenApiResponse(OpenApiTypes.OBJECT, description="the queued report"),
        409: OpenApiResponse(
            OpenApiTypes.OBJECT, description="already published: `detail`, `report`"
        ),
        **errors(400, 403),
    },
)
@api_view(["GET", "POST"])
def reports(request):
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    if request.method == "POST":
        _require(request.user, REQUESTERS)
        body = RequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        q = body.validated_data
        if q["revise"]:
            _require(request.user, CORRECTORS)
        try:
            report = jobs.request(
                q["span"], user=request.user, revise=q["revise"], reason=q["reason"].strip()
            )
        except jobs.AlreadyPublished as published:
            return Response(
                {
                    "detail": _(
                        "%(label)s is already published; to correct it, ask for a revision "
                        "with a reason."
                    )
                    % {"label": published.report.label},
                    "report": item(published.report),
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(item(report), status=status.HTTP_202_ACCEPTED)
    rows = Report.objects.defer("data").order_by("-start", "kind", "-revision")
    kind = request.query_params.get("kind")
    if kind:
        if kind not in Kind.values:
            return Response({"kind": [_("Use weekly, monthly or quarterly.")]}, status=400)
        rows = rows.filter(kind=kind)
    year = request.query_params.get("year", "")
    if year:
        if not (year.isdigit() and len(year) == 4):
            return Response({"year": [_("A year, e.g. 2026.")]}, status=400)
        rows = rows.filter(year=int(year))
    found = list(rows[:500])
    superseded = _superseded(found)
    return Response({"results": [item(r, superseded) for r in found]})


@extend_schema(
    summary="One report's state and progress",
    operation_id="report_detail",
    parameters=[OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)],
    responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="report"), **errors(403, 404)},
)
@api_view(["GET"])
def report_detail(request, pk: int):
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    report = Report.objects.defer("data").filter(pk=pk).first() if pk < 2**63 else None
    if report is None:
        raise Http404
    return Response(
        {
            **item(
                report,
                _superseded(
                    list(Report.objects.defer("data").filter(kind=report.kind, start=report.start))
                ),
            ),
            "steps": steps(report),
        }
    )


@extend_schema(
    summary="Publish a draft with its text sections",
    operation_id="report_publish",
    parameters=[OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)],
    request=PublishSerializer,
    responses={
        202: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="the report, `publishing`: the scheduler publishes it within seconds",
        ),
        409: OpenApiResponse(OpenApiTypes.OBJECT, description="not a draft: `detail`, `report`"),
        **errors(400, 403, 404),
    },
)
@api_view(["POST"])
def report_publish(request, pk: int):
    """A shift leader or an administrator publishes a draft: the texts are saved now, and the
    scheduler's next tick numbers it, renders the PDF and the workbook and publishes it (poll
    `GET /api/reports/<id>`)."""
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    _require(request.user, CORRECTORS)
    report = Report.objects.filter(pk=pk).first() if pk < 2**63 else None
    if report is None:
        raise Http404
    body = PublishSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        report = jobs.ask_to_publish(report, by=request.user, **body.validated_data)
    except jobs.NotADraft as error:
        return Response(
            {
                "detail": _("Only a draft is published; this report is %(state)s.")
                % {"state": error.report.get_state_display()},
                "report": item(error.report),
            },
            status=status.HTTP_409_CONFLICT,
        )
    return Response({**item(report), "steps": steps(report)}, status=status.HTTP_202_ACCEPTED)


class AnyType(BaseRenderer):
    """Lets a client that asks for the file's own type (`Accept: application/pdf`) have it: the
    view answers the stored bytes itself; only an error's `detail` goes through here, as JSON."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return JSONRenderer().render(data)


def _find(kind: str, period: str, revision: str | None) -> Report:
    published = Report.objects.filter(kind=kind, state=State.PUBLISHED)
    if period == "latest":
        first = published.order_by("-start").first()
        if first is None:
            raise Http404(_("No %(kind)s report has been published yet.") % {"kind": kind})
        period_rows = published.filter(start=first.start)
    else:
        try:
            span = parse(kind, period)
        except (ValueError, OverflowError) as error:
            raise Http404(str(error)) from None
        if span.start.year < 1970:  # before any case; and its start would overflow in UTC
            raise Http404(_("That report has not been published."))
        period_rows = published.filter(start=span.start)
    if revision:
        if not (revision.isascii() and revision.isdigit() and len(revision) < 10):
            raise Http404(_("A revision is a number."))
        period_rows = period_rows.filter(revision=int(revision))
    report = period_rows.order_by("-revision").first()
    if report is None:
        raise Http404(_("That report has not been published."))
    return report


@extend_schema(
    summary="A published report as a page, PDF or workbook",
    operation_id="report_file",
    parameters=[
        OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=Kind.values),
        OpenApiParameter(
            "period",
            str,
            OpenApiParameter.PATH,
            description="2026-W47, 2026-11, 2026-Q4, a date in the period, or `latest`",
        ),
        OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["html", "pdf", "xlsx"]),
        OpenApiParameter("revision", {"type": "integer", "minimum": 1}),
    ],
    responses={
        (200, "text/html"): bytes,
        (200, "application/pdf"): bytes,
        (200, CONTENT_TYPES["xlsx"]): bytes,
        302: OpenApiResponse(description="Signed out without a token: to the sign-in page."),
        **errors(403, 404),
    },
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, AnyType])
@permission_classes([AllowAny])  # signed-out browsers are sent to the sign-in page below, not 403
def report_file(request, kind: str, period: str, fmt: str) -> HttpResponse:
    """A published report as a page, PDF or workbook (the stored files: byte for byte what was
    published). Authenticated as every /api/ path is (DRF's configured classes: session or
    `Authorization: Token …`), so an OA system or a 大屏 can fetch it; signed-out browsers go to
    the sign-in page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    if kind not in Kind.values:
        raise Http404(_("Unknown report kind."))
    report = _find(kind, period, request.GET.get("revision"))
    if fmt == "html":
        siblings = list(
            Report.objects.defer("data")
            .filter(kind=report.kind, start=report.start, state=State.PUBLISHED)
            .order_by("revision")
        )
        for other in siblings:
            other.link = jobs.links(other)["html"] + ("" if other.revision > 1 else "?revision=1")
        newer = [o for o in siblings if o.revision > report.revision]
        ctx = rendering.context(report)
        ctx.update(
            links=jobs.links(report), revisions=siblings, superseded_by=newer[-1] if newer else None
        )
        return render(request._request, "reports/page.html", ctx)
    stored = ReportFile.objects.filter(report=report, format=fmt).first()
    if stored is None:
        raise Http404(_("This report has no %(fmt)s file.") % {"fmt": fmt})
    response = HttpResponse(bytes(stored.content), content_type=CONTENT_TYPES[fmt])
    name = (
        f"{report.kind}-{report.key}"
        + (f"-r{report.revision}" if report.revision > 1 else "")
        + f".{fmt}"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["ETag"] = f'"{stored.sha256}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


class TextsForm(forms.Form):
    problems = forms.CharField(
        label=_("Problems"),
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    requirements = forms.CharField(
        label=_("Requirements for the next period"),
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    review = forms.CharField(
        label=_("Review"), required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 8})
    )


def report_review(request: HttpRequest, pk: int) -> HttpResponse:
    """A report as its reviewers see it: a draft with the two text sections to write or confirm
    and a publish button (shift leaders and administrators), the steps so far; a published report
    sends the reader to its page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    report = Report.objects.filter(pk=pk).first() if pk < 2**63 else None
    if report is None:
        raise Http404
    if report.state == State.PUBLISHED:
        return redirect(jobs.links(report)["html"])
    _require(request.user, REQUESTERS)  # drafts are the centre's until published
    may_publish = request.user.is_superuser or request.user.role in CORRECTORS
    error = ""
    if request.method == "POST":
        _require(request.user, CORRECTORS)
        form = TextsForm(request.POST)
        if form.is_valid():
            texts = form.cleaned_data
            if report.kind != Kind.QUARTERLY:
                texts.pop("review")
            try:
                if request.POST.get("action") == "publish":
                    jobs.ask_to_publish(report, by=request.user, **texts)
                else:
                    jobs.edit(report, by=request.user, **texts)
                return redirect("report-review", pk=report.pk)
            except jobs.NotADraft as refused:
                error = _("Only a draft is edited or published; this report is %(state)s.") % {
                    "state": refused.report.get_state_display()
                }
                report = refused.report
    found = (report.data or {}).get("findings", {})
    form = (
        TextsForm(
            initial={
                "problems": report.problems or found.get("problems", ""),
                "requirements": report.requirements or found.get("requirements", ""),
                "review": report.review,
            }
        )
        if request.method == "GET" or not error
        else form
    )
    ctx = rendering.context(report) if report.data else {"report": report}
    ctx.update(
        form=form,
        may_publish=may_publish and report.state == State.DRAFT,
        error=error,
        steps=steps(report),
        quarterly=report.kind == Kind.QUARTERLY,
        failure_help=failure_help(report.error) if report.state == State.FAILED else "",
    )
    return render(request, "reports/review.html", ctx)


def reports_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not may_read(request.user):
        raise PermissionDenied(_("Your role may not read reports."))
    rows = list(Report.objects.defer("data").order_by("-start", "kind", "-revision")[:300])
    superseded = _superseded(rows)
    for r in rows:
        r.links = jobs.links(r) if r.state == State.PUBLISHED else None
        r.is_superseded = r.pk in superseded
        r.failure_help = failure_help(r.error) if r.state == State.FAILED else ""
    may_request = request.user.is_superuser or request.user.role in REQUESTERS
    return render(
        request,
        "reports/list.html",
        {"reports": rows, "kinds": Kind.choices, "may_request": may_request},
    )


def metrics_page(request: HttpRequest) -> HttpResponse:
    """The evaluation table of one level for any period, with charts: scores and closure rates
    (server-rendered SVG; the same figures as GET /api/metrics/)."""
    import datetime as dt

    from django.core.exceptions import ValidationError

    from metrics.reports import LEVELS, period_of
    from metrics.scores import evaluate
    from metrics.views import EARLIEST, reader_scope
    from reports import charts
    from reports.labels import AREA_COLUMNS, UNIT_COLUMNS
    from reports.labels import LEVELS as LEVEL_NAMES

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    # A handling unit's member reads the unit level only (their own row): it is their default.
    unit_member = request.user.role == Role.UNIT_MEMBER and not request.user.is_superuser
    level = request.GET.get("level") or ("unit" if unit_member else "street")
    errors = []
    try:
        start = dt.date.fromisoformat(
            request.GET.get("start") or (monday - dt.timedelta(days=7)).isoformat()
        )
        end = dt.date.fromisoformat(request.GET.get("end") or monday.isoformat())
    except ValueError:
        errors.append(_("Dates are YYYY-MM-DD."))
        start, end = monday - dt.timedelta(days=7), monday
    if start < EARLIEST:
        errors.append(_("Periods start on or after %(day)s.") % {"day": EARLIEST})
        start, end = EARLIEST, max(end, EARLIEST + dt.timedelta(days=7))
    if level not in LEVELS or level == "officer":
        errors.append(_("Choose a level: grid, community, street, district or unit."))
        level = "street"
    if end <= start:
        errors.append(_("end must be after start (end is exclusive)."))
        end = start + dt.timedelta(days=7)
    try:
        scope = reader_scope(request.user, level, "")
    except (PermissionDenied, ValidationError) as error:
        raise PermissionDenied(str(error)) from None
    rows = [r.as_dict() for r in evaluate(level, period_of(start, end), area=scope.area)]
    if scope.own is not None:
        rows = [r for r in rows if r["id"] == scope.own]
    ranked = sorted(
        (r for r in rows if r["score"] is not None), key=lambda r: (r["rank"], r["code"])
    )[:20]
    rated = sorted(
        (r for r in rows if r["closure_rate"] is not None),
        key=lambda r: (r["closure_rate"], r["code"]),
    )[:20]
    score_chart = charts.bars(
        [{"name": r["name"] or r["code"], "count": r["score"]} for r in ranked],
        title=_("Composite score (best 20)"),
        current_label=_("Score"),
        previous_label="",
    )
    rate_chart = charts.bars(
        [{"name": r["name"] or r["code"], "count": r["closure_rate"]} for r in rated],
        title=_("Closure rate % (lowest 20)"),
        current_label=_("Closure rate"),
        previous_label="",
    )
    shown = (
        [
            r
            for r in rows
            if any(r[k] for k in ("registered", "due_closure", "due_disposal", "dispatched"))
        ]
        if level == "grid"
        else rows
    )
    shown.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    return render(
        request,
        "reports/metrics.html",
        {
            "level": level,
            "levels": [(k, v) for k, v in LEVEL_NAMES.items() if not unit_member or k == "unit"],
            "start": start,
            "end": end,
            "rows": shown,
            "hidden": len(rows) - len(shown),
            "errors": errors,
            "score_chart": score_chart,
            "rate_chart": rate_chart,
            "columns": UNIT_COLUMNS if level == "unit" else AREA_COLUMNS,
            "api": f"/api/metrics/?level={level}&start={start}&end={end}",
        },
    )
