"""Patrol settings (interval and dwell rule are configurable, docs/domain.md §8); track points and the daily
summaries, read-only."""

from __future__ import annotations

from django.contrib import admin

from patrol.models import GridDay, OfficerDay, PatrolSettings, TrackPoint


@admin.register(PatrolSettings)
class PatrolSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "interval_seconds",
        "dwell_points",
        "dwell_minutes",
        "gap_minutes",
        "max_speed_kmh",
        "max_accuracy_m",
        "unpatrolled_days",
    ]

    def has_add_permission(self, request):
        return not PatrolSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TrackPoint)
class TrackPointAdmin(admin.ModelAdmin):
    list_display = [
        "officer",
        "recorded_at",
        "received_at",
        "grid",
        "grid_distance_m",
        "accuracy_m",
    ]
    list_filter = ["recorded_at"]
    search_fields = ["officer__username", "grid__code"]
    date_hierarchy = "recorded_at"
    list_select_related = ["officer", "grid"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OfficerDay)
class OfficerDayAdmin(ReadOnlyAdmin):
    list_display = [
        "officer",
        "day",
        "points",
        "counted",
        "on_duty_seconds",
        "distance_m",
        "first_at",
        "last_at",
    ]
    list_filter = ["day"]
    search_fields = ["officer__username"]
    date_hierarchy = "day"
    list_select_related = ["officer"]


@admin.register(GridDay)
class GridDayAdmin(ReadOnlyAdmin):
    list_display = [
        "officer",
        "grid",
        "day",
        "points",
        "visit_points",
        "visit_seconds",
        "patrolled",
    ]
    list_filter = ["patrolled", "day"]
    search_fields = ["officer__username", "grid__code"]
    date_hierarchy = "day"
    list_select_related = ["officer", "grid"]
