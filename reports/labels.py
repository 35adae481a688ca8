"""Words around a report's numbers, translated when rendered (the snapshot keeps only keys)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
# The overall table of DOMAIN §7.1, in its order.
LEVELS = {"grid": _("Grids"), "community": _("Communities"), "street": _("Streets"), "district": _("Districts"),
          "unit": _("Handling units")}
KPI_KEYS = ("accepted", "registered", "registration_rate", "dispatched", "dispatch_rate", "due_disposal",
            "disposed", "disposal_rate", "disposal_on_time_rate", "due_closure", "closed", "closure_rate",
            "closed_on_time", "closure_on_time_rate", "overdue_open", "rework", "rework_rate", "extensions",
            "extension_rate", "suspended")
# Columns of the ranking tables (areas, grids, units).
AREA_COLUMNS = ("registered", "due_closure", "closed", "closure_rate", "closure_on_time_rate", "rework_rate",
                "score", "grade", "rank")
UNIT_COLUMNS = ("dispatched", "due_disposal", "disposed", "disposal_rate", "disposal_on_time_rate",
                "overdue_open", "rework", "score", "grade", "rank")
OFFICER_COLUMNS = ("reports", "valid_reports", "valid_report_rate", "verified", "verify_on_time_rate",
                   "checked", "check_on_time_rate", "coverage_rate")
SOURCES = {"patrol": _("Patrol reports"), "public": _("Public"), "hotline": _("Hotlines (12345, 12319)"),
           "other": _("Other (leaders, media, video)")}


def is_rate(key: str) -> bool:
    return key.endswith("_rate")


def note_text(note: dict) -> str:
    code = note["code"]
    if code == "calendar_missing":
        return str(_("The working calendar has no data for %(years)s: deadlines there were computed as "
                     "Monday–Friday working days (worktime fallback); figures may change once the State "
                     "Council notice is entered.") % {"years": "、".join(map(str, note["years"]))})
    if code == "calendar_fallback":
        return str(_("%(count)d dispatches or extensions in the period used the Monday–Friday fallback "
                     "calendar for their deadline.") % {"count": note["count"]})
    if code == "outside_grids":
        return str(_("%(count)d cases reported in the period lie outside every grid: they count in the "
                     "city's totals but in no area or grid.") % {"count": note["count"]})
    if code == "cutoff":
        return str(_("States (overdue, suspended, due for closure) are taken at the cut-off %(as_of)s; "
                     "the lists show each case as it was when the report was built.")
                   % {"as_of": note["as_of"][:16].replace("T", " ")})
    if code == "no_data":
        return str(_("“—” means no data: the rate's denominator is 0. Rates are computed from summed "
                     "counts, never averaged. Grids are named best or worst only with enough cases due."))
    if code == "rules_changed":
        return str(_("This edition counts by the evaluation rules of December 2026 (a feedback that failed "
                     "its check is no disposal; cases fed back on time and waiting for the centre are the "
                     "centre's backlog; self-handled cases count as accepted and registered; objects with "
                     "nothing due have no score and no rank; ties share a rank). Edition(s) %(revisions)s "
                     "of this period were built under the previous rules and stay as published.")
                   % {"revisions": "、".join(map(str, note["revisions"]))})
    return code
