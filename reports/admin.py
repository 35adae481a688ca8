from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from reports.jobs import links
from reports.models import Report, ReportSettings, State


@admin.register(ReportSettings)
class ReportSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (None, {"fields": ("city", "issuer", "title", "recipients", "copy_to")}),
        (
            _("Periods and publication"),
            {
                "fields": (
                    "week_starts_on",
                    "cutoff",
                    "publish_delay_hours",
                    "auto_publish_hours",
                    "auto_weekly",
                    "auto_monthly",
                    "auto_quarterly",
                )
            },
        ),
        (
            _("Numbering"),
            {
                "fields": (
                    "weekly_serial_offset",
                    "monthly_serial_offset",
                    "quarterly_serial_offset",
                )
            },
        ),
        (_("Content"), {"fields": ("top_n", "min_cases_ranked", "hot_spot_min", "trend_periods")}),
    )

    def has_add_permission(self, request):
        return not ReportSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Read-only: reports are requested from /reports/ or the API and built by the scheduler."""

    list_display = (
        "kind",
        "label",
        "revision",
        "state",
        "year",
        "issue",
        "serial",
        "published_at",
        "open",
    )
    list_filter = ("kind", "state", "year")
    exclude = ("data",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("report"))
    def open(self, obj: Report):
        if obj.published:
            return format_html('<a href="{}">{}</a>', links(obj)["html"], _("Read"))
        if obj.state == State.DRAFT:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("report-review", args=[obj.pk]),
                _("read and publish"),
            )
        return "—"
