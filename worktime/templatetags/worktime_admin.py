"""{% calendar_warnings as warnings %} for the admin index and the calendar list (docs/domain.md §5:
a year without calendar data says so loudly)."""

from __future__ import annotations

from django import template

from worktime.holidays import calendar_warnings as _calendar_warnings

register = template.Library()


@register.simple_tag
def calendar_warnings() -> list[str]:
    return _calendar_warnings()
