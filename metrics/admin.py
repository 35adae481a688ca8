from django.contrib import admin

from metrics.models import RegistrationBand, ScoreIndicator, ScoreScheme


class ScoreIndicatorInline(admin.TabularInline):
    model = ScoreIndicator
    extra = 0


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """Composite score schemes: weighted indicators per object type (DOMAIN §6)."""

    list_display = ["name", "kind"]
    inlines = [ScoreIndicatorInline]


@admin.register(RegistrationBand)
class RegistrationBandAdmin(admin.ModelAdmin):
    """立案数分值: points by registered cases per grid per week and region class."""

    list_display = ["region_class", "up_to", "points"]
    list_editable = ["up_to", "points"]
    list_filter = ["region_class"]
