from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from reports.labels import FIGURES, is_rate

register = template.Library()


@register.filter
def figure(value, key: str = ""):
    """A count as is; a rate with %; no data as —."""
    if value is None or value == "":
        return "—"
    if key and is_rate(key):
        return f"{value:.2f}%"
    if isinstance(value, float):
        return f"{value:g}"
    return value


@register.filter
def signed(value, key: str = ""):
    """环比: +3 / −2 for counts, +1.25 pp for rates, — without data, 0 as ±0."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    magnitude = abs(value)
    if key and is_rate(key):
        return sign + _("%(points).2f pp") % {"points": magnitude}
    return f"{sign}{magnitude:g}"


@register.filter
def label(key: str) -> str:
    return str(FIGURES.get(key, key))


@register.filter
def get(row: dict, key: str):
    return row.get(key) if isinstance(row, dict) else None


@register.filter
def moment(text: str | None) -> str:
    if not text:
        return "—"
    return dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
