"""The supervision centre's console (docs/console.md), server side: its work queues, the search
across every status, the case panel's facts and the action forms. The console's partials
(templates/frontend/console/_*.html) render what these functions return; console.js keeps only
the map and the live sockets.

Visibility goes through cases.access; which actions, the inputs each needs, their outcomes and
whether a reason is required come from the one workflow table (cases.workflow.TABLE) — the forms
are built from it, never restated by hand. Every label is a Django translation (context "console").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from cases import deadlines, workflow
from cases.access import visible_cases
from cases.dispatch_rules import RuleBook, suggest_unit
from cases.models import OPEN_STATUSES, Case, Status
from cases.models.case import FINAL_STATUSES
from frontend.desk import time_left
from people.models import User

QUEUE_LIMIT = 100  # rows per queue; the count is always the full count
SEARCH_LIMIT = 30


def _c(text: str):
    return pgettext_lazy("console", text)


# key → (label, condition); everyone at the centre sees every queue.
QUEUES: dict[str, tuple] = {
    "accept": (_c("To accept"), Q(status=Status.REPORTED)),
    "verify": (_c("To verify"), Q(status=Status.VERIFYING)),
    "register": (_c("To register"), Q(status=Status.PENDING_REGISTRATION)),
    "dispatch": (_c("To dispatch"), Q(status=Status.DISPATCHING)),
    "requests": (_c("Requests to approve"), Q(status=Status.HANDLING) & ~Q(pending_request="")),
    "close": (_c("To close"), Q(status=Status.CLOSING)),
    # deadline < now, added per request
    "overdue": (_c("Overdue"), Q(status=Status.HANDLING, deadline__isnull=False)),
    "supervised": (_c("Supervised"), Q(status__in=OPEN_STATUSES, supervised=True)),
}
ORDERS = {"oldest": _c("Oldest first"), "newest": _c("Newest first")}

# What each workflow action is called on a button (every action of cases.workflow.ACTIONS).
ACTION_LABELS = {
    "send_verify": _c("Send to verify"),
    "verify": _c("Verify"),
    "accept": _c("Accept"),
    "reject": _c("Reject"),
    "merge": _c("Merge"),
    "relocate": _c("Relocate"),
    "register": _c("Register"),
    "decline": _c("Decline"),
    "dispatch": _c("Dispatch"),
    "request_return": _c("Request return"),
    "approve_return": _c("Approve return"),
    "deny_return": _c("Deny return"),
    "request_extension": _c("Request extension"),
    "approve_extension": _c("Approve extension"),
    "deny_extension": _c("Deny extension"),
    "request_suspension": _c("Request suspension"),
    "approve_suspension": _c("Approve suspension"),
    "deny_suspension": _c("Deny suspension"),
    "resume": _c("Resume"),
    "feedback": _c("Feedback"),
    "check": _c("Check"),
    "self_handle": _c("Self-handle"),
    "close": _c("Close"),
    "void": _c("Void"),
    "supervise": _c("Supervise"),
    "report": _c("Report a case"),
    "assign": _c("Assign"),
}
OUTCOME_LABELS = {
    "confirmed": _c("Confirmed"),
    "not_confirmed": _c("Not confirmed"),
    "pass": _c("Pass"),
    "fail": _c("Fail"),
}
INPUT_LABELS = {
    "reason": _c("Reason"),
    "unit": _c("Handling unit"),
    "outcome": _c("Outcome"),
    "duplicate_of": _c("Duplicate of (case number)"),
    "amount": _c("Extension (minutes)"),
    "location": _c("Location"),
    "photos": _c("Photos"),
    "assignee": _c("Member"),
    "confirm": _c("Confirmation"),
}
# Actions the console's forms can carry; photos and a member are given on the phone and the desk.
FORM_INPUTS = frozenset({"reason", "unit", "outcome", "duplicate_of", "amount", "location"})


@dataclass
class ActionForm:
    """One action the person may take now, as its form needs it (from workflow.TABLE)."""

    key: str
    label: str
    needs: tuple[str, ...]
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    reason_required: bool = False
    final: bool = False  # leads to a final status: the form asks for confirmation first
    danger: bool = False
    supported: bool = True  # False: needs photos or a member, given elsewhere

    @property
    def quick(self) -> bool:
        """One click: nothing to fill in and nothing final."""
        return not self.needs and not self.final


def action_form(status: str, action: str) -> ActionForm:
    rule = workflow.TABLE[(status, action)]
    targets = set(rule.to.values()) if isinstance(rule.to, dict) else {rule.to}
    # Closing is the normal end after a passed check; the other final states end a case early.
    final = bool(targets & (FINAL_STATUSES - {Status.CLOSED})) and not isinstance(rule.to, dict)
    return ActionForm(
        key=action,
        label=str(ACTION_LABELS.get(action, action)),
        needs=rule.needs,
        outcomes=[(o, str(OUTCOME_LABELS[o])) for o in workflow.OUTCOMES.get(action, ())],
        reason_required="reason" in rule.needs,
        final=final,
        danger=final or action.startswith("deny_"),
        supported=set(rule.needs) <= FORM_INPUTS,
    )


def action_forms(case: Case, allowed: list[str]) -> list[ActionForm]:
    return [action_form(case.status, a) for a in allowed]


def confirm_missing(case: Case, action: str, posted: str) -> bool:
    """A final action (merge, reject, decline, void) posted without its confirmation."""
    key = (case.status, action)
    return key in workflow.TABLE and action_form(case.status, action).final and posted != "yes"


# --- queues and search --------------------------------------------------------------------------


@dataclass
class Queue:
    key: str
    label: str
    rows: list[Case]
    count: int
    mine: bool = False

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


def filtered(user: User, *, area: str = "", category: int | None = None) -> QuerySet[Case]:
    rows = visible_cases(user)
    if area:
        rows = rows.filter(grid__code__startswith=area)
    if category:
        rows = rows.filter(category_id=category)
    return rows


def annotate(rows: list[Case], user: User, now: dt.datetime, book: RuleBook | None = None) -> None:
    """Light, time left, the person's action forms and the suggested unit on each row, with no
    query per row: the rows come from visible_cases(user) (workflow.allowed_actions(seen=True))."""
    for case in rows:
        case.light = deadlines.traffic_light(case, now)
        case.left = time_left(case, now)
        case.forms = action_forms(case, workflow.allowed_actions(case, user, seen=True))
        case.suggested = (
            suggest_unit(case, book=book)
            if book is not None and any(f.key == "dispatch" for f in case.forms)
            else None
        )


def queues(
    user: User,
    *,
    area: str = "",
    category: int | None = None,
    order: str = "oldest",
    now: dt.datetime | None = None,
) -> list[Queue]:
    """The person's work queues, their own first, each with its full count and up to QUEUE_LIMIT
    rows, oldest first (or newest first); overdue ones by deadline."""
    from frontend.api import ROLE_QUEUES, queue_order

    now = now or timezone.now()
    rows = filtered(user, area=area, category=category)
    book = RuleBook()
    newest = order == "newest"
    result = []
    for key in queue_order(user):
        label, condition = QUEUES[key]
        selected = rows.filter(condition)
        if key == "overdue":
            selected = selected.filter(deadline__lt=now)
        selected = selected.select_related(
            "category__case_standard__default_handling_unit", "grid", "unit"
        )
        if key == "overdue":
            ordered = selected.order_by("-deadline" if newest else "deadline", "pk")
        else:
            ordered = selected.order_by(
                *(("-reported_at", "-pk") if newest else ("reported_at", "pk"))
            )
        page = list(ordered[:QUEUE_LIMIT])
        annotate(page, user, now, book)
        result.append(
            Queue(
                key=key,
                label=str(label),
                rows=page,
                mine=key in ROLE_QUEUES.get(user.role, ()),
                count=selected.count() if len(page) == QUEUE_LIMIT else len(page),
            )
        )
    return result


def search(user: User, q: str, *, now: dt.datetime | None = None) -> list[Case]:
    """Cases in every status (closed ones too) whose number, address or description holds `q`,
    newest first."""
    q = q.strip()[:100]
    if not q:
        return []
    now = now or timezone.now()
    rows = (
        visible_cases(user)
        .filter(Q(number__contains=q) | Q(address__icontains=q) | Q(description__icontains=q))
        .select_related("category", "grid", "unit")
        .order_by("-reported_at", "-pk")
    )
    found = list(rows[:SEARCH_LIMIT])
    for case in found:
        case.light = deadlines.traffic_light(case, now)
        case.left = time_left(case, now)
    return found


def find(user: User, ref: str) -> Case | None:
    """A visible case by its number, else by its id."""
    ref = (ref or "").strip()
    if not ref.isdigit() or len(ref) > 18:
        return None
    rows = visible_cases(user)
    return rows.filter(number=ref).first() or rows.filter(pk=int(ref)).first()


def is_final(case: Case) -> bool:
    return case.status in FINAL_STATUSES
