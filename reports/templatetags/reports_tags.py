from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from metrics.reports import TZ
from reports.labels import FIGURES, is_rate, long_date
from reports.names import grid_label

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
    """环比: +3 / −2 for counts, +1.25 pp for rates, — without data, 0 as 持平."""
    if value is None:
        return "—"
    if value == 0:
        return _("unchanged")
    sign = "+" if value > 0 else "−"
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
    """A time of the snapshot (ISO, Asia/Shanghai) as 2026年11月30日 17:30."""
    if not text:
        return "—"
    local = dt.datetime.fromisoformat(text).astimezone(TZ)
    return f"{long_date(local.date())} {local:%H:%M}"


@register.filter
def place(row: dict) -> str:
    """Where a grid, case or hot spot is, as a street office names it: 街道 社区 网格."""
    return grid_label(row) if isinstance(row, dict) else ""


@register.filter
def overdue(case: dict) -> str:
    """How long a case has been overdue: 工作日, or calendar days for an urgent case (older
    snapshots: hours)."""
    days = case.get("overdue_days")
    if days is None:
        hours = case.get("overdue_hours")
        return "—" if hours is None else _("%(hours)s hours") % {"hours": f"{hours:g}"}
    if case.get("overdue_unit") == "calendar_days":
        return _("%(days)s calendar days") % {"days": f"{days:g}"}
    return _("%(days)s working days") % {"days": f"{days:g}"}
