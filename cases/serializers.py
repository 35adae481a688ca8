"""Shapes of case data: input serializers (validation only, never save) and output functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend import reference
from cases import deadlines
from cases.models import Case, CaseEvent, Photo, SmallClass, Source, Status
from cases.text import clean_json, clean_text
from people.models import CENTRE_ROLES, Organisation, Role

MAX_PHOTOS = 9

# Ids compared with database integer columns: beyond 64 bits SQLite's driver raises (a 500), so a
# query parameter outside this range is a 400.
MIN_ID, MAX_ID = -(2**63), 2**63 - 1


# JSON a client sends in `attributes` and `contact`: bounded before anything is written (a body
# nested ~300 levels deep answered 500 after the case was stored; issue #16 item 2).
MAX_JSON_DEPTH = 8
MAX_JSON_BYTES = 16 * 1024


def json_problem(
    value, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> str | None:
    """Why `value` is not an acceptable JSON input (too deep, too large), or None. Iterative: a
    deep value cannot exhaust the stack here."""
    stack, size = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return str(_("nested deeper than %(n)d levels") % {"n": max_depth})
        if isinstance(item, dict):
            size += sum(len(str(k)) + 4 for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        else:
            size += len(str(item)) + 2
        if size > max_bytes:
            return str(_("larger than %(n)d bytes") % {"n": max_bytes})
    return None


class BoundedJSONField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if problem := json_problem(value):
            raise serializers.ValidationError(problem)
        return clean_json(value)


class CleanCharField(serializers.CharField):
    """Free text without control characters (newline and tab stay) or Unicode non-characters
    (cases/text.py): they are dropped, as Open311 does, before anything is stored."""

    def to_internal_value(self, data):
        return clean_text(super().to_internal_value(data))


class StrictFloatField(serializers.FloatField):
    """A number, or a numeric string (forms send those); never a boolean (`true` is not 1.0)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            self.fail("invalid")
        return super().to_internal_value(data)


class LocationFields(serializers.Serializer):
    lon = StrictFloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    lat = StrictFloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    address = CleanCharField(required=False, allow_blank=True, max_length=300, default="")

    def validate(self, data):
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise serializers.ValidationError(
                {"lat" if data.get("lat") is None else "lon": _("Give lon and lat together.")}
            )
        return data


def available_classes() -> dict[int, SmallClass]:
    """The small classes a new case may use, by id, with what a create reads of them (big class,
    standard, case standard): a per-process copy kept until a reference row changes
    (backend/reference.py). Shared between requests: read them, never modify them."""
    return reference.cached(
        "available-classes",
        lambda: {
            c.pk: c
            for c in SmallClass.objects.available().select_related(
                "big_class__standard", "case_standard"
            )
        },
    )


def category_of(case: Case) -> SmallClass:
    """`case.category` without a query: the loaded one, else the cached class (an inactive class
    is read)."""
    if Case.category.is_cached(case):
        return case.category
    return available_classes().get(case.category_id) or case.category


class AvailableClassField(serializers.PrimaryKeyRelatedField):
    """A small class id → the class, from `available_classes()` (no query per request); the same
    answers as PrimaryKeyRelatedField over `SmallClass.objects.available()`."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = SmallClass._meta.pk.get_prep_value(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        found = available_classes().get(pk)
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found


class CaseCreateSerializer(LocationFields):
    category = AvailableClassField(
        queryset=SmallClass.objects.available(),
        help_text=_("Small class id (GET /api/categories/)"),
    )
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    description = CleanCharField(required=False, allow_blank=True, max_length=4000, default="")
    attributes = BoundedJSONField(required=False, default=dict)
    client_uuid = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=_("Made once per report on the device; retries reuse it."),
    )
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    self_handle = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("Fixed on the spot by the reporting officer (after-photo required)."),
    )
    contact = serializers.DictField(
        child=CleanCharField(max_length=200), required=False, default=dict
    )

    def validate_contact(self, value: dict) -> dict:
        if len(value) > 20:
            raise serializers.ValidationError(_("At most 20 contact entries."))
        return value

    def validate(self, data):
        data = super().validate(data)
        if data.get("lon") is None and not data.get("address"):
            raise serializers.ValidationError(
                {"lon": _("Give the location (lon and lat) or an address.")}
            )
        if not isinstance(data.get("attributes"), dict):
            raise serializers.ValidationError(
                {"attributes": _("attributes must be a JSON object.")}
            )
        return data


class TransitionSerializer(LocationFields):
    action = serializers.CharField(max_length=24)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text=_("The version you saw; or send If-Match instead.")
    )
    reason = CleanCharField(required=False, allow_blank=True, max_length=2000, default="")
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    duplicate_of = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text=_("Id or case number of the case this one duplicates"),
    )
    amount_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=60 * 24 * 365
    )
    assignee = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_ID,
        max_value=MAX_ID,
        help_text=_("assign: the id of a member of the case's unit"),
    )
    # feedback on an illegal-construction (ledger) case, docs/domain.md §12 and docs/campaigns.md
    disposition = serializers.ChoiceField(
        choices=["demolish", "rectify", "legalise", "confiscate"],
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Feedback on an illegal-construction case (required there): demolish 拆除, rectify 整改, "
            "legalise 补办, confiscate 没收"
        ),
    )
    demolished_m2 = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=Decimal("0.01"),
        max_value=Decimal("100000"),
        help_text=_("m² demolished by this feedback (demolish only; partial allowed)"),
    )


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "binary"}})
class PhotoFiles(serializers.ListField):
    """Uploaded photo files (documented as binary parts of a multipart form)."""

    child = serializers.FileField()


class TransitionFormSerializer(TransitionSerializer):
    """The multipart form of a transition: the same fields, plus the photos (feedback, check,
    self_handle; at most 9, JPEG/PNG/WebP/HEIC)."""

    photos = PhotoFiles(
        required=False,
        max_length=MAX_PHOTOS,
        help_text=_("Photos of this step (repeat the field for several)"),
    )


# A date filter before this selects every case anyway; 0001-01-01 at Shanghai midnight is before year 1
# in UTC and would overflow (a 500 schemathesis found): such dates mean "from the beginning".
EARLIEST = dt.date(1970, 1, 1)


class CaseListQuery(serializers.Serializer):
    status = serializers.CharField(required=False, help_text=_("Comma-separated statuses"))
    area = serializers.CharField(
        required=False, max_length=15, help_text=_("Area or grid code (prefix)")
    )
    grid = serializers.CharField(required=False, max_length=15)
    category = serializers.IntegerField(required=False, min_value=MIN_ID, max_value=MAX_ID)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    supervised = serializers.BooleanField(required=False, allow_null=True, default=None)
    unit = serializers.IntegerField(required=False, min_value=MIN_ID, max_value=MAX_ID)
    start = serializers.DateField(
        required=False, help_text=_("Reported on or after (Asia/Shanghai date)")
    )
    end = serializers.DateField(required=False, help_text=_("Reported before (Asia/Shanghai date)"))
    q = serializers.CharField(
        required=False, max_length=100, help_text=_("Case number, address or description text")
    )

    def validate_start(self, value: dt.date) -> dt.date:
        return max(value, EARLIEST)

    def validate_end(self, value: dt.date) -> dt.date:
        return max(value, EARLIEST)

    def validate_status(self, value: str) -> list[str]:
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in Status.values]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown status: %(s)s. Known: %(known)s.")
                % {"s": ", ".join(unknown), "known": ", ".join(Status.values)}
            )
        return statuses


# --- output ----------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username}


def photo_dict(photo: Photo) -> dict:
    def url(kind: str) -> str:
        return reverse("case-photo", args=[photo.pk, kind])

    return {
        "id": photo.pk,
        "stage": photo.stage,
        "thumbnail": url("thumbnail"),
        "public": url("public"),
        "original": url("original"),
        "width": photo.width,
        "height": photo.height,
        "taken_at": _iso(photo.taken_at),
        "gps": [photo.gps_lon, photo.gps_lat] if photo.gps_lon is not None else None,
        "flags": photo.flags,
    }


def case_row(case: Case, now=None) -> dict:
    """The list shape: enough for a table row or a map marker."""
    now = now or timezone.now()
    grid = case.grid
    return {
        "id": case.pk,
        "number": case.number,
        "status": case.status,
        "status_display": case.get_status_display(),
        "version": case.version,
        "source": case.source,
        "category": {
            "id": case.category_id,
            "code": case.category.code,
            "name": case.category.name,
        },
        "grid": {"code": grid.code, "name": grid.name} if grid else None,
        "outside_grid": case.outside_grid,
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "description": case.description[:200],
        "unit": {"id": case.unit_id, "name": case.unit.name} if case.unit_id else None,
        "reported_at": _iso(case.reported_at),
        "deadline": _iso(case.deadline),
        "light": deadlines.traffic_light(case, now),
        "supervised": case.supervised,
        "pending_request": case.pending_request or None,
        "assignee": case.assignee_id,
    }


def event_dict(event: CaseEvent, photos=None) -> dict:
    """`photos`: the event's photos when the caller has them (else read, or prefetched)."""
    return {
        "seq": event.seq,
        "action": event.action,
        "from": event.from_status or None,
        "to": event.to_status,
        "actor": _person(event.actor),
        "role": event.actor_role,
        "unit": {"id": event.unit_id, "name": event.unit.name} if event.unit_id else None,
        "at": _iso(event.at),
        "reason": event.reason,
        "data": event.data,
        "photos": [photo_dict(p) for p in (event.photos.all() if photos is None else photos)],
    }


def case_detail(case: Case, user, *, fresh: bool = False, duplicates: bool = False) -> dict:
    """Everything about one case for `user`: timeline, photos, allowed actions, and possible
    duplicates for the centre (or for anyone with `duplicates=True`: the reporter's 201).
    `fresh`: `case` is the object `workflow.report_case` just returned, with its category, grid and
    reporter loaded and `case.made` (its event and photos) — nothing is read again."""
    from cases.access import GRID_OUTLINES, sees_everything, visible_cases
    from cases.duplicates import duplicate_candidates
    from cases.workflow import allowed_actions

    if _public_reader(user):
        return public_case_detail(case, user, duplicates=duplicates)
    if fresh:
        events, photos = [case.made.event], case.made.photos
    else:
        case = (
            Case.objects.select_related(
                "category__big_class__standard", "grid__community", "unit", "reporter"
            )
            .defer(*GRID_OUTLINES)
            .get(pk=case.pk)
        )
        events = case.events.select_related("actor", "unit").prefetch_related("photos")
        photos = case.photos.all()
    body = case_row(case)
    body.update(
        {
            "description": case.description,
            "attributes": case.attributes,
            "urgent": case.urgent,
            "category": {
                **body["category"],
                "big_class": case.category.big_class.name,
                "standard": case.category.big_class.standard.code,
            },
            "reporter": _person(case.reporter),
            "occurred_at": _iso(case.occurred_at),
            "dispatched_at": _iso(case.dispatched_at),
            "disposed_at": _iso(case.disposed_at),
            "closed_at": _iso(case.closed_at),
            "duplicate_of": case.duplicate_of_id,
            "evidence_flags": case.evidence_flags,
            "events": [event_dict(e, photos if fresh else None) for e in events],
            "photos": [photo_dict(p) for p in photos],
            "allowed_actions": allowed_actions(case, user) if user is not None else [],
        }
    )
    if "feedback" in body["allowed_actions"]:  # a ledger case's feedback names its disposition
        body["ledger_entry"] = _ledger_entry(case)
    centre = user is not None and (sees_everything(user) or user.role in CENTRE_ROLES)
    if centre:
        body["reporter_contact"] = case.reporter_contact
    if centre or (duplicates and user is not None):
        body["duplicates"] = (
            duplicate_list(
                duplicate_candidates(
                    category_id=case.category_id,
                    lon=case.lon,
                    lat=case.lat,
                    exclude_id=case.pk,
                    radius=_duplicate_radius(case.category),
                    among=visible_cases(user),
                )
            )
            if case.is_open
            else []
        )
    return body


def _ledger_entry(case: Case) -> dict | None:
    """The illegal-construction ledger entry a case made (docs/domain.md §12), or None: its feedback then
    needs `disposition`, and `demolished_m2` up to `remaining_m2` for a demolition."""
    from campaigns.models import LedgerLink

    link = LedgerLink.objects.select_related("entry").filter(case=case).first()
    if link is None:
        return None
    entry = link.entry
    return {
        "number": entry.number,
        "area_m2": str(entry.area_m2),
        "remaining_m2": str(entry.remaining_m2),
    }


def _public_reader(user) -> bool:
    return user is not None and not user.is_superuser and user.role == Role.PUBLIC


def public_case_detail(case: Case, user, *, duplicates: bool = False) -> dict:
    """A citizen's own case: what the public status page shows, nothing more (open311/public.py) —
    the status in words, fixed step words, the handling unit's name, their own report photos;
    no staff names, no reasons staff wrote, no internal data."""
    from open311 import public

    case = Case.objects.select_related("category", "unit", "duplicate_of").get(pk=case.pk)
    label, zh, en = public.status_words(case)
    photos = case.photos.filter(stage=Photo.Stage.REPORT).order_by("id")
    body = {
        "id": case.pk,
        "number": case.number,
        "status": case.status,
        "status_display": label,
        "status_notes": f"{zh} / {en}",
        "version": case.version,
        "source": case.source,
        "category": {
            "id": case.category_id,
            "code": case.category.code,
            "name": case.category.name,
        },
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "description": "" if public.is_withdrawn(case) else case.description,
        "unit": {"id": case.unit_id, "name": case.unit.name} if case.unit_id else None,
        "reported_at": _iso(case.reported_at),
        "deadline": _iso(case.deadline),
        "closed_at": _iso(case.closed_at),
        "events": [{"at": _iso(step.at), "text": step.text} for step in public.timeline(case)],
        "photos": []
        if public.is_withdrawn(case)
        else [
            {
                "id": p.pk,
                "stage": p.stage,
                "thumbnail": reverse("case-photo", args=[p.pk, "thumbnail"]),
                "public": reverse("case-photo", args=[p.pk, "public"]),
            }
            for p in photos
        ],
        "allowed_actions": [],
    }
    if duplicates:
        body["duplicates"] = []  # others' cases are not theirs to see
    return body


def _duplicate_radius(category: SmallClass) -> float | None:
    """The class's duplicate radius when its case standard is already loaded or the class is among
    the cached available ones (else None: looked up)."""
    if not SmallClass.case_standard.is_cached(category):
        category = available_classes().get(category.pk)
        if category is None:
            return None
    standard = getattr(category, "case_standard", None)
    return (standard.duplicate_radius_m if standard else None) or 30


def duplicate_list(pairs) -> list[dict]:
    return [
        {
            "id": c.pk,
            "number": c.number,
            "status": c.status,
            "distance_m": round(d, 1),
            "reported_at": _iso(c.reported_at),
            "description": c.description[:100],
        }
        for c, d in pairs
    ]
