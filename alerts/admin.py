from django.contrib import admin

from alerts.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Stored alerts, for support: read-only."""

    list_display = ["user", "seq", "kind", "case", "created_at", "pushed_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "case__number"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
