"""Evaluation counts and rates (docs/domain.md §6), computed in SQL from the case event log.

For a period P = [start, end) and a level (grid, community, street, district, handling unit,
officer), `figures_by_level()` answers every count of every object of that level with one SQL
statement: a UNION ALL of a few grouped parts, each a GROUP BY with conditional counts
(`COUNT(...) FILTER (WHERE ...)`), never a query per object. The same definitions drive the
drill-down (`cases_behind()`), so a figure and its list of cases always agree. Definitions as
implemented (docs/metrics.md has the reasoning):

Period counts, from events with start ≤ at < end:
- accepted: `accept` events (a case reaches pending_registration only that way, once);
- registered: `register` events; dispatched: first dispatches (the dispatch at the case's
  `dispatched_at`; a re-dispatch after a return is not counted);
- accepted / registered: `accept` / `register` events, and `self_handle` events (a self-handled
  case is accepted and registered when the officer fixes it, docs/domain.md §6);
- disposed: cases whose latest feedback before `end` falls in P and is not followed by a failed
  check before `end` — once per case, for the unit that fed it back; disposed_on_time: that
  feedback was on time (the event's `on_time` flag). A feedback that failed 核查 is no disposal;
- closed: `close` events; closed_on_time: the feedback that passed the check was ≤ the deadline
  (a self-handled case has no deadline and is on time) — the test the close event recorded as
  `on_time`, read from the closed case's row, which no action changes after the close;
- rework: failed checks (check → handling); extensions / returns: approved requests;
  voided: `void` events; self_handled: closes of cases that were never dispatched (a case
  reaches `closing` without a dispatch only through `self_handle`, cases/workflow.py TABLE).

State at the cut-off `as_of` = min(end, now), from the events before it (the case row is today's
state): a case whose last event is before `as_of` is in its current state; a case with events
at/after `as_of` was in the `from_status` of the first of them, with the deadline recorded by the
last deadline-setting event (dispatch, approved extension, resume) before `as_of`.
- overdue_open: handling at `as_of`, deadline < `as_of`;
- open_past_deadline: registered and open at `as_of` (dispatching after a return, handling,
  checking, closing; not suspended, voided or closed), deadline < `as_of` — except a case
  waiting for the centre (checking, closing) whose feedback was on time: that is the centre's
  backlog (the step figures), not the grid's or the unit's;
- suspended: suspended at `as_of`.
Derived: due_disposal = disposed + overdue_open (disjoint: a disposed case is not handling at
`end`, so each case is due at most once); due_closure = closed + open_past_deadline.

Steps (docs/domain.md §6 person and step metrics; level "step" and "person"): a step is done by the event
that leaves its waiting status through the owner's action (`STEP_ACTIONS`), on time by the
`step_on_time` flag the workflow recorded; a step still undone at `as_of` past its step deadline
(the case's `step_deadline`, or the one recorded on the event that later left the status) counts
as late.

Attribution: areas and grids by the grid the case was filed in (`Case.grid`, its code prefixes);
handling units by `CaseEvent.unit` (the unit holding the case at the counted event) and, for the
state at `as_of`, the unit holding it then (none while it waits for a re-dispatch); officers by
the case's reporter, plus their own report/verify/check events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr
from django.utils import timezone

from cases.models import Case, CaseEvent, Status
from cases.workflow import ACTIONS, TABLE

TZ = ZoneInfo("Asia/Shanghai")
LEVELS = ("grid", "community", "street", "district", "unit", "officer")
STEP_LEVELS = (
    "person",
    "step",
)  # the step figures of people and of the centre's steps (API levels too)
CITY = (
    "city"  # the whole city in one row (key 1), cases outside every grid included (reports.build)
)
AREA_CODE_LENGTH = {"district": 6, "street": 9, "community": 12}

# The figures the API shows for every object (docs/domain.md §6), and an officer's own (§6 person metrics).
COUNT_KEYS = (
    "accepted",
    "registered",
    "dispatched",
    "disposed",
    "disposed_on_time",
    "overdue_open",
    "due_disposal",
    "closed",
    "closed_on_time",
    "due_closure",
    "rework",
    "extensions",
    "returns",
    "suspended",
    "voided",
    "self_handled",
)
OFFICER_KEYS = (
    "reports",
    "valid_reports",
    "verified",
    "verified_on_time",
    "checked",
    "checked_on_time",
    "verify_late_undone",
    "check_late_undone",
)
RATES = {
    "registration_rate": ("registered", "accepted"),
    "dispatch_rate": ("dispatched", "to_dispatch"),  # self-handled cases need no dispatch
    "disposal_rate": ("disposed", "due_disposal"),
    "disposal_on_time_rate": ("disposed_on_time", "due_disposal"),
    "closure_rate": ("closed", "due_closure"),
    "closure_on_time_rate": ("closed_on_time", "due_closure"),
    "rework_rate": ("rework", "due_closure"),
    "extension_rate": ("extensions", "due_closure"),
}
OFFICER_RATES = {  # a verification or check still undone past its step deadline counts as late
    "valid_report_rate": ("valid_reports", "reports"),
    "verify_on_time_rate": ("verified_on_time", "verified_due"),
    "check_on_time_rate": ("checked_on_time", "checked_due"),
}
# Used by composite scores (超期未处置率 and a unit's 返工率 over its 应处置数), not shown as figures.
SCORE_RATES = {
    "overdue_rate": ("overdue_open", "due_disposal"),
    "disposal_rework_rate": ("rework", "due_disposal"),
}

# The centre's steps (docs/domain.md §6): the waiting status, the actions by which its owner does the step
# (leaving it by a void, a merge or a self-handling is nobody's step done), the role that owes it.
STEPS = ("accept", "verify", "register", "dispatch", "check", "close")
STEP_STATUS = {
    "accept": Status.REPORTED,
    "verify": Status.VERIFYING,
    "register": Status.PENDING_REGISTRATION,
    "dispatch": Status.DISPATCHING,
    "check": Status.CHECKING,
    "close": Status.CLOSING,
}
STEP_ACTIONS = {
    "accept": ("accept", "send_verify", "reject"),
    "verify": ("verify",),
    "register": ("register", "decline"),
    "dispatch": ("dispatch",),
    "check": ("check",),
    "close": ("close",),
}
STEP_ROLE = {
    "accept": "acceptor",
    "verify": "officer",
    "register": "shift_leader",
    "dispatch": "dispatcher",
    "check": "officer",
    "close": "shift_leader",
}
# 中心待办超时 (docs/domain.md §6 table): the statuses of the centre's backlog.
CENTRE_BACKLOG_STEPS = ("verify", "register", "dispatch", "check", "close")
OFFICER_STEPS = ("verify", "check")  # undone: charged to the grid's officers
STEP_KEYS = tuple(f"{step}_{what}" for step in STEPS for what in ("done", "on_time", "late_undone"))
STEP_DUE = {f"{step}_due": step for step in STEPS}
STEP_RATES = {f"{step}_on_time_rate": (f"{step}_on_time", f"{step}_due") for step in STEPS}
ALL_RATES = {
    **STEP_RATES,
    **RATES,
    **OFFICER_RATES,
    **SCORE_RATES,
}  # an officer's rates by their own keys

# Registered and open: the statuses a case can be in between registration and closure.
REGISTERED_OPEN = (
    Status.DISPATCHING,
    Status.HANDLING,
    Status.SUSPENDED,
    Status.CHECKING,
    Status.CLOSING,
)
DUE_FOR_CLOSURE = (Status.DISPATCHING, Status.HANDLING, Status.CHECKING, Status.CLOSING)
PERIOD_ACTIONS = (
    "accept",
    "register",
    "dispatch",
    "close",
    "check",
    "approve_extension",
    "approve_return",
    "void",
    "self_handle",
)
WAITING = tuple(STEP_STATUS.values())  # statuses with a step clock
STEP_OF = {status: step for step, status in STEP_STATUS.items()}
CHANGING_ACTIONS = tuple(
    sorted({action for (status, action), rule in TABLE.items() if rule.to is not None})
)
OFFICER_ACTIONS = ("report", "verify", "check")
DEADLINE_ACTIONS = (
    "dispatch",
    "approve_extension",
    "resume",
)  # events that record data["deadline"]
# Every query on events names its actions: the event-log index leads with (action, at), so an
# `action IN (...)` turns a range on `at` into a few index ranges on both engines.
ALL_ACTIONS = tuple(ACTIONS)
LEAVING_REGISTERED_OPEN = tuple(
    sorted({action for status, action in TABLE if status in REGISTERED_OPEN})
)


@dataclass(frozen=True)
class Period:
    """[start, end) and the moment the state counts are taken at: min(end, now)."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime

    @property
    def weeks(self) -> float:
        return (self.end - self.start) / dt.timedelta(days=7)


def period_of(start: dt.date, end: dt.date, *, now: dt.datetime | None = None) -> Period:
    """The period from `start` 00:00 to `end` 00:00 (exclusive), dates in Asia/Shanghai."""
    begin = dt.datetime.combine(start, dt.time(), tzinfo=TZ)
    finish = dt.datetime.combine(end, dt.time(), tzinfo=TZ)
    return Period(begin, finish, min(finish, now or timezone.now()))


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator in percent, 2 decimals rounded half up; None ("no data", shown as
    "—") when the denominator is 0 — never 0 % or 100 %."""
    if not denominator:
        return None
    percent = Decimal(numerator) * 100 / Decimal(denominator)
    return float(percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class Figures:
    """The counts of one object for one period. Counts add up (roll-ups); rates are recomputed
    from the summed counts, never averaged."""

    accepted: int = 0
    registered: int = 0
    dispatched: int = 0
    disposed: int = 0
    disposed_on_time: int = 0
    overdue_open: int = 0
    open_past_deadline: int = 0  # registered, open, not suspended, deadline < as_of
    closed: int = 0
    closed_on_time: int = 0
    rework: int = 0
    extensions: int = 0
    returns: int = 0
    suspended: int = 0
    voided: int = 0
    self_handled: int = 0
    self_registered: int = 0  # self_handle events in P: registered, never to be dispatched
    reports: int = 0
    valid_reports: int = 0
    verified: int = 0
    verified_on_time: int = 0
    checked: int = 0
    checked_on_time: int = 0
    accept_done: int = 0
    accept_on_time: int = 0
    accept_late_undone: int = 0
    verify_done: int = 0
    verify_on_time: int = 0
    verify_late_undone: int = 0
    register_done: int = 0
    register_on_time: int = 0
    register_late_undone: int = 0
    dispatch_done: int = 0
    dispatch_on_time: int = 0
    dispatch_late_undone: int = 0
    check_done: int = 0
    check_on_time: int = 0
    check_late_undone: int = 0
    close_done: int = 0
    close_on_time: int = 0
    close_late_undone: int = 0

    @property
    def to_dispatch(self) -> int:
        return self.registered - self.self_registered

    @property
    def due_disposal(self) -> int:
        return self.disposed + self.overdue_open

    @property
    def verified_due(
        self,
    ) -> int:  # an officer's verifications done, and undone past their deadline
        return self.verified + self.verify_late_undone

    @property
    def checked_due(self) -> int:
        return self.checked + self.check_late_undone

    @property
    def centre_backlog(self) -> int:
        """中心待办超时: cases waiting for the centre past their step deadline at the cut-off."""
        return sum(self.count(f"{step}_late_undone") for step in CENTRE_BACKLOG_STEPS)

    @property
    def due_closure(self) -> int:
        return self.closed + self.open_past_deadline

    def count(self, key: str) -> int:
        if key in STEP_DUE:  # a step's due: done + undone past its deadline
            return self.count(f"{STEP_DUE[key]}_done") + self.count(f"{STEP_DUE[key]}_late_undone")
        return int(getattr(self, key))

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def ratio(self, name: str) -> float | None:
        """The exact fraction behind a rate (for scores), None without a denominator."""
        numerator, denominator = ALL_RATES[name]
        below = self.count(denominator)
        return self.count(numerator) / below if below else None

    def rate(self, name: str) -> float | None:
        numerator, denominator = ALL_RATES[name]
        return rate(self.count(numerator), self.count(denominator))

    def as_dict(self, *, officer: bool = False) -> dict[str, int | float | None]:
        """The figures under their API keys; an officer's own counts and rates when `officer`."""
        result: dict[str, int | float | None] = {key: self.count(key) for key in COUNT_KEYS}
        result.update({name: self.rate(name) for name in RATES})
        if officer:
            result.update({key: self.count(key) for key in OFFICER_KEYS})
            result.update({name: self.rate(name) for name in OFFICER_RATES})
        return result

    def steps_dict(self) -> dict[str, int | float | None]:
        """A person's step figures: done, on time, undone past the deadline, and the on-time rate."""
        result: dict[str, int | float | None] = {key: self.count(key) for key in STEP_KEYS}
        result.update(
            {name: rate(self.count(n), self.count(d)) for name, (n, d) in STEP_RATES.items()}
        )
        return result


COLUMNS = tuple(f.name for f in fields(Figures))
STANDARD_COLUMNS = tuple(c for c in COLUMNS if c not in OFFICER_KEYS and c not in STEP_KEYS)
OFFICER_COLUMNS = (*STANDARD_COLUMNS, *OFFICER_KEYS)


# --- SQL: parts of the per-level query ---------------------------------------------------------


class _MomentBefore(Func):
    """`text < moment` for an ISO 8601 timestamp held as text (a JSON value), compared as a moment
    on both engines: the offsets recorded on events differ (+08:00, +00:00)."""

    output_field = BooleanField()

    def __init__(self, text: Expression, moment: dt.datetime) -> None:
        super().__init__(text)
        self.moment = moment

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql})::timestamptz < %s)", [*params, self.moment]

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(julianday({sql}) < julianday(%s))", [*params, self.moment.isoformat()]


class _Flag(Func):
    """`data[key] is true` for a JSON flag an event recorded (on_time, step_on_time). Cheaper than
    Django's JSON key lookup on SQLite, which reads the document two or three times per row."""

    output_field = BooleanField()

    def __init__(self, key: str) -> None:
        if not key.isidentifier():
            raise ValueError(f"not a plain JSON key: {key!r}")
        super().__init__(F("data"))
        self.key = key

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql} -> '{self.key}') = 'true'::jsonb)", params

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(json_extract({sql}, '$.{self.key}') = 1)", params  # JSON true reads as 1


@dataclass(frozen=True)
class _Part:
    """One grouped SELECT of the union: rows, how a row is attributed, which rows each column
    counts (every count is COUNT(*) FILTER (WHERE condition): one row, one item)."""

    rows: QuerySet
    key: Expression
    number: str  # the path from a row to its case number
    measures: dict[str, Q]  # column → condition


def _key(level: str, to_case: str) -> Expression:
    """Attribution key of a row; `to_case` is the path from the row to its case ("" or "case__")."""
    if level == CITY:
        return Value(1, output_field=IntegerField())
    if level == "grid":
        return F(f"{to_case}grid")
    if level in AREA_CODE_LENGTH:
        return Substr(f"{to_case}grid__code", 1, AREA_CODE_LENGTH[level])
    if level == "officer":
        return F(f"{to_case}reporter")
    return F("unit")


def _in_area(rows: QuerySet, to_case: str, area: str) -> QuerySet:
    return rows.filter(**{f"{to_case}grid__code__startswith": area}) if area else rows


def _period_part(level: str, period: Period, area: str) -> _Part:
    """Counts of events in [start, end), but disposal (see `_disposal_part`)."""
    rows = CaseEvent.objects.filter(
        action__in=PERIOD_ACTIONS, at__gte=period.start, at__lt=period.end
    )
    measures = {
        "accepted": Q(action__in=("accept", "self_handle")),
        "registered": Q(action__in=("register", "self_handle")),
        "dispatched": Q(action="dispatch", case__dispatched_at=F("at")),
        "closed": Q(action="close"),
        "closed_on_time": Q(action="close")
        & (Q(case__deadline__isnull=True) | Q(case__disposed_at__lte=F("case__deadline"))),
        "rework": Q(action="check", to_status=Status.HANDLING),
        "extensions": Q(action="approve_extension"),
        "returns": Q(action="approve_return"),
        "voided": Q(action="void"),
        "self_handled": Q(action="close", case__dispatched_at__isnull=True),
        "self_registered": Q(action="self_handle"),
    }
    return _Part(_in_area(rows, "case__", area), _key(level, "case__"), "case__number", measures)


def _disposal_part(
    level: str, period: Period, area: str, *, cutoff: dt.datetime | None = None
) -> _Part:
    """Feedback events in [start, end) that are the case's latest feedback before `end` and not
    followed by a failed check before `end`: one row per case at most (no DISTINCT), attributed to
    the unit that fed it back, and whether it was on time. A part of its own because it reads the
    events' JSON: SQLite copies every column a grouped query names into its sorter, so JSON named
    in the big part would be read for every event. `cutoff` (default `end`): the moment a later
    feedback or failed check must come before to undo it — the period's end when the rollup asks
    for the feedbacks of a part of a day at one edge of the period."""
    undone = CaseEvent.objects.filter(
        Q(action="feedback") | Q(action="check", to_status=Status.HANDLING),
        case=OuterRef("case"),
        seq__gt=OuterRef("seq"),
        at__lt=cutoff or period.end,
    )
    rows = CaseEvent.objects.filter(action="feedback", at__gte=period.start, at__lt=period.end)
    rows = rows.filter(~Exists(undone))
    measures = {"disposed": Q(), "disposed_on_time": Q(_Flag("on_time"))}
    return _Part(_in_area(rows, "case__", area), _key(level, "case__"), "case__number", measures)


WAITS_FOR_CENTRE = (Status.CHECKING, Status.CLOSING)


def _held_part(level: str, period: Period, area: str) -> _Part:
    """State at `as_of` of registered open cases with no event since: their current row. The open
    cases are named twice on purpose: `status IN` lets PostgreSQL use the status index, `id IN
    (open ids)` makes SQLite (whose statistics see no skew in status) search by id rather than
    walk the whole table in grid order. A case waiting for the centre after an on-time feedback
    (its latest feedback, `disposed_at`, ≤ its deadline, which no action moves between a feedback
    and the check) is the centre's, not due for closure."""
    open_now = Case.objects.filter(status__in=REGISTERED_OPEN)
    since = CaseEvent.objects.filter(action__in=ALL_ACTIONS, at__gte=period.as_of).values("case")
    rows = open_now.filter(pk__in=open_now.values("pk"), reported_at__lt=period.as_of).exclude(
        pk__in=since
    )
    past = Q(deadline__lt=period.as_of)
    centre_owes = Q(status__in=WAITS_FOR_CENTRE, disposed_at__lte=F("deadline"))
    measures = {
        "overdue_open": Q(status=Status.HANDLING) & past,
        "open_past_deadline": Q(status__in=DUE_FOR_CLOSURE) & past & ~centre_owes,
        "suspended": Q(status=Status.SUSPENDED),
    }
    return _Part(_in_area(rows, "", area), _key(level, ""), "number", measures)


def _changed_part(level: str, period: Period, area: str) -> _Part:
    """State at `as_of` of registered cases that changed since: one row per case, the first event
    at/after `as_of`, whose from_status is the state then. The case's key is read by a subquery,
    not a join, so both engines start from the few events after `as_of` (joined, SQLite walks
    every case in grid order to save the GROUP BY sort)."""
    before = CaseEvent.objects.filter(
        case=OuterRef("case"), seq=OuterRef("seq") - 1, at__lt=period.as_of
    )
    rows = CaseEvent.objects.filter(
        action__in=LEAVING_REGISTERED_OPEN, at__gte=period.as_of, from_status__in=REGISTERED_OPEN
    ).filter(Exists(before))
    if area:
        rows = rows.filter(
            Exists(Case.objects.filter(pk=OuterRef("case"), grid__code__startswith=area))
        )
    deadline = Subquery(
        CaseEvent.objects.filter(
            case=OuterRef("case"), at__lt=period.as_of, action__in=DEADLINE_ACTIONS
        )
        .order_by("-seq")
        .values_list(KeyTextTransform("deadline", "data"))[:1]
    )
    fed_back_on_time = Subquery(
        CaseEvent.objects.filter(case=OuterRef("case"), at__lt=period.as_of, action="feedback")
        .order_by("-seq")
        .annotate(flag=_Flag("on_time"))
        .values("flag")[:1],
        output_field=BooleanField(),
    )
    past = Q(_MomentBefore(deadline, period.as_of))
    centre_owes = Q(from_status__in=WAITS_FOR_CENTRE) & Q(fed_back_on_time)
    measures = {
        "overdue_open": Q(from_status=Status.HANDLING) & past,
        "open_past_deadline": Q(from_status__in=DUE_FOR_CLOSURE) & past & ~centre_owes,
        "suspended": Q(from_status=Status.SUSPENDED),
    }
    if level == CITY:
        key: Expression = _key(CITY, "")
    elif level == "unit":  # waiting for a re-dispatch: no unit holds it
        key = SqlCase(
            When(from_status=Status.DISPATCHING, then=Value(None)),
            default=F("unit"),
            output_field=IntegerField(),
        )
    else:
        key = Subquery(Case.objects.filter(pk=OuterRef("case")).values_list(_key(level, ""))[:1])
    return _Part(rows, key, "case__number", measures)


def _officer_part(period: Period, area: str) -> _Part:
    """An officer's own reports, verifications and checks in [start, end). A valid report is one
    registered (or self-handled) before `as_of`."""
    registered = CaseEvent.objects.filter(
        case=OuterRef("case"), action__in=("register", "self_handle"), at__lt=period.as_of
    )
    rows = CaseEvent.objects.filter(
        at__gte=period.start, at__lt=period.end, action__in=OFFICER_ACTIONS
    )
    measures = {
        "reports": Q(action="report"),
        "valid_reports": Q(action="report") & Exists(registered),
        "verified": Q(action="verify"),
        "verified_on_time": Q(action="verify") & Q(_Flag("step_on_time")),
        "checked": Q(action="check"),
        "checked_on_time": Q(action="check") & Q(_Flag("step_on_time")),
    }
    return _Part(_in_area(rows, "case__", area), F("actor"), "case__number", measures)


def _step_done_part(level: str, period: Period, area: str) -> _Part:
    """Steps done in [start, end): the owner's action leaving the step's waiting status, on time by
    the `step_on_time` flag recorded then. Per person: the actor; per step: one row (key 1)."""
    actions = sorted({a for step in STEPS for a in STEP_ACTIONS[step]})
    rows = CaseEvent.objects.filter(
        action__in=actions, at__gte=period.start, at__lt=period.end, from_status__in=WAITING
    )
    measures: dict[str, Q] = {}
    for step in STEPS:
        done = Q(from_status=STEP_STATUS[step], action__in=STEP_ACTIONS[step])
        measures[f"{step}_done"] = done
        measures[f"{step}_on_time"] = done & Q(_Flag("step_on_time"))
    key: Expression = F("actor") if level == "person" else Value(1, output_field=IntegerField())
    return _Part(_in_area(rows, "case__", area), key, "case__number", measures)


def _undone_held_part(level: str, period: Period, area: str) -> _Part:
    """Steps undone at `as_of` past their step deadline, of cases with no event since: the row's
    status and `step_deadline`. Per person only verifications and checks, charged to every officer
    assigned to the case's grid (no one person owes an acceptor's or a shift leader's step)."""
    statuses = [
        STEP_STATUS[s] for s in (OFFICER_STEPS if level in ("person", "officer") else STEPS)
    ]
    since = CaseEvent.objects.filter(action__in=ALL_ACTIONS, at__gte=period.as_of).values("case")
    rows = Case.objects.filter(
        status__in=statuses, reported_at__lt=period.as_of, step_deadline__lt=period.as_of
    ).exclude(pk__in=since)
    measures = {f"{STEP_OF[s]}_late_undone": Q(status=s) for s in statuses}
    if level in ("person", "officer"):
        rows = rows.filter(_assigned_at(period.as_of, ""))
        key: Expression = F("grid__assignments__officer")
    else:
        key = Value(1, output_field=IntegerField())
    return _Part(_in_area(rows, "", area), key, "number", measures)


def _assigned_at(as_of: dt.datetime, prefix: str) -> Q:
    """The grid's assignments in force on the last day before `as_of` (assignments keep their
    history: a step undone at the cut-off is charged to the officers assigned then, docs/domain.md §8)."""
    day = (as_of - dt.timedelta(microseconds=1)).astimezone(TZ).date()
    field = f"{prefix}grid__assignments__"
    return Q(**{f"{field}since__lte": day}) & (
        Q(**{f"{field}until__isnull": True}) | Q(**{f"{field}until__gt": day})
    )


def _undone_changed_part(level: str, period: Period, area: str) -> _Part:
    """Steps undone at `as_of` of cases that changed since: the first status change at/after
    `as_of` leaves the status the case was in then, and recorded that step's deadline."""
    statuses = [
        STEP_STATUS[s] for s in (OFFICER_STEPS if level in ("person", "officer") else STEPS)
    ]
    changes = Q(action__in=CHANGING_ACTIONS) & ~Q(from_status=F("to_status"))
    earlier_change = CaseEvent.objects.filter(
        changes, case=OuterRef("case"), seq__lt=OuterRef("seq"), at__gte=period.as_of
    )
    existed = CaseEvent.objects.filter(case=OuterRef("case"), action="report", at__lt=period.as_of)
    rows = (
        CaseEvent.objects.filter(changes, at__gte=period.as_of, from_status__in=statuses)
        .filter(Exists(existed))
        .filter(~Exists(earlier_change))
        .filter(_MomentBefore(KeyTextTransform("step_deadline", "data"), period.as_of))
    )
    measures = {f"{STEP_OF[s]}_late_undone": Q(from_status=s) for s in statuses}
    if level in ("person", "officer"):
        rows = rows.filter(_assigned_at(period.as_of, "case__"))
        key: Expression = F("case__grid__assignments__officer")
    else:
        key = Value(1, output_field=IntegerField())
    return _Part(_in_area(rows, "case__", area), key, "case__number", measures)


def _parts(level: str, period: Period, area: str) -> list[_Part]:
    if level not in LEVELS and level not in STEP_LEVELS and level != CITY:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    if level in STEP_LEVELS:
        return [
            _step_done_part(level, period, area),
            _undone_held_part(level, period, area),
            _undone_changed_part(level, period, area),
        ]
    parts = [
        _period_part(level, period, area),
        _disposal_part(level, period, area),
        _held_part(level, period, area),
        _changed_part(level, period, area),
    ]
    if level == "officer":
        parts += [
            _officer_part(period, area),
            _undone_held_part(level, period, area),
            _undone_changed_part(level, period, area),
        ]
    return parts


def _grouped(part: _Part, columns: tuple[str, ...]) -> QuerySet:
    """SELECT key, COUNT(...) FILTER (WHERE ...) ... GROUP BY key, with 0 for columns the part
    does not count (the union needs the same columns everywhere). Ordering is cleared: an
    ordering field would split the groups. Rows without a key (no grid, no unit) are dropped by
    the caller, not by `WHERE key IS NOT NULL`, which SQLite's planner takes for a selective
    range and walks the whole cases table by it."""
    counts: dict[str, Any] = {}
    for column in columns:
        if column in part.measures:
            counts[column] = Count("pk", filter=part.measures[column])
        else:
            counts[column] = Value(0, output_field=IntegerField())
    return part.rows.annotate(key=part.key).order_by().values("key").annotate(**counts)


def figures_by_level(
    level: str, period: Period, *, area: str = "", rollup: bool = True
) -> dict[Any, Figures]:
    """Every object's figures at `level` for `period`, keyed by grid id, area code, unit id or
    officer (user) id, in one SQL statement. `area` (a district/street/community/grid code)
    counts only cases filed under it. Objects without any figure are absent.

    Periods longer than a week at the levels it keys are read from the per-(object, day) rollup
    and the raw engine for the edges (metrics/rollup.py, the same figures); `rollup=False` asks
    the raw engine alone, the reference."""
    if rollup:
        from metrics import rollup as daily

        found = daily.figures(level, period, area)
        if found is not None:
            return found
    columns = _columns(level)
    queries = [_grouped(part, columns) for part in _parts(level, period, area)]
    # Summed as plain ints over the level's columns, one Figures per key at the end: adding
    # Figures per row would walk all its fields (every level's) for each of the union's rows.
    sums: dict[Any, dict[str, int]] = {}
    for row in _fetch(queries[0].union(*queries[1:], all=True)):
        key = row["key"]
        if key is None:  # no grid (outside every grid), no unit holding it
            continue
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = dict.fromkeys(columns, 0)
        for column in columns:
            acc[column] += row[column]
    return {key: Figures(**acc) for key, acc in sums.items()}


def _columns(level: str) -> tuple[str, ...]:
    if level == "officer":
        return OFFICER_COLUMNS
    if level in STEP_LEVELS:
        return STEP_KEYS
    return STANDARD_COLUMNS


def city_figures(period: Period) -> Figures:
    """The whole city's figures for `period`: every case, in a grid or not, in one row."""
    return figures_by_level(CITY, period).get(1, Figures())


def _fetch(query: QuerySet) -> list[dict]:
    """Run the statement. On PostgreSQL without JIT: compiling this many FILTER expressions costs
    more than it saves at any period length measured (bench/metrics.py: a week 0.52 → 0.35 s,
    four weeks 2.8 → 1.2 s, a year 5.5 → 4.8 s at 1M cases)."""
    if connection.vendor != "postgresql":
        return list(query)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        return list(query)


def cases_behind(level: str, key: Any, metric: str, period: Period, *, area: str = "") -> list[str]:
    """The case numbers behind one count of one object, sorted; a case counted twice (two
    failed checks in P, say) is listed twice, so len(result) equals the figure."""
    components = {
        "due_disposal": ("disposed", "overdue_open"),
        "due_closure": ("closed", "open_past_deadline"),
        "verified_due": ("verified", "verify_late_undone"),
        "checked_due": ("checked", "check_late_undone"),
        "centre_backlog": tuple(f"{s}_late_undone" for s in CENTRE_BACKLOG_STEPS),
        **{due: (f"{step}_done", f"{step}_late_undone") for due, step in STEP_DUE.items()},
    }
    wanted = components.get(metric, (metric,))
    if any(m not in COLUMNS for m in wanted):
        raise ValueError(f"{metric!r} is not a count")
    numbers: list[str] = []
    for part in _parts(level, period, area):
        for column in wanted:
            if column in part.measures:
                numbers.extend(_numbers(part, column, key))
    return sorted(numbers)


def _numbers(part: _Part, column: str, key: Any) -> list[str]:
    rows = part.rows.annotate(key=part.key).filter(part.measures[column], key=key).order_by()
    return list(rows.values_list(part.number, flat=True))


def step_rows(period: Period, *, area: str = "") -> list[dict[str, Any]]:
    """The centre's steps (level "step"): one row per step with the role that owes it, the steps
    done in P, done on time, still undone at `as_of` past their step deadline (counted late), and
    on_time_rate = on_time / (done + late_undone)."""
    figures = figures_by_level("step", period, area=area).get(1, Figures())
    rows = []
    for step in STEPS:
        done, on_time = figures.count(f"{step}_done"), figures.count(f"{step}_on_time")
        late_undone = figures.count(f"{step}_late_undone")
        rows.append(
            {
                "step": step,
                "role": STEP_ROLE[step],
                "done": done,
                "on_time": on_time,
                "late_undone": late_undone,
                "on_time_rate": rate(on_time, done + late_undone),
                "centre_backlog": step in CENTRE_BACKLOG_STEPS,
            }
        )
    return rows
