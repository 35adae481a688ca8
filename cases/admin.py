"""Admin for the classification dictionary: standards, big classes, small classes with their case
standard inline. Validation lives on the models (clean(), constraints); the admin only shows it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from cases.models import (
    AutoDispatch,
    BigClass,
    CaseStandard,
    ClassificationStandard,
    DispatchRule,
    SmallClass,
)


@admin.register(ClassificationStandard)
class ClassificationStandardAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "big_class_count"]
    search_fields = ["code", "name"]
    actions = ["make_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_big=Count("big_classes"))

    @admin.display(description=_("big classes"), ordering="n_big")
    def big_class_count(self, obj: ClassificationStandard) -> int:
        return obj.n_big

    @admin.action(description=_("Make the selected standard the active one"))
    def make_active(self, request, queryset) -> None:
        """Switch the active standard: exactly one selected; the previous one is deactivated."""
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one standard to make active."), messages.ERROR
            )
            return
        standard = queryset.get()
        try:
            standard.make_active()
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request,
            _("%(code)s is now the active standard; the others are inactive.")
            % {"code": standard.code},
            messages.SUCCESS,
        )


@admin.register(BigClass)
class BigClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "standard"]
    list_filter = ["standard", "kind"]
    search_fields = ["code", "name"]
    list_select_related = ["standard"]


class CaseStandardInline(admin.StackedInline):
    model = CaseStandard
    can_delete = False
    fields = [
        ("time_limit", "time_limit_unit", "urgency"),
        "registration_condition",
        "closure_condition",
        ("default_handling_unit", "duplicate_radius_m"),
        "attribute_schema",
    ]


@admin.register(SmallClass)
class SmallClassAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "big_class_name", "standard", "kind", "time_limit", "active"]
    list_filter = ["big_class__standard", "big_class__kind", "big_class", "active"]
    search_fields = ["code", "name", "keywords"]
    list_select_related = ["big_class__standard", "case_standard"]
    inlines = [CaseStandardInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "big_class":  # each choice names its standard
            kwargs["queryset"] = BigClass.objects.select_related("standard")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("big class"), ordering="big_class__code")
    def big_class_name(self, obj: SmallClass) -> str:
        return f"{obj.big_class.code} {obj.big_class.name}"

    @admin.display(description=_("standard"), ordering="big_class__standard__code")
    def standard(self, obj: SmallClass) -> str:
        return obj.big_class.standard.code

    @admin.display(description=_("kind"), ordering="big_class__kind")
    def kind(self, obj: SmallClass) -> str:
        return obj.big_class.get_kind_display()

    @admin.display(description=_("disposal time limit"))
    def time_limit(self, obj: SmallClass) -> str:
        try:
            standard = obj.case_standard
        except CaseStandard.DoesNotExist:
            return "—"
        return f"{standard.time_limit} {standard.get_time_limit_unit_display()}"


# --- time rules (docs/domain.md §5) ------------------------------------------------------------------


from cases.models import Case, CaseEvent, DeadlineRules, StepLimit  # noqa: E402


@admin.register(StepLimit)
class StepLimitAdmin(admin.ModelAdmin):
    list_display = ["step", "time_limit", "time_limit_unit"]
    list_editable = ["time_limit", "time_limit_unit"]

    def has_add_permission(self, request):
        return False  # one row per step, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeadlineRules)
class DeadlineRulesAdmin(admin.ModelAdmin):
    list_display = ["yellow_share"]

    def has_add_permission(self, request):
        return not DeadlineRules.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


# --- cases: read-only here; every change goes through the workflow (cases/workflow.py) --------


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = [
        "seq",
        "action",
        "from_status",
        "to_status",
        "actor",
        "actor_role",
        "unit",
        "at",
        "reason",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are read-only in the admin: a status written here would bypass the workflow and its
    events. Act on cases through the console or the API."""

    list_display = [
        "number",
        "status",
        "source",
        "category",
        "grid",
        "unit",
        "reported_at",
        "deadline",
        "supervised",
    ]
    list_filter = ["status", "source", "supervised", "urgent"]
    search_fields = ["number", "address", "description"]
    date_hierarchy = "reported_at"
    inlines = [CaseEventInline]
    list_select_related = ["category", "grid", "unit"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DispatchRule)
class DispatchRuleAdmin(admin.ModelAdmin):
    """The responsibility list 权责清单; the city usually edits it in the directory workbook."""

    list_display = ["small_class", "big_class", "area_prefix", "unit", "priority"]
    list_filter = ["unit"]
    search_fields = [
        "area_prefix",
        "small_class__code",
        "small_class__name",
        "big_class__code",
        "unit__name",
    ]
    autocomplete_fields = ["small_class", "big_class", "unit"]
    list_select_related = ["small_class", "big_class__standard", "unit"]


@admin.register(AutoDispatch)
class AutoDispatchAdmin(admin.ModelAdmin):
    """Small classes the system dispatches by itself right after registration (cases/dispatch_rules.py)."""

    list_display = ["small_class", "enabled"]
    list_editable = ["enabled"]
    autocomplete_fields = ["small_class"]
