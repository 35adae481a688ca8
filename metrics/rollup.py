"""The per-(object, day) rollup of the period counts (issue #25): long periods without reading
every event of the period.

`DailyFigures` holds, per object (grid, community, street, district, handling unit, the city) and
day in Asia/Shanghai, what that day's events add to the period counts of `reports.py` (accepted,
registered, dispatched, closed, closed on time, rework, extensions, returns, voided, self-handled,
disposed, disposed on time). It is kept EXACT: the signal below updates it in the transaction that
writes the case event (one read of the case's counted events, one upsert), and `rebuild()` writes
it from the event log (a migration, a bulk load, `manage.py rebuild_metrics_rollup`).

What a case adds is `contributions()`, a function of its counted events and of the fields of its
row that no action changes once they count (the first dispatch moment; deadline and disposal of a
closed case): the signal applies `contributions(after) − contributions(before)`, so a relocation
moves the case's counts to its new grid and areas, and the rebuild writes the same sums.

Disposal is not additive over days: a feedback counts for P = [start, end) only when no later
feedback or failed check came before `end`. Its row carries `counted_until`, the moment of the
event that superseded it (`NEVER` while none has); a period counts the rows with
`counted_until ≥ end`. Superseded feedbacks (the rework) get rows of their own, a few percent.

`figures()` answers a period from the rollup for its whole days and from the raw engine for the
rest: the parts of a day at either end of a period cut mid-day (events of that part only; their
disposals judged at `end`), and the state at the cut-off (`held` and `changed` parts, whose cost
does not grow with the period). The raw engine (`reports.figures_by_level(..., rollup=False)`)
stays the reference and the fallback: for the officer, person and step levels, for an `area` the
rollup is not keyed by (a unit's work in one area, an area finer than the level), and for periods
shorter than `MIN_DAYS` whole days, which it answers in a few hundred ms at 1M cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from cases.models import Case, CaseEvent, Status
from metrics.models import DailyFigures
from metrics.reports import (
    AREA_CODE_LENGTH,
    CITY,
    STANDARD_COLUMNS,
    TZ,
    Figures,
    Period,
    _changed_part,
    _disposal_part,
    _fetch,
    _Flag,
    _grouped,
    _held_part,
    _period_part,
)

NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
DIMS = ("grid", "community", "street", "district", "unit", CITY)
MONTH = "m:"  # the month rows of a dim ("m:grid"): the same sums per calendar month, `day` its 1st
COUNTED = (
    "accepted",
    "registered",
    "dispatched",
    "disposed",
    "disposed_on_time",
    "closed",
    "closed_on_time",
    "rework",
    "extensions",
    "returns",
    "voided",
    "self_handled",
    "self_registered",
)
DISPOSAL = ("disposed", "disposed_on_time")
# The events a case's rollup counts read: the period actions of reports._period_part, and feedback.
COUNTED_ACTIONS = (
    "accept",
    "register",
    "dispatch",
    "close",
    "check",
    "approve_extension",
    "approve_return",
    "void",
    "self_handle",
    "feedback",
)
# Events that change a case's rollup: those, and a relocation (its grid, so its areas, change).
CHANGING = frozenset((*COUNTED_ACTIONS, "relocate"))
MIN_DAYS = 8  # a week and shorter: the raw engine (the reference) is fast enough there

Key = tuple[str, str, dt.date, dt.datetime]  # dim, obj, day, counted_until


# --- what a case adds -----------------------------------------------------------------------------


def _objects(grid: int | None, code: str | None, unit: int | None) -> list[tuple[str, str]]:
    """The (dim, obj) a case's event counts for: its grid and areas (by the grid's code), the unit
    that held it at the event, the city."""
    objects = [(CITY, "1")]
    if grid is not None:
        objects.append(("grid", str(grid)))
        objects += [(dim, (code or "")[:length]) for dim, length in AREA_CODE_LENGTH.items()]
    if unit is not None:
        objects.append(("unit", str(unit)))
    return objects


def contributions(
    grid: int | None, code: str | None, case: dict[str, Any], events: Iterable[tuple]
) -> dict[Key, dict[str, int]]:
    """What one case adds to the rollup. `case`: its `dispatched_at`, `deadline`, `disposed_at`;
    `events`: its counted events (seq, action, to_status, unit_id, at, on_time flag) in seq order.
    The conditions are `reports._period_part`'s and `_disposal_part`'s, event by event."""
    out: dict[Key, dict[str, int]] = {}
    events = list(events)
    deadline, disposed_at = case["deadline"], case["disposed_at"]
    closed_on_time = deadline is None or (disposed_at is not None and disposed_at <= deadline)
    for i, (_seq, action, to_status, unit, at, on_time) in enumerate(events):
        counts: dict[str, int] = {}
        until = NEVER
        if action in ("accept", "self_handle"):
            counts["accepted"] = 1
        if action in ("register", "self_handle"):
            counts["registered"] = 1
        if action == "self_handle":
            counts["self_registered"] = 1
        if action == "dispatch" and case["dispatched_at"] == at:
            counts["dispatched"] = 1
        if action == "close":
            counts["closed"] = 1
            counts["closed_on_time"] = int(closed_on_time)
            counts["self_handled"] = int(case["dispatched_at"] is None)
        if action == "check" and to_status == Status.HANDLING:
            counts["rework"] = 1
        if action == "approve_extension":
            counts["extensions"] = 1
        if action == "approve_return":
            counts["returns"] = 1
        if action == "void":
            counts["voided"] = 1
        if action == "feedback":
            counts["disposed"] = 1
            counts["disposed_on_time"] = int(on_time is True)
            until = next(
                (
                    later[4]
                    for later in events[i + 1 :]
                    if later[1] == "feedback"
                    or (later[1] == "check" and later[2] == Status.HANDLING)
                ),
                NEVER,
            )
        if not counts:
            continue
        day = at.astimezone(TZ).date()
        month = day.replace(day=1)
        for dim, obj in _objects(grid, code, unit):
            for key in ((dim, obj, day, until), (MONTH + dim, obj, month, until)):
                row = out.setdefault(key, {})
                for column, n in counts.items():
                    row[column] = row.get(column, 0) + n
    return out


def _codes_of(*grids: int | None) -> dict[int | None, str | None]:
    """The codes of these grids (None for no grid), read in the caller's transaction. Not cached
    in the process: a grid id names one code only within one database, and a process may outlive
    it (a restore, a test database whose sequences were reset)."""
    from grids.models import Grid

    wanted = {g for g in grids if g is not None}
    codes: dict[int | None, str | None] = {None: None}
    codes.update({g: "" for g in wanted})
    codes.update(Grid.objects.filter(pk__in=wanted).values_list("pk", "code"))
    return codes


def _counted_events(events_model, **filters) -> Any:
    """(case, seq, action, to_status, unit, at, on_time flag) of the counted events; the flag read
    the way the raw engine reads it (`reports._Flag`)."""
    return (
        events_model.objects.filter(action__in=COUNTED_ACTIONS, **filters)
        .order_by("case_id", "seq")
        .annotate(flag=_Flag("on_time"))
        .values_list("case_id", "seq", "action", "to_status", "unit_id", "at", "flag")
    )


def apply_event(event: CaseEvent) -> None:
    """Bring the rollup up to date with `event`, in its transaction (the caller's)."""
    case = event.case
    events = [row[1:] for row in _counted_events(CaseEvent, case_id=case.pk)]
    state = {
        "dispatched_at": case.dispatched_at,
        "deadline": case.deadline,
        "disposed_at": case.disposed_at,
    }
    grid_before = grid_after = case.grid_id
    if event.action == "relocate":
        grid_before = (event.data.get("before") or {}).get("grid")
    codes = _codes_of(grid_before, grid_after)
    before = contributions(
        grid_before, codes[grid_before], state, [e for e in events if e[0] != event.seq]
    )
    after = contributions(grid_after, codes[grid_after], state, events)
    delta: dict[Key, dict[str, int]] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        change = {c: (new or {}).get(c, 0) - (old or {}).get(c, 0) for c in COUNTED}
        if any(change.values()):
            delta[key] = change
    _upsert(delta)


def on_event_saved(sender, instance: CaseEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and instance.action in CHANGING:
        apply_event(instance)


def _upsert(delta: dict[Key, dict[str, int]]) -> None:
    """Add `delta` to the rollup in one statement. Rows in a fixed order, so two transactions lock
    the rows they share in the same order (no deadlock on PostgreSQL)."""
    if delta:
        _write(sorted(delta.items()), add=True)


def _write(rows: list[tuple[Key, dict[str, int]]], *, add: bool, table: str = "") -> None:
    """INSERT the rows in one statement; `add`: add them to the rows already there (an upsert,
    one statement on both engines) rather than insert new ones."""
    ops, quote = connection.ops, connection.ops.quote_name
    table = quote(table or DailyFigures._meta.db_table)
    names = ("dim", "obj", "day", "counted_until", *COUNTED)
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    params: list[Any] = []
    for (dim, obj, day, until), counts in rows:
        params += [dim, obj, ops.adapt_datefield_value(day), ops.adapt_datetimefield_value(until)]
        params += [counts.get(c, 0) for c in COUNTED]
    sql = f"INSERT INTO {table} ({', '.join(quote(n) for n in names)}) VALUES "
    sql += ", ".join([placeholder] * len(rows))
    if add:
        adds = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in COUNTED)
        unique = ", ".join(quote(n) for n in ("dim", "day", "obj", "counted_until"))
        sql += f" ON CONFLICT ({unique}) DO UPDATE SET {adds}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- rebuild from the event log -------------------------------------------------------------------


def _cases_with_events(
    chunk: int, cases_model=Case, events_model=CaseEvent
) -> Iterator[tuple[dict, list]]:
    """Every case that has counted events, with them in seq order: two ordered scans merged."""
    cases = (
        cases_model.objects.order_by("pk")
        .values("pk", "grid_id", "dispatched_at", "deadline", "disposed_at")
        .iterator(chunk_size=chunk)
    )
    events = _counted_events(events_model).iterator(chunk_size=chunk)
    pending = next(events, None)
    for case in cases:
        mine = []
        while pending is not None and pending[0] <= case["pk"]:
            if pending[0] == case["pk"]:
                mine.append(pending[1:])
            pending = next(events, None)
        if mine:
            yield case, mine


def rebuild(*, chunk: int = 20_000, models: dict | None = None) -> int:
    """Write the rollup again from the event log (in one transaction of the caller's choosing);
    return the number of rows. For a migration (`models`: its historical Case, CaseEvent, Grid,
    DailyFigures), a bulk load of history, or a check."""
    from grids.models import Grid

    models = {
        "Case": Case,
        "CaseEvent": CaseEvent,
        "Grid": Grid,
        "DailyFigures": DailyFigures,
        **(models or {}),
    }
    codes = dict(models["Grid"].objects.values_list("pk", "code"))
    sums: dict[Key, dict[str, int]] = defaultdict(dict)
    for case, events in _cases_with_events(chunk, models["Case"], models["CaseEvent"]):
        grid = case["grid_id"]
        for key, counts in contributions(grid, codes.get(grid, ""), case, events).items():
            row = sums[key]
            for column, n in counts.items():
                row[column] = row.get(column, 0) + n
    table = models["DailyFigures"]
    table.objects.all().delete()
    rows = list(sums.items())
    for i in range(0, len(rows), 500):
        _write(rows[i : i + 500], add=False, table=table._meta.db_table)
    return len(sums)


# --- reading a period -----------------------------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ)


def whole_days(period: Period, min_days: int = MIN_DAYS) -> tuple[dt.date, dt.date] | None:
    """[first, last) whole days of Asia/Shanghai inside the period, None when fewer than `min_days`."""
    start, end = period.start.astimezone(TZ), period.end.astimezone(TZ)
    first = (
        start.date() if start == _midnight(start.date()) else start.date() + dt.timedelta(days=1)
    )
    last = end.date()
    if (last - first).days < max(min_days, 1):
        return None
    return first, last


def serves(level: str, area: str) -> bool:
    """Whether the rollup is keyed for `level` within `area`."""
    if level == "grid":
        return True
    if level in AREA_CODE_LENGTH:
        return len(area) <= AREA_CODE_LENGTH[level]
    return level in ("unit", CITY) and not area


def figures(
    level: str, period: Period, area: str = "", *, min_days: int = MIN_DAYS
) -> dict[Any, Figures] | None:
    """`reports.figures_by_level()` from the rollup and the raw edges; None when the rollup does
    not serve this level, area or period (the caller then asks the raw engine)."""
    days = whole_days(period, min_days)
    if days is None or not serves(level, area):
        return None
    first, last = days
    inner_start, inner_end = _midnight(first), _midnight(last)
    sums: dict[Any, dict[str, int]] = {}

    def add(key: Any, row: dict) -> None:
        if key is None:
            return
        acc = sums.setdefault(key, dict.fromkeys(STANDARD_COLUMNS, 0))
        for column in STANDARD_COLUMNS:
            acc[column] += row.get(column) or 0

    rows = DailyFigures.objects.filter(_spans(level, first, last))
    if area:
        rows = (
            rows.filter(obj__startswith=area)
            if level != "grid"
            else rows.filter(obj__in=_grid_ids_in(area))
        )
    counted = {c: Sum(c) for c in COUNTED if c not in DISPOSAL}
    counted.update({c: Sum(c, filter=Q(counted_until__gte=period.end)) for c in DISPOSAL})
    for row in rows.order_by().values("obj").annotate(**counted):
        if any(
            row[c] for c in COUNTED
        ):  # rows netted to zero (a relocated case's old grid) name no object
            add(_key_of(level, row["obj"]), row)
    # the raw engine: the edges of a period cut mid-day (disposals judged at `end`), the state at as_of
    parts = []
    for begin, finish in ((period.start, inner_start), (inner_end, period.end)):
        if begin < finish:
            edge = Period(begin, finish, period.as_of)
            parts += [
                _period_part(level, edge, area),
                _disposal_part(level, edge, area, cutoff=period.end),
            ]
    parts += [_held_part(level, period, area), _changed_part(level, period, area)]
    queries = [_grouped(part, STANDARD_COLUMNS) for part in parts]
    for row in _fetch(queries[0].union(*queries[1:], all=True)):
        add(row["key"], row)
    return {key: Figures(**acc) for key, acc in sums.items()}


def _spans(level: str, first: dt.date, last: dt.date) -> Q:
    """The rows for the days [first, last): the month rows of the whole months inside, the day
    rows of the days before and after them (a year reads ~12 rows per object, not ~365)."""
    months = (
        first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    )
    months_end = last.replace(day=1)
    if months >= months_end:
        return Q(dim=level, day__gte=first, day__lt=last)
    return (
        Q(dim=level, day__gte=first, day__lt=months)
        | Q(dim=level, day__gte=months_end, day__lt=last)
        | Q(dim=MONTH + level, day__gte=months, day__lt=months_end)
    )


def _grid_ids_in(area: str) -> list[str]:
    from grids.models import Grid

    return [
        str(pk) for pk in Grid.objects.filter(code__startswith=area).values_list("pk", flat=True)
    ]


def _key_of(level: str, obj: str) -> Any:
    """The rollup's object as `figures_by_level` keys it: ids as ints, area codes as text."""
    return obj if level in AREA_CODE_LENGTH else int(obj)
