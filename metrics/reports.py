"""Evaluation counts and rates (DOMAIN.md §6), computed in SQL from the case event log.

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
- disposed: cases with a `feedback` in P, once per case — its latest feedback in P (per case and
  unit at the unit level); disposed_on_time: those whose latest feedback in P was on time (the
  event's `on_time` flag);
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
  checking, closing; not suspended, voided or closed), deadline < `as_of`;
- suspended: suspended at `as_of`.
Derived: due_disposal = disposed + overdue_open; due_closure = closed + open_past_deadline.

Attribution: areas and grids by the grid the case was filed in (`Case.grid`, its code prefixes);
handling units by `CaseEvent.unit` (the unit holding the case at the counted event) and, for the
state at `as_of`, the unit holding it then (none while it waits for a re-dispatch); officers by
the case's reporter, plus their own report/verify/check events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import BooleanField, Count, Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models import Case as SqlCase
from django.db.models import When
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr
from django.utils import timezone

from cases.models import Case, CaseEvent, Status
from cases.workflow import ACTIONS, TABLE

TZ = ZoneInfo("Asia/Shanghai")
LEVELS = ("grid", "community", "street", "district", "unit", "officer")
CITY = "city"  # the whole city in one row (key 1), cases outside every grid included (reports.build)
AREA_CODE_LENGTH = {"district": 6, "street": 9, "community": 12}

# The figures the API shows for every object (DOMAIN §6), and an officer's own (§6 person metrics).
COUNT_KEYS = ("accepted", "registered", "dispatched", "disposed", "disposed_on_time", "overdue_open",
              "due_disposal", "closed", "closed_on_time", "due_closure", "rework", "extensions", "returns",
              "suspended", "voided", "self_handled")
OFFICER_KEYS = ("reports", "valid_reports", "verified", "verified_on_time", "checked", "checked_on_time")
RATES = {
    "registration_rate": ("registered", "accepted"),
    "dispatch_rate": ("dispatched", "registered"),
    "disposal_rate": ("disposed", "due_disposal"),
    "disposal_on_time_rate": ("disposed_on_time", "due_disposal"),
    "closure_rate": ("closed", "due_closure"),
    "closure_on_time_rate": ("closed_on_time", "due_closure"),
    "rework_rate": ("rework", "due_closure"),
    "extension_rate": ("extensions", "due_closure"),
}
OFFICER_RATES = {
    "valid_report_rate": ("valid_reports", "reports"),
    "verify_on_time_rate": ("verified_on_time", "verified"),
    "check_on_time_rate": ("checked_on_time", "checked"),
}
# Used by composite scores (超期未处置率 of the handling-unit scheme), not shown as a figure.
SCORE_RATES = {"overdue_rate": ("overdue_open", "due_disposal")}
ALL_RATES = {**RATES, **OFFICER_RATES, **SCORE_RATES}

# Registered and open: the statuses a case can be in between registration and closure.
REGISTERED_OPEN = (Status.DISPATCHING, Status.HANDLING, Status.SUSPENDED, Status.CHECKING, Status.CLOSING)
DUE_FOR_CLOSURE = (Status.DISPATCHING, Status.HANDLING, Status.CHECKING, Status.CLOSING)
PERIOD_ACTIONS = ("accept", "register", "dispatch", "close", "check", "approve_extension",
                  "approve_return", "void")
OFFICER_ACTIONS = ("report", "verify", "check")
DEADLINE_ACTIONS = ("dispatch", "approve_extension", "resume")  # events that record data["deadline"]
# Every query on events names its actions: the event-log index leads with (action, at), so an
# `action IN (...)` turns a range on `at` into a few index ranges on both engines.
ALL_ACTIONS = tuple(ACTIONS)
LEAVING_REGISTERED_OPEN = tuple(sorted({action for status, action in TABLE if status in REGISTERED_OPEN}))


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
    reports: int = 0
    valid_reports: int = 0
    verified: int = 0
    verified_on_time: int = 0
    checked: int = 0
    checked_on_time: int = 0

    @property
    def due_disposal(self) -> int:
        return self.disposed + self.overdue_open

    @property
    def due_closure(self) -> int:
        return self.closed + self.open_past_deadline

    def count(self, key: str) -> int:
        return int(getattr(self, key))

    def __add__(self, other: Figures) -> Figures:
        return Figures(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

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


COLUMNS = tuple(f.name for f in fields(Figures))
STANDARD_COLUMNS = tuple(c for c in COLUMNS if c not in OFFICER_KEYS)


def roll_up(figures: Iterable[Figures]) -> Figures:
    """The sum of several objects' figures (a community from its grids, and so on)."""
    total = Figures()
    for one in figures:
        total = total + one
    return total


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
    rows = CaseEvent.objects.filter(action__in=PERIOD_ACTIONS, at__gte=period.start, at__lt=period.end)
    measures = {
        "accepted": Q(action="accept"),
        "registered": Q(action="register"),
        "dispatched": Q(action="dispatch", case__dispatched_at=F("at")),
        "closed": Q(action="close"),
        "closed_on_time": Q(action="close") & (Q(case__deadline__isnull=True)
                                               | Q(case__disposed_at__lte=F("case__deadline"))),
        "rework": Q(action="check", to_status=Status.HANDLING),
        "extensions": Q(action="approve_extension"),
        "returns": Q(action="approve_return"),
        "voided": Q(action="void"),
        "self_handled": Q(action="close", case__dispatched_at__isnull=True),
    }
    return _Part(_in_area(rows, "case__", area), _key(level, "case__"), "case__number", measures)


def _disposal_part(level: str, period: Period, area: str) -> _Part:
    """Feedback events in [start, end): each case's latest feedback in P (one row per case, so no
    DISTINCT), and whether it was on time. A part of its own because it reads the events' JSON:
    SQLite copies every column a grouped query names into its sorter, so JSON named in the big
    part would be read for every event."""
    later_feedback = CaseEvent.objects.filter(case=OuterRef("case"), action="feedback", seq__gt=OuterRef("seq"),
                                              at__lt=period.end)
    if level == "unit":  # a unit's latest feedback, when two units fed the case back in P
        later_feedback = later_feedback.filter(unit=OuterRef("unit"))
    # The case's latest feedback ever (its disposed_at) is the latest in P: no subquery needed.
    latest = Q(case__disposed_at=F("at")) | ~Exists(later_feedback)
    rows = CaseEvent.objects.filter(action="feedback", at__gte=period.start, at__lt=period.end)
    measures = {"disposed": latest, "disposed_on_time": latest & Q(_Flag("on_time"))}
    return _Part(_in_area(rows, "case__", area), _key(level, "case__"), "case__number", measures)


def _held_part(level: str, period: Period, area: str) -> _Part:
    """State at `as_of` of registered open cases with no event since: their current row. The open
    cases are named twice on purpose: `status IN` lets PostgreSQL use the status index, `id IN
    (open ids)` makes SQLite (whose statistics see no skew in status) search by id rather than
    walk the whole table in grid order."""
    open_now = Case.objects.filter(status__in=REGISTERED_OPEN)
    since = CaseEvent.objects.filter(action__in=ALL_ACTIONS, at__gte=period.as_of).values("case")
    rows = open_now.filter(pk__in=open_now.values("pk"), reported_at__lt=period.as_of).exclude(pk__in=since)
    past = Q(deadline__lt=period.as_of)
    measures = {
        "overdue_open": Q(status=Status.HANDLING) & past,
        "open_past_deadline": Q(status__in=DUE_FOR_CLOSURE) & past,
        "suspended": Q(status=Status.SUSPENDED),
    }
    return _Part(_in_area(rows, "", area), _key(level, ""), "number", measures)


def _changed_part(level: str, period: Period, area: str) -> _Part:
    """State at `as_of` of registered cases that changed since: one row per case, the first event
    at/after `as_of`, whose from_status is the state then. The case's key is read by a subquery,
    not a join, so both engines start from the few events after `as_of` (joined, SQLite walks
    every case in grid order to save the GROUP BY sort)."""
    before = CaseEvent.objects.filter(case=OuterRef("case"), seq=OuterRef("seq") - 1, at__lt=period.as_of)
    rows = CaseEvent.objects.filter(action__in=LEAVING_REGISTERED_OPEN, at__gte=period.as_of,
                                    from_status__in=REGISTERED_OPEN).filter(Exists(before))
    if area:
        rows = rows.filter(Exists(Case.objects.filter(pk=OuterRef("case"), grid__code__startswith=area)))
    deadline = Subquery(
        CaseEvent.objects.filter(case=OuterRef("case"), at__lt=period.as_of, action__in=DEADLINE_ACTIONS)
        .order_by("-seq").values_list(KeyTextTransform("deadline", "data"))[:1])
    past = Q(_MomentBefore(deadline, period.as_of))
    measures = {
        "overdue_open": Q(from_status=Status.HANDLING) & past,
        "open_past_deadline": Q(from_status__in=DUE_FOR_CLOSURE) & past,
        "suspended": Q(from_status=Status.SUSPENDED),
    }
    if level == CITY:
        key: Expression = _key(CITY, "")
    elif level == "unit":  # waiting for a re-dispatch: no unit holds it
        key = SqlCase(When(from_status=Status.DISPATCHING, then=Value(None)), default=F("unit"),
                                  output_field=IntegerField())
    else:
        key = Subquery(Case.objects.filter(pk=OuterRef("case")).values_list(_key(level, ""))[:1])
    return _Part(rows, key, "case__number", measures)


def _officer_part(period: Period, area: str) -> _Part:
    """An officer's own reports, verifications and checks in [start, end)."""
    registered = CaseEvent.objects.filter(case=OuterRef("case"), action="register", at__lt=period.as_of)
    rows = CaseEvent.objects.filter(at__gte=period.start, at__lt=period.end, action__in=OFFICER_ACTIONS)
    measures = {
        "reports": Q(action="report"),
        "valid_reports": Q(action="report") & Exists(registered),
        "verified": Q(action="verify"),
        "verified_on_time": Q(action="verify") & Q(_Flag("step_on_time")),
        "checked": Q(action="check"),
        "checked_on_time": Q(action="check") & Q(_Flag("step_on_time")),
    }
    return _Part(_in_area(rows, "case__", area), F("actor"), "case__number", measures)


def _parts(level: str, period: Period, area: str) -> list[_Part]:
    if level not in LEVELS and level != CITY:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    parts = [_period_part(level, period, area), _disposal_part(level, period, area),
             _held_part(level, period, area), _changed_part(level, period, area)]
    if level == "officer":
        parts.append(_officer_part(period, area))
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


def figures_by_level(level: str, period: Period, *, area: str = "") -> dict[Any, Figures]:
    """Every object's figures at `level` for `period`, keyed by grid id, area code, unit id or
    officer (user) id, in one SQL statement. `area` (a district/street/community/grid code)
    counts only cases filed under it. Objects without any figure are absent."""
    columns = COLUMNS if level == "officer" else STANDARD_COLUMNS
    queries = [_grouped(part, columns) for part in _parts(level, period, area)]
    result: dict[Any, Figures] = {}
    for row in _fetch(queries[0].union(*queries[1:], all=True)):
        key = row.pop("key")
        if key is not None:  # no grid (outside every grid), no unit holding it
            result[key] = result.get(key, Figures()) + Figures(**row)
    return result


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
    components = {"due_disposal": ("disposed", "overdue_open"), "due_closure": ("closed", "open_past_deadline")}
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
