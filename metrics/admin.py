from django.contrib import admin

from metrics.models import EvaluationSettings, RegistrationBand, ScoreIndicator, ScoreScheme


class ScoreIndicatorInline(admin.TabularInline):
    model = ScoreIndicator
    extra = 0


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """Composite score schemes: weighted indicators per object type (docs/domain.md §6)."""

    list_display = ["name", "kind"]
    inlines = [ScoreIndicatorInline]


@admin.register(RegistrationBand)
class RegistrationBandAdmin(admin.ModelAdmin):
    """立案数分值: points by registered cases per grid per week and region class."""

    list_display = ["region_class", "up_to", "points"]
    list_editable = ["up_to", "points"]
    list_filter = ["region_class"]


@admin.register(EvaluationSettings)
class EvaluationSettingsAdmin(admin.ModelAdmin):
    """Minimum samples for 十佳/十差 (docs/domain.md §6)."""

    list_display = ["__str__", "min_sample_grid", "min_sample_area", "min_sample_unit"]

    def has_add_permission(self, request) -> bool:
        return not EvaluationSettings.objects.exists()
