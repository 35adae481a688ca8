"""What a case is about (docs/domain.md §2): the versioned classification dictionary of components and
events, and the case standard 立案结案标准 of each small class.

A standard (CJ/T 214-2007, GB/T 47678.5-2026, local) holds big classes 大类, which hold small
classes 小类. Exactly one non-local standard is active per installation; the city's own classes live
in the `local` standard and are always available. Cases themselves arrive with the workflow issue
and will point at a SmallClass. Seed data: cases/categories.py.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "LOCAL_STANDARD",
    "CALENDAR_UNITS",
    "Kind",
    "LimitUnit",
    "Urgency",
    "ClassificationStandard",
    "BigClass",
    "SmallClass",
    "CaseStandard",
    "check_attribute_schema",
    "validate_attributes",
]

LOCAL_STANDARD = "local"


class Kind(models.TextChoices):
    COMPONENT = "component", _("Component")
    EVENT = "event", _("Event")


class LimitUnit(models.TextChoices):
    MINUTES = "minutes", _("Minutes")
    WORK_HOURS = "work_hours", _("Working hours")
    WORK_DAYS = "work_days", _("Working days")
    CALENDAR_HOURS = "calendar_hours", _("Calendar hours")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")


# Urgent cases count calendar time (docs/domain.md §2), so an urgent standard uses one of these units.
CALENDAR_UNITS = ["minutes", "calendar_hours", "calendar_days"]


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class StandardQuerySet(models.QuerySet):
    def active(self) -> StandardQuerySet:
        """The active non-local standard (at most one row: the database enforces it)."""
        return self.filter(active=True).exclude(code=LOCAL_STANDARD)


class ClassificationStandard(models.Model):
    """One version of the dictionary. The `local` standard ignores `active`: always available."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_('For example "GB/T 47678.5-2026"; "local" holds the city\'s own classes.'),
    )
    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(
        _("active"),
        default=False,
        help_text=_("New cases are classified in the active standard (plus the local classes)."),
    )

    objects = StandardQuerySet.as_manager()

    class Meta:
        verbose_name = _("classification standard")
        verbose_name_plural = _("classification standards")
        ordering = ["-active", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True) & ~Q(code=LOCAL_STANDARD),
                name="classification_one_active_standard",
                violation_error_message=_(
                    "Another standard is already active: only one standard besides local can be "
                    "active."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_local(self) -> bool:
        return self.code == LOCAL_STANDARD

    def clean(self) -> None:
        """Refuse a second active non-local standard, naming the one that is active now."""
        if not self.active or self.is_local:
            return
        other = ClassificationStandard.objects.active().exclude(pk=self.pk).first()
        if other is not None:
            raise ValidationError(
                {
                    "active": _(
                        "%(other)s is the active standard. Deactivate it first, or use the action "
                        "“Make the selected standard the active one”."
                    )
                    % {"other": other.code}
                }
            )

    def make_active(self) -> ClassificationStandard:
        """Make this the active standard and deactivate the previous one, in one transaction.

        Rules: the local standard cannot be made active (it is always available). Side effects:
        writes `active` on this row and on the previously active one.
        """
        if self.is_local:
            raise ValidationError(
                _("The local standard is always available; it cannot be made active.")
            )
        with transaction.atomic():
            # Deactivate first: the partial unique index allows one active row at any moment.
            ClassificationStandard.objects.active().exclude(pk=self.pk).update(active=False)
            self.active = True
            self.save(update_fields=["active"])
        return self


class BigClass(models.Model):
    """大类: a group of small classes of one kind within one standard (e.g. 06 市容环境类)."""

    standard = models.ForeignKey(
        ClassificationStandard,
        verbose_name=_("standard"),
        on_delete=models.PROTECT,
        related_name="big_classes",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    code = models.CharField(_("code"), max_length=8)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("big class")
        verbose_name_plural = _("big classes")
        ordering = ["standard__code", "kind", "code"]
        constraints = [
            # Per kind: GB/T 47678.5-2026 numbers components and matters from 01 each.
            models.UniqueConstraint(
                fields=["standard", "kind", "code"], name="big_class_code_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="big_class_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.standard.code}, {self.get_kind_display()})"


class SmallClassQuerySet(models.QuerySet):
    def available(self) -> SmallClassQuerySet:
        """Small classes a new case may use: active ones of the active standard, and local ones."""
        return self.filter(active=True).filter(
            Q(big_class__standard__active=True) | Q(big_class__standard__code=LOCAL_STANDARD)
        )


class SmallClass(models.Model):
    """小类: what a case is classified as (e.g. 06001 私搭乱建); code unique per standard + kind."""

    big_class = models.ForeignKey(
        BigClass,
        verbose_name=_("big class"),
        on_delete=models.PROTECT,
        related_name="small_classes",
    )
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name"), max_length=100)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("Other words people use for it, for search.")
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive classes stay on old cases but are not offered for new ones."),
    )

    objects = SmallClassQuerySet.as_manager()

    class Meta:
        verbose_name = _("small class")
        verbose_name_plural = _("small classes")
        ordering = ["big_class__standard__code", "big_class__kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["big_class", "code"], name="small_class_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def standard(self) -> ClassificationStandard:
        return self.big_class.standard

    @property
    def kind(self) -> str:
        return self.big_class.kind

    def clean(self) -> None:
        """The code starts with its big class code and is unique within the standard and kind."""
        if not self.big_class_id:
            return
        big = self.big_class
        if not self.code.startswith(big.code):
            raise ValidationError(
                {
                    "code": _("A small class code starts with its big class code (%(big)s).")
                    % {"big": big.code}
                }
            )
        clash = SmallClass.objects.filter(
            big_class__standard=big.standard_id, big_class__kind=big.kind, code=self.code
        ).exclude(pk=self.pk)
        if clash.exists():
            raise ValidationError(
                {
                    "code": _("%(standard)s already has a small class %(code)s.")
                    % {"standard": big.standard.code, "code": self.code}
                }
            )


class CaseStandard(models.Model):
    """立案结案标准 of one small class: when to register a case, how long the handling unit has,
    when to close it, who handles it by default, and which structured attributes a case carries."""

    small_class = models.OneToOneField(
        SmallClass,
        verbose_name=_("small class"),
        on_delete=models.CASCADE,
        related_name="case_standard",
    )
    registration_condition = models.TextField(_("registration condition"), blank=True)
    time_limit = models.PositiveIntegerField(
        _("disposal time limit"), default=1, validators=[MinValueValidator(1)]
    )
    time_limit_unit = models.CharField(
        _("time limit unit"), max_length=20, choices=LimitUnit.choices, default=LimitUnit.WORK_DAYS
    )
    closure_condition = models.TextField(_("closure condition"), blank=True)
    default_handling_unit = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("default handling unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_standards",
        limit_choices_to={"kind": "handling_unit"},
    )
    urgency = models.CharField(
        _("urgency"),
        max_length=10,
        choices=Urgency.choices,
        default=Urgency.NORMAL,
        help_text=_(
            "Urgent cases count calendar time: use minutes, calendar hours or calendar days."
        ),
    )
    duplicate_radius_m = models.PositiveIntegerField(
        _("duplicate radius (m)"),
        default=30,
        help_text=_(
            "Open cases of this class this close to a new report are offered as duplicates."
        ),
    )
    attribute_schema = models.JSONField(
        _("attribute schema"),
        default=dict,
        blank=True,
        help_text=_(
            "JSON Schema (Draft 2020-12) of the structured attributes a case of this class "
            "carries, e.g. area in m²; {} for none."
        ),
    )

    class Meta:
        verbose_name = _("case standard")
        verbose_name_plural = _("case standards")
        constraints = [
            models.CheckConstraint(
                condition=Q(time_limit_unit__in=LimitUnit.values), name="case_standard_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(urgency__in=Urgency.values), name="case_standard_urgency_valid"
            ),
            models.CheckConstraint(
                condition=Q(time_limit__gte=1), name="case_standard_time_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(urgency="normal") | Q(time_limit_unit__in=CALENDAR_UNITS),
                name="case_standard_urgent_uses_calendar_time",
                violation_error_message=_(
                    "An urgent case standard counts calendar time: use minutes, "
                    "calendar hours or calendar days."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.small_class}: {self.time_limit} {self.get_time_limit_unit_display()}"

    def clean(self) -> None:
        """Urgent ⇒ a calendar unit; the default unit is a handling unit; the schema is valid."""
        from people.models import Organisation

        errors: dict[str, Any] = {}
        if self.urgency == Urgency.URGENT and self.time_limit_unit not in CALENDAR_UNITS:
            errors["time_limit_unit"] = _(
                "An urgent case standard counts calendar time: use minutes, "
                "calendar hours or calendar days."
            )
        unit = self.default_handling_unit
        if unit is not None and unit.kind != Organisation.Kind.HANDLING_UNIT:
            errors["default_handling_unit"] = _("%(org)s is not a handling unit.") % {"org": unit}
        try:
            check_attribute_schema(self.attribute_schema)
        except ValidationError as exc:
            errors["attribute_schema"] = exc.messages
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # A bad schema never reaches the database, whichever way the row is written.
        check_attribute_schema(self.attribute_schema)
        super().save(*args, **kwargs)


def check_attribute_schema(schema: object) -> None:
    """Raise ValidationError unless `schema` is {} or a Draft 2020-12 JSON Schema of an object.

    The message says where in the schema the problem is. No side effects.
    """
    if not isinstance(schema, dict):
        raise ValidationError(
            _("The attribute schema must be a JSON object ({} for no attributes)."),
            code="schema_not_object",
        )
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or _("the top level")
        raise ValidationError(
            _("Not a valid JSON Schema (Draft 2020-12) at %(where)s: %(problem)s"),
            code="invalid_schema",
            params={"where": where, "problem": exc.message},
        ) from None
    if schema and schema.get("type") != "object":
        raise ValidationError(
            _('The attribute schema must describe an object: "type": "object".'),
            code="schema_not_object",
        )


def validate_attributes(small_class: SmallClass, data: object) -> None:
    """Check a case's structured attributes against its small class's attribute schema.

    Rules: the attributes are a JSON object; a class without a case standard, or with the empty
    schema {}, accepts any object. Raises ValidationError keyed by the offending field, each
    message starting with the field's name (NON_FIELD_ERRORS when no one field is to blame).
    No side effects.
    """
    if not isinstance(data, dict):
        raise ValidationError({NON_FIELD_ERRORS: [_("The attributes must be a JSON object.")]})
    errors: dict[str, list[str]] = {}
    for error in jsonschema.Draft202012Validator(_attribute_schema(small_class)).iter_errors(data):
        for field in _error_fields(error):
            errors.setdefault(field, []).append(f"{field}: {error.message}")
    if errors:
        raise ValidationError(errors)


def _attribute_schema(small_class: SmallClass) -> dict:
    try:
        return small_class.case_standard.attribute_schema
    except CaseStandard.DoesNotExist:
        return {}


def _error_fields(error: jsonschema.ValidationError) -> list[str]:
    """The attribute(s) a jsonschema error is about: its path, or the property it misses/forbids."""
    if error.path:
        return [str(error.path[0])]
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":  # one error per missing property, named in its message
        missing = [name for name in error.validator_value if name not in instance]
        return (
            [name for name in missing if repr(name) in error.message][:1]
            or missing[:1]
            or [NON_FIELD_ERRORS]
        )
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        return [name for name in instance if name not in known] or [NON_FIELD_ERRORS]
    return [NON_FIELD_ERRORS]
