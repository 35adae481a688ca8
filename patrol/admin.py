"""Patrol settings (the interval is configurable, DOMAIN §8) and track points, read-only."""

from __future__ import annotations

from django.contrib import admin

from patrol.models import PatrolSettings, TrackPoint


@admin.register(PatrolSettings)
class PatrolSettingsAdmin(admin.ModelAdmin):
    list_display = ["interval_seconds"]

    def has_add_permission(self, request):
        return not PatrolSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TrackPoint)
class TrackPointAdmin(admin.ModelAdmin):
    list_display = ["officer", "recorded_at", "received_at", "grid", "grid_distance_m", "accuracy_m"]
    list_filter = ["recorded_at"]
    search_fields = ["officer__username", "grid__code"]
    date_hierarchy = "recorded_at"
    list_select_related = ["officer", "grid"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
