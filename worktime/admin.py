"""Admin for the working calendar (docs/domain.md §5, the administrator).

- Calendar days: list, filter by workday/source, drill down by date, search by note or by a date
  prefix (2026, 2026-10, 2026-10-01). A day saved through the change form becomes `manual`
  (typhoon days, local decisions), which seeding never overwrites.
- "Enter holiday notice": a form where next year's State Council notice is pasted as dates
  (holidays.apply_notice: every line checked first, nothing written if one is bad).
- Warnings on the admin index and the calendar list when the current year or the next 60 days
  have no rows (holidays.calendar_warnings), through the index template below.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from worktime.holidays import apply_notice
from worktime.models import Source, WorkingDay, WorkingPeriod

# The admin index shows the calendar warnings above the app list. The default admin site is
# Django's own (backend/admin_site.py), so its index template is set here rather than overridden
# by name (django.contrib.admin's templates come first in INSTALLED_APPS).
admin.site.index_template = "admin/worktime/index.html"

_DATE_PREFIX = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def date_prefix_range(term: str) -> tuple[dt.date, dt.date] | None:
    """[first, last] dates of a search term "2026", "2026-10" or "2026-10-01"; None otherwise."""
    match = _DATE_PREFIX.match(term.strip())
    if not match:
        return None
    year, month, day = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    try:
        if day:
            return dt.date(year, month, day), dt.date(year, month, day)
        if month:
            first = dt.date(year, month, 1)
            return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        return None


class NoticeForm(forms.Form):
    holidays = forms.CharField(
        label=_("Holidays (days off)"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 12, "cols": 60, "placeholder": "2027-01-01..2027-01-03 元旦"}
        ),
        help_text=_("One date or range per line, optionally followed by the holiday's name."),
    )
    workdays = forms.CharField(
        label=_("Make-up workdays (调休上班)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60, "placeholder": "2027-02-07 春节"}),
        help_text=_("Weekend days that are workdays, one per line."),
    )


@admin.register(WorkingDay)
class WorkingDayAdmin(admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "source", "note")
    list_filter = ("is_workday", "source")
    date_hierarchy = "date"
    search_fields = ("note",)
    fields = ("date", "is_workday", "note", "source")
    list_per_page = 62

    @admin.display(description=_("weekday"))
    def weekday(self, obj: WorkingDay) -> str:
        return obj.date.strftime("%a")

    def get_readonly_fields(
        self, request: HttpRequest, obj: WorkingDay | None = None
    ) -> tuple[str, ...]:
        return ("date", "source") if obj else ("source",)

    def save_model(self, request: HttpRequest, obj: WorkingDay, form, change: bool) -> None:
        """Whatever an administrator saves here is a local decision: seeding keeps it."""
        obj.source = Source.MANUAL
        super().save_model(request, obj, form, change)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        dates = date_prefix_range(search_term)
        if dates:
            return queryset.filter(date__gte=dates[0], date__lte=dates[1]), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        notice = path(
            "notice/",
            self.admin_site.admin_view(self.notice_view),
            name="worktime_workingday_notice",
        )
        return [notice, *super().get_urls()]

    def notice_view(self, request: HttpRequest) -> HttpResponse:
        """Paste a State Council holiday notice; redirect to the list with a summary when saved."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = NoticeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = apply_notice(form.cleaned_data["holidays"], form.cleaned_data["workdays"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    _(
                        "Holiday notice saved: %(created)d days created, %(updated)d updated, "
                        "%(kept)d days set by hand kept."
                    )
                    % {
                        "created": result.created,
                        "updated": result.updated,
                        "kept": result.kept_manual,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:worktime_workingday_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Enter holiday notice"),
        }
        return TemplateResponse(request, "admin/worktime/workingday/notice.html", context)


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(admin.ModelAdmin):
    list_display = ("name", "season_start", "season_end", "start", "end")
    ordering = ("season_start", "season_end", "start")
