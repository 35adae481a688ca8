"""What the public may see of a case (docs/domain.md §3 "public", §10): the GeoReport v2 request shape,
the status in words, and the timeline of the status page.

Rules:
- service requests are the cases with source `public`; other cases do not exist here (404);
- status is `closed` for closed, rejected, voided and merged cases and `open` otherwise;
- nothing here names a person or shows contact data or free text written by staff (reasons may
  name people): the steps are fixed words, the only names are organisations (the handling unit)
  and case numbers; photos are only ever the EXIF-free public copy of a report photo;
- a rejected or voided report is withdrawn: its status stays visible, its description and media
  are no longer published (a report found untrue may accuse someone, or be abuse).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet

from cases.models import OPEN_STATUSES, Case, CaseEvent, Photo, Source, Status
from open311.formats import w3c
from open311.models import Submission

# status → (label, Chinese detail, English detail); {unit} and {number} are filled in.
STATUS_WORDS: dict[str, tuple[str, str, str]] = {
    "reported": ("待受理", "已收到，等待受理", "received, waiting to be accepted"),
    "verifying": ("待核实", "网格监督员正在现场核实", "a grid officer is verifying it on site"),
    "pending_registration": ("待立案", "已受理，等待立案", "accepted, waiting to be registered"),
    "dispatching": ("待派遣", "已立案，等待派遣处置单位", "registered, waiting to be dispatched"),
    "handling": ("处置中", "{unit}正在处置", "being handled by {unit}"),
    "suspended": ("挂账", "暂停处置（{unit}）", "on hold at {unit}"),
    "checking": (
        "待核查",
        "已处置，网格监督员正在现场核查",
        "handled; a grid officer is checking the result on site",
    ),
    "closing": ("待结案", "核查通过，等待结案", "checked, about to be closed"),
    "closed": ("已结案", "问题已处置并结案", "resolved and closed"),
    "rejected": ("不予受理", "经审核不予受理或不予立案", "not accepted for handling"),
    "voided": ("作废", "案卷已作废", "voided"),
    "merged": ("已合并", "与案卷 {number} 合并处理", "merged into request {number}"),
}
LIMIT_UNITS = {
    "minutes": ("分钟", "minutes"),
    "work_hours": ("工作时", "working hours"),
    "work_days": ("工作日", "working days"),
    "calendar_hours": ("小时", "hours"),
    "calendar_days": ("天", "days"),
}
# The steps the public sees, in fixed words; other actions (requests, denials, supervision,
# relocation) are internal and left out.
STEP_WORDS: dict[str, str] = {
    "report": "收到上报",
    "send_verify": "派网格监督员现场核实",
    "accept": "已受理",
    "reject": "不予受理",
    "register": "已立案",
    "decline": "不予立案",
    "dispatch": "派遣至{unit}",
    "approve_return": "退回，待重新派遣",
    "approve_extension": "处置期限延长",
    "approve_suspension": "挂账，暂停处置",
    "resume": "恢复处置",
    "feedback": "处置单位反馈已处置",
    "self_handle": "网格监督员现场处置",
    "close": "已结案",
    "void": "作废",
    "merge": "与案卷 {number} 合并处理",
}
WITHDRAWN = (Status.REJECTED, Status.VOIDED)
OUTCOME_WORDS = {
    ("verify", "confirmed"): "现场核实属实",
    ("verify", "not_confirmed"): "现场核实不属实",
    ("check", "pass"): "现场核查通过",
    ("check", "fail"): "现场核查未通过，返工",
}


def public_requests() -> QuerySet[Case]:
    """The service requests, with what their public shape needs loaded."""
    report_photos = Prefetch(
        "photos",
        queryset=Photo.objects.filter(stage=Photo.Stage.REPORT).order_by("id"),
        to_attr="report_photos",
    )
    return (
        Case.objects.filter(source=Source.PUBLIC)
        .select_related(
            "category__big_class",
            "category__case_standard",
            "unit",
            "duplicate_of",
            "open311_submission",
        )
        .prefetch_related(report_photos)
    )


def published_photos() -> QuerySet[Photo]:
    """Photos anyone may fetch: report photos of public requests that are not withdrawn."""
    return Photo.objects.filter(stage=Photo.Stage.REPORT, case__source=Source.PUBLIC).exclude(
        case__status__in=WITHDRAWN
    )


def is_withdrawn(case: Case) -> bool:
    return case.status in WITHDRAWN


def open311_status(case: Case) -> str:
    return "open" if case.status in OPEN_STATUSES else "closed"


def status_words(case: Case) -> tuple[str, str, str]:
    """(label, Chinese detail, English detail) of the case's status."""
    label, zh, en = STATUS_WORDS[case.status]
    unit = case.unit.name if case.unit_id else ""
    number = case.duplicate_of.number if case.duplicate_of_id else ""
    return (
        label,
        zh.format(unit=unit or "处置单位", number=number),
        en.format(unit=unit or "the handling unit", number=number),
    )


def status_notes(case: Case) -> str:
    """E.g. "处置中 / being handled by 园区城市管理综合执法大队"."""
    label, _zh, en = status_words(case)
    return f"{label} / {en}"


def service_notice(case: Case) -> str | None:
    standard = getattr(case.category, "case_standard", None)
    if standard is None:
        return None
    limit = standard.time_limit
    zh, en = LIMIT_UNITS.get(
        standard.time_limit_unit, (standard.time_limit_unit, standard.time_limit_unit)
    )
    return f"处置时限 {limit} {zh} / disposal time limit: {limit} {en.removesuffix('s') if limit == 1 else en}"


def submission_of(case: Case) -> Submission | None:
    try:
        return case.open311_submission
    except ObjectDoesNotExist:
        return None


def report_photo(case: Case) -> Photo | None:
    """The first report photo, unless the request is withdrawn."""
    if is_withdrawn(case):
        return None
    photos = getattr(case, "report_photos", None)
    if photos is None:
        photos = list(case.photos.filter(stage=Photo.Stage.REPORT).order_by("id"))
    return photos[0] if photos else None


def request_dict(case: Case, *, photo_url: Callable[[Photo], str]) -> dict:
    """One service request as GET requests answers it (ids and codes as strings)."""
    submission = submission_of(case)
    photo = report_photo(case)
    withdrawn = is_withdrawn(case)
    submitted_media = (
        submission.media_urls[0] if submission and submission.media_urls and not withdrawn else None
    )
    return {
        "service_request_id": case.number,
        "status": open311_status(case),
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": str(case.category_id),
        "description": None if withdrawn else case.description or None,
        "agency_responsible": case.unit.name if case.unit_id else None,
        "service_notice": service_notice(case),
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.deadline),
        "address": case.address or None,
        "address_id": (submission.address_id or None) if submission else None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": photo_url(photo) if photo else submitted_media,
    }


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    text: str


def timeline(case: Case) -> list[Step]:
    """The public steps of a case, oldest first, in fixed Chinese words (no people, no reasons)."""
    steps = []
    for event in case.events.select_related("unit").order_by("seq"):
        text = _step_text(event)
        if text:
            steps.append(Step(at=event.at, text=text))
    return steps


def _step_text(event: CaseEvent) -> str:
    outcome = (event.data or {}).get("outcome", "")
    if (event.action, outcome) in OUTCOME_WORDS:
        return OUTCOME_WORDS[(event.action, outcome)]
    words = STEP_WORDS.get(event.action, "")
    unit = (event.data or {}).get("unit_name") or (event.unit.name if event.unit_id else "处置单位")
    return words.format(unit=unit, number=(event.data or {}).get("duplicate_of_number", ""))
