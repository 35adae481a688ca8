"""Words around a report's numbers, translated when rendered (the snapshot keeps only keys)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from metrics.reports import TZ

FIGURES = {
    "accepted": pgettext_lazy("figure", "Accepted"),  # 受理数
    "registered": pgettext_lazy("figure", "Registered"),  # 立案数
    "registration_rate": _("Registration rate"),
    "dispatched": pgettext_lazy("figure", "Dispatched"),
    "dispatch_rate": _("Dispatch rate"),
    "due_disposal": _("Due for disposal"),
    "disposed": pgettext_lazy("figure", "Disposed"),
    "disposal_rate": _("Disposal rate"),
    "disposed_on_time": _("Disposed on time"),
    "disposal_on_time_rate": _("On-time disposal rate"),
    "due_closure": _("Due for closure"),
    "closed": pgettext_lazy("figure", "Closed"),
    "closure_rate": _("Closure rate"),
    "closed_on_time": _("Closed on time"),
    "closure_on_time_rate": _("On-time closure rate"),
    "overdue_open": _("Overdue, not disposed"),
    "rework": pgettext_lazy("figure", "Rework"),
    "rework_rate": _("Rework rate"),
    "extensions": pgettext_lazy("figure", "Extensions"),
    "extension_rate": _("Extension rate"),
    "returns": pgettext_lazy("figure", "Returns"),
    "suspended": pgettext_lazy("figure", "Suspended"),
    "voided": pgettext_lazy("figure", "Voided"),
    "self_handled": pgettext_lazy("figure", "Self-handled"),
    "score": _("Score"),
    "grade": _("Grade"),
    "rank": _("Rank"),
    "reports": pgettext_lazy("figure", "Reports"),
    "valid_reports": _("Valid reports"),
    "valid_report_rate": _("Valid-report rate"),
    "verified": pgettext_lazy("figure", "Verified"),
    "verify_on_time_rate": _("On-time verification rate"),
    "checked": pgettext_lazy("figure", "Checked"),
    "check_on_time_rate": _("On-time check rate"),
    "coverage_rate": _("Patrol coverage"),
}
# The overall table of docs/domain.md §7.1, in its order.
LEVELS = {
    "grid": _("Grids"),
    "community": _("Communities"),
    "street": _("Streets"),
    "district": _("Districts"),
    "unit": _("Handling units"),
}
KPI_KEYS = (
    "accepted",
    "registered",
    "registration_rate",
    "dispatched",
    "dispatch_rate",
    "due_disposal",
    "disposed",
    "disposal_rate",
    "disposal_on_time_rate",
    "due_closure",
    "closed",
    "closure_rate",
    "closed_on_time",
    "closure_on_time_rate",
    "overdue_open",
    "rework",
    "rework_rate",
    "extensions",
    "extension_rate",
    "suspended",
)
# Columns of the ranking tables (areas, grids, units).
AREA_COLUMNS = (
    "registered",
    "due_closure",
    "closed",
    "closure_rate",
    "closure_on_time_rate",
    "rework_rate",
    "score",
    "grade",
    "rank",
)
UNIT_COLUMNS = (
    "dispatched",
    "due_disposal",
    "disposed",
    "disposal_rate",
    "disposal_on_time_rate",
    "overdue_open",
    "rework",
    "score",
    "grade",
    "rank",
)
OFFICER_COLUMNS = (
    "reports",
    "valid_reports",
    "valid_report_rate",
    "verified",
    "verify_on_time_rate",
    "checked",
    "check_on_time_rate",
    "coverage_rate",
)
SOURCES = {
    "patrol": _("Patrol reports"),
    "public": _("Public"),
    "hotline": _("Hotlines (12345, 12319)"),
    "other": _("Other (leaders, media, video)"),
}


def is_rate(key: str) -> bool:
    return key.endswith("_rate")


def note_text(note: dict) -> str:
    code = note["code"]
    if code == "calendar_missing":
        return str(
            _(
                "The working calendar has no data for %(years)s: deadlines there were computed as "
                "Monday–Friday working days (worktime fallback); figures may change once the State "
                "Council notice is entered."
            )
            % {"years": "、".join(map(str, note["years"]))}
        )
    if code == "calendar_fallback":
        return str(
            _(
                "%(count)d dispatches or extensions in the period used the Monday–Friday fallback "
                "calendar for their deadline."
            )
            % {"count": note["count"]}
        )
    if code == "outside_grids":
        return str(
            _(
                "%(count)d cases reported in the period lie outside every grid: they count in the "
                "city's totals but in no area or grid."
            )
            % {"count": note["count"]}
        )
    if code == "cutoff":
        return str(
            _(
                "States (overdue, suspended, due for closure) are counted %(as_of)s; the lists show "
                "each case as it was when the report was built; overdue durations are in working days "
                "of the working calendar (calendar days for urgent cases)."
            )
            % {"as_of": as_of_words(note["as_of"])}
        )
    if code == "no_data":
        return str(
            _(
                "“—” means no data: the rate's denominator is 0. Rates are computed from summed "
                "counts, never averaged. Grids are named best or worst only with enough cases due."
            )
        )
    if code == "rules_changed":
        return str(
            _(
                "This edition counts by the evaluation rules of December 2026 (a feedback that failed "
                "its check is no disposal; cases fed back on time and waiting for the centre are the "
                "centre's backlog; self-handled cases count as accepted and registered; objects with "
                "nothing due have no score and no rank; ties share a rank). Edition(s) %(revisions)s "
                "of this period were built under the previous rules and stay as published."
            )
            % {"revisions": "、".join(map(str, note["revisions"]))}
        )
    return code


# --- the official form (docs/domain.md §7): dates, the period, 环比 in words, the 总体情况 paragraph ---------


def _local(moment) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(TZ)


def long_date(day: dt.date | dt.datetime | str | None) -> str:
    """2026年12月3日 (in English: 3 December 2026)."""
    if day is None or day == "":
        return ""
    if isinstance(day, (str, dt.datetime)):
        day = _local(day).date()
    return str(
        _("%(year)d-%(month)d-%(day)d (long date)")
        % {"year": day.year, "month": day.month, "day": day.day}
    )


def _month_day(day: dt.date, *, year: bool = False) -> str:
    text = str(_("%(month)d/%(day)d") % {"month": day.month, "day": day.day})
    return (
        str(_("%(year)d %(rest)s (year before month and day)") % {"year": day.year, "rest": text})
        if year
        else text
    )


def _day_hour(moment: dt.datetime, *, year: bool = False, end: bool = False) -> str:
    """11月29日24时 for the end of a day cut at midnight; 11月23日 for its start; 3月8日17时 otherwise."""
    if moment.time() == dt.time(0, 0):
        if end:
            day = moment.date() - dt.timedelta(days=1)
            return str(_("%(day)s 24:00") % {"day": _month_day(day, year=year)})
        return _month_day(moment.date(), year=year)
    return str(
        _("%(day)s %(hour)d:%(minute)02d")
        % {
            "day": _month_day(moment.date(), year=year),
            "hour": moment.hour,
            "minute": moment.minute,
        }
    )


def period_words(start, end) -> str:
    """统计周期: "11月23日至11月29日" (a period cut at midnight names its first and last day; a year
    is named when the period crosses one), "3月8日17:00至3月15日17:00" for another cut-off."""
    first, after = _local(start), _local(end)
    crosses = first.year != (after - dt.timedelta(seconds=1)).year
    if first.time() == dt.time(0, 0) and after.time() == dt.time(0, 0):
        last = (after - dt.timedelta(days=1)).date()
        return str(
            _("%(first)s to %(last)s")
            % {
                "first": _month_day(first.date(), year=crosses),
                "last": _month_day(last, year=crosses),
            }
        )
    return str(
        _("%(first)s to %(last)s")
        % {"first": _day_hour(first, year=crosses), "last": _day_hour(after, year=crosses)}
    )


def as_of_words(as_of) -> str:
    """截至11月29日24时."""
    return str(_("as of %(moment)s") % {"moment": _day_hour(_local(as_of), end=True)})


def change_words(value, key: str = "") -> str:
    """环比 in words: 增加3件 / 减少2件 / 增加1.25个百分点 / 持平; no comparison without data."""
    if value is None:
        return str(_("no comparable data"))
    if value == 0:
        return str(_("unchanged"))
    if is_rate(key):
        amount = str(_("%(points).2f pp") % {"points": abs(value)})
    else:
        amount = str(_("%(count)s cases") % {"count": f"{abs(value):g}"})
    return str((_("up %(amount)s") if value > 0 else _("down %(amount)s")) % {"amount": amount})


def _rate(value) -> str:
    return "—" if value is None else f"{value:.2f}%"


PERIOD_WORDS = {
    "weekly": (pgettext_lazy("report", "This week"), pgettext_lazy("report", "the week before")),
    "monthly": (pgettext_lazy("report", "This month"), pgettext_lazy("report", "the month before")),
    "quarterly": (
        pgettext_lazy("report", "This quarter"),
        pgettext_lazy("report", "the quarter before"),
    ),
}
# The 环比 sentence names these figures, in this order.
CHANGE_KEYS = (
    "accepted",
    "registered",
    "closed",
    "closure_rate",
    "closure_on_time_rate",
    "disposal_rate",
    "overdue_open",
)


def overall_paragraph(data: dict) -> str:
    """The 总体情况 paragraph: the period's figures in one sentence and 环比 in words."""
    meta, current, change = data["meta"], data["overall"]["current"], data["overall"]["change"]
    this, before = PERIOD_WORDS.get(meta["kind"], PERIOD_WORDS["weekly"])
    figures = {k: (_rate(v) if is_rate(k) else v) for k, v in current.items()}
    text = str(
        _(
            "%(this)s %(accepted)s cases were accepted and %(registered)s registered (registration rate "
            "%(registration_rate)s); %(dispatched)s were dispatched (dispatch rate %(dispatch_rate)s); of "
            "%(due_disposal)s due for disposal %(disposed)s were disposed (disposal rate %(disposal_rate)s, on time "
            "%(disposal_on_time_rate)s); of %(due_closure)s due for closure %(closed)s were closed (closure rate "
            "%(closure_rate)s, on time %(closure_on_time_rate)s); %(as_of)s, %(overdue_open)s cases were overdue "
            "and not disposed, %(suspended)s suspended."
        )
        % {"this": this, "as_of": as_of_words(meta["as_of"]), **figures}
    )
    changes = [
        str(
            _("%(figure)s %(change)s")
            % {"figure": FIGURES[k], "change": change_words(change.get(k), k)}
        )
        for k in CHANGE_KEYS
    ]
    return text + str(
        _("Compared with %(before)s: %(changes)s.")
        % {"before": before, "changes": str(_(", ")).join(changes)}
    )
