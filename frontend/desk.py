"""The handling unit's desk (处置子系统, docs/units.md): which of a unit's cases sit in which work
queue, the case panel's facts, and the unit's own figures. The desk's pages and partials
(frontend/views.py, templates/frontend/desk/) render what these functions return.

Visibility goes through cases.access (a unit member sees what the unit holds or held); actions
through cases.workflow (allowed_actions and transition); figures through metrics.scores.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from cases import deadlines
from cases.access import visible_cases
from cases.models import Case, CaseEvent, Status
from people.models import Role, User

ROW_LIMIT = 100  # rows shown per queue; the count is always the full count
ANSWERS = (
    "approve_return",
    "deny_return",
    "approve_extension",
    "deny_extension",
    "approve_suspension",
    "deny_suspension",
)
ANSWERS_SHOWN_FOR = dt.timedelta(days=7)

# key → (label, hint), in the order shown.
QUEUES: dict[str, tuple] = {
    "new": (
        pgettext_lazy("desk", "To handle"),
        pgettext_lazy("desk", "Dispatched to the unit, newest first"),
    ),
    "due_soon": (
        pgettext_lazy("desk", "Due soon"),
        pgettext_lazy("desk", "Yellow: most of the time allowed is used"),
    ),
    "overdue": (
        pgettext_lazy("desk", "Overdue"),
        pgettext_lazy("desk", "Red: past the disposal deadline"),
    ),
    "rework": (
        pgettext_lazy("desk", "Rework"),
        pgettext_lazy("desk", "The check failed: back to the unit"),
    ),
    "requests": (
        pgettext_lazy("desk", "Requests"),
        pgettext_lazy("desk", "Extension, return or suspension asked for, and the answers"),
    ),
    "suspended": (
        pgettext_lazy("desk", "Suspended"),
        pgettext_lazy("desk", "Suspended with the dispatcher's approval"),
    ),
    "checking": (
        pgettext_lazy("desk", "Fed back, to check"),
        pgettext_lazy("desk", "Waiting for the officer's check"),
    ),
}


def is_desk_user(user: User) -> bool:
    """Members of a handling unit (with an organisation) work at the desk."""
    return (
        user.is_authenticated and user.role == Role.UNIT_MEMBER and user.organisation_id is not None
    )


def unit_cases(user: User) -> QuerySet[Case]:
    """The cases the member's unit holds now (visible ones only, through cases.access)."""
    return visible_cases(user).filter(unit_id=user.organisation_id)


@dataclass
class Queue:
    key: str
    label: str
    hint: str
    rows: list[Case] = field(default_factory=list)
    count: int = 0
    answers: list[CaseEvent] = field(default_factory=list)


def search(rows: QuerySet[Case], q: str) -> QuerySet[Case]:
    """By case number (whole or its start) or address."""
    q = q.strip()
    if not q:
        return rows
    return rows.filter(Q(number__startswith=q) | Q(address__icontains=q))


def queues(user: User, *, q: str = "", now: dt.datetime | None = None) -> list[Queue]:
    """The unit's work queues for `user`, each with its full count and up to ROW_LIMIT rows; a case
    assigned to `user` comes first in every queue (二级派遣)."""
    now = now or timezone.now()
    rows = search(unit_cases(user), q).select_related("category", "grid", "assignee")
    open_rows = list(rows.filter(status__in=(Status.HANDLING, Status.SUSPENDED, Status.CHECKING)))
    handling = [c for c in open_rows if c.status == Status.HANDLING]
    reworked = set(
        CaseEvent.objects.filter(case_id__in=[c.pk for c in handling], action="check").values_list(
            "case_id", flat=True
        )
    )
    for case in open_rows:
        case.light = deadlines.traffic_light(case, now)
        case.rework = case.pk in reworked
        case.mine = case.assignee_id == user.pk
        case.left = time_left(case, now)
    members = {
        "new": [c for c in handling if not c.rework and not c.pending_request],
        "due_soon": [c for c in handling if c.light == "yellow"],
        "overdue": [c for c in handling if c.light == "red"],
        "rework": [c for c in handling if c.rework],
        "requests": [c for c in handling if c.pending_request],
        "suspended": [c for c in open_rows if c.status == Status.SUSPENDED],
        "checking": [c for c in open_rows if c.status == Status.CHECKING],
    }
    order = {
        "new": lambda c: (not c.mine, -(c.dispatched_at or now).timestamp(), -c.pk),
        "overdue": lambda c: (not c.mine, c.deadline or now, c.pk),
        "due_soon": lambda c: (not c.mine, c.deadline or now, c.pk),
    }
    result = []
    for key, (label, hint) in QUEUES.items():
        chosen = sorted(
            members[key], key=order.get(key, lambda c: (not c.mine, c.deadline or now, c.pk))
        )
        queue = Queue(
            key=key, label=str(label), hint=str(hint), rows=chosen[:ROW_LIMIT], count=len(chosen)
        )
        if key == "requests":
            queue.answers = recent_answers(user, q=q, now=now)
        result.append(queue)
    return result


def recent_answers(user: User, *, q: str = "", now: dt.datetime) -> list[CaseEvent]:
    """The dispatcher's answers to the unit's requests in the last 7 days, newest first."""
    events = (
        CaseEvent.objects.filter(
            unit_id=user.organisation_id,
            action__in=ANSWERS,
            at__gte=now - ANSWERS_SHOWN_FOR,
            case__in=search(visible_cases(user), q),
        )
        .select_related("case__category")
        .order_by("-at", "-pk")
    )
    events = list(events[:20])
    for event in events:
        event.request_label = REQUEST_LABELS.get(event.data.get("request", ""), "")
    return events


def time_left(case: Case, now: dt.datetime) -> dict | None:
    """The disposal deadline in the case's time (working minutes, or calendar ones when urgent):
    {"minutes": left (negative: overdue by), "working": bool}, or None without a running clock."""
    if case.deadline is None or case.status not in (Status.HANDLING, Status.SUSPENDED):
        return None
    moment = case.suspended_since or now
    if case.urgent:
        minutes = (case.deadline - moment).total_seconds() / 60
    elif moment <= case.deadline:
        minutes = deadlines.working_minutes(moment, case.deadline)
    else:
        minutes = -deadlines.working_minutes(case.deadline, moment)
    hours = f"{abs(minutes) / 60:.1f}"
    if case.urgent:
        text = (
            pgettext("desk", "%(h)s hours left")
            if minutes >= 0
            else pgettext("desk", "overdue by %(h)s hours")
        ) % {"h": hours}
    else:
        text = (
            pgettext("desk", "%(h)s working hours left")
            if minutes >= 0
            else pgettext("desk", "overdue by %(h)s working hours")
        ) % {"h": hours}
    return {"minutes": round(minutes), "working": not case.urgent, "text": text}


def members_to_assign(user: User) -> list[User]:
    """The unit's active members a leader may assign a case to."""
    return list(
        User.objects.filter(
            organisation_id=user.organisation_id, role=Role.UNIT_MEMBER, is_active=True
        ).order_by("username")
    )


def _d(text: str):
    return pgettext_lazy("desk", text)


# What the timeline calls each action, the photo stages and the evidence flags.
EVENT_LABELS = {
    "report": _d("Reported"),
    "send_verify": _d("Sent to verify"),
    "verify": _d("Verified"),
    "accept": _d("Accepted"),
    "reject": _d("Rejected"),
    "register": _d("Registered"),
    "decline": _d("Declined"),
    "dispatch": _d("Dispatched"),
    "feedback": _d("Feedback"),
    "check": _d("Checked"),
    "close": _d("Closed"),
    "self_handle": _d("Handled on the spot"),
    "void": _d("Voided"),
    "merge": _d("Merged"),
    "supervise": _d("Supervised"),
    "relocate": _d("Location changed"),
    "request_return": _d("Return asked"),
    "approve_return": _d("Return approved"),
    "deny_return": _d("Return denied"),
    "request_extension": _d("Extension asked"),
    "approve_extension": _d("Extension approved"),
    "deny_extension": _d("Extension denied"),
    "request_suspension": _d("Suspension asked"),
    "approve_suspension": _d("Suspension approved"),
    "deny_suspension": _d("Suspension denied"),
    "resume": _d("Resumed"),
    "assign": _d("Assigned"),
}
STAGE_LABELS = {
    "report": _d("Report"),
    "verify": _d("Verification"),
    "feedback": _d("Disposal"),
    "check": _d("Check"),
    "self_handle": _d("Disposal"),
}
FLAG_LABELS = {
    "gps_far": _d("taken far from the case"),
    "no_exif_gps": _d("no GPS in the photo"),
    "taken_long_before": _d("taken long before"),
    "taken_after_report": _d("taken after the report"),
    "no_exif_time": _d("no time in the photo"),
}
OUTCOME_LABELS = {
    "pass": _d("passed"),
    "fail": _d("failed, rework"),
    "confirmed": _d("confirmed"),
    "not_confirmed": _d("not confirmed"),
}
LIGHT_LABELS = {"green": _d("On time"), "yellow": _d("Due soon"), "red": _d("Overdue")}
REQUEST_LABELS = {
    "extension": _d("Extension"),
    "return": _d("Return"),
    "suspension": _d("Suspension"),
}
# The actions the desk offers, in this order, when the workflow allows them to the member.
DESK_ACTIONS = ("feedback", "request_extension", "request_return", "request_suspension", "assign")
ACTION_LABELS = {
    "feedback": _d("Give feedback"),
    "request_extension": _d("Ask for an extension"),
    "request_return": _d("Ask to return"),
    "request_suspension": _d("Ask to suspend"),
    "assign": _d("Assign to a member"),
}


# --- the unit's own figures (docs/domain.md §6) --------------------------------------------------------

FIGURES = ("disposal_rate", "disposal_on_time_rate", "rework_rate", "score", "grade", "rank")
# The counts each rate is made of: the drill-down lists the cases behind them.
DRILL = {
    "disposal_rate": ("disposed", "due_disposal"),
    "disposal_on_time_rate": ("disposed_on_time", "due_disposal"),
    "rework_rate": ("rework", "due_closure"),
}


def weeks(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """This week (Monday to today) and last week, as (key, start, end exclusive)."""
    monday = today - dt.timedelta(days=today.weekday())
    return [
        ("this", monday, monday + dt.timedelta(days=7)),
        ("last", monday - dt.timedelta(days=7), monday),
    ]


def unit_figures(user: User, today: dt.date | None = None) -> list[dict]:
    """The unit's row of the unit evaluation for this week and last: rates, score, grade and rank
    among all units (the other units' rows are not returned)."""
    from metrics.reports import period_of
    from metrics.scores import evaluate

    today = today or timezone.localdate()
    result = []
    for key, start, end in weeks(today):
        rows = evaluate("unit", period_of(start, end))
        own = next((r.as_dict() for r in rows if r.subject.key == user.organisation_id), None)
        result.append({"key": key, "start": start, "end": end, "row": own, "units": len(rows)})
    return result


def cases_behind(user: User, *, metric: str, start: dt.date, end: dt.date) -> list[Case]:
    """The unit's cases behind one count of its figures, as visible cases."""
    from metrics import reports

    numbers = reports.cases_behind(
        "unit", user.organisation_id, metric, reports.period_of(start, end)
    )
    found = {
        c.number: c
        for c in visible_cases(user).filter(number__in=numbers).select_related("category")
    }
    return [found[n] for n in numbers if n in found]
