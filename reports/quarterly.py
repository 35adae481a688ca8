"""What a quarterly review (季度讲评, docs/domain.md §7) adds to the weekly engine: 同比 against the same
quarter a year before (where data exist), each street's and unit's weekly score through the
quarter, and how many weeks each community and unit stood in 十差 (连续上榜 marked).

Consumes the metrics engine's rows (score, rank) as they come: ranks and ties are computed in
metrics/, and a week's 十差 follows the weekly report's rule (scored, enough cases due, the
lowest ranks).
"""

from __future__ import annotations

import datetime as dt

from cases.models import CaseEvent
from metrics.reports import COUNT_KEYS, RATES, TZ, Period, city_figures
from metrics.scores import evaluate
from reports.models import Kind, ReportSettings
from reports.periods import Span, containing, span_from


def year_before(span: Span, config: ReportSettings) -> Span:
    first = span.start.astimezone(TZ).date()
    return span_from(span.kind, first.replace(year=first.year - 1), config)


def weeks_of(
    span: Span, config: ReportSettings, now: dt.datetime, first_event: dt.datetime | None
) -> list[Span]:
    """The weeks that start inside the period, have begun by `now` and end after the first event
    (a trend starts at the first period with data)."""
    weeks = []
    week = containing(Kind.WEEKLY, span.start, config)
    if week.start < span.start:
        week = containing(Kind.WEEKLY, week.end, config)
    while week.start < span.end and week.start < now:
        if first_event is not None and week.end > first_event:
            weeks.append(week)
        week = containing(Kind.WEEKLY, week.end, config)
    return weeks


def worst(rows: list[dict], *, top: int, least_due: int, due_key: str) -> list[dict]:
    """A week's 十差: scored rows with enough cases due, the lowest ranks (the weekly rule)."""
    eligible = [r for r in rows if r["score"] is not None and (r.get(due_key) or 0) >= least_due]
    return sorted(eligible, key=lambda r: (-(r["rank"] or 0), r["code"]))[:top]


def _streak(flags: list[bool]) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def review(span: Span, *, current: dict, now: dt.datetime, config: ReportSettings) -> dict:
    """The quarterly additions of the snapshot (see the module docstring)."""
    first_event = CaseEvent.objects.order_by("at").values_list("at", flat=True).first()
    before = year_before(span, config)
    yoy = None
    if first_event is not None and first_event < before.end:
        figures = city_figures(Period(before.start, before.end, min(before.end, now))).as_dict()
        then = {k: figures[k] for k in (*COUNT_KEYS, *RATES)}
        yoy = {
            "key": before.key,
            "label": before.label,
            "figures": then,
            "change": {
                k: (
                    None
                    if current.get(k) is None or then.get(k) is None
                    else round(current[k] - then[k], 2)
                )
                for k in (*COUNT_KEYS, *RATES)
            },
        }

    weeks = weeks_of(span, config, now, first_event)
    scores: dict[str, dict] = {"street": {}, "unit": {}}
    listed: dict[str, dict] = {"community": {}, "unit": {}}
    for n, week in enumerate(weeks):
        period = Period(week.start, week.end, min(week.end, now))
        rows = {
            level: [r.as_dict() for r in evaluate(level, period)]
            for level in ("street", "community", "unit")
        }
        for level in ("street", "unit"):
            for row in rows[level]:
                entry = scores[level].setdefault(
                    row["code"],
                    {"code": row["code"], "name": row["name"], "scores": [None] * len(weeks)},
                )
                entry["scores"][n] = row["score"]
        for level, due_key in (("community", "due_closure"), ("unit", "due_disposal")):
            for row in worst(
                rows[level], top=config.top_n, least_due=config.min_cases_ranked, due_key=due_key
            ):
                entry = listed[level].setdefault(
                    row["code"],
                    {"code": row["code"], "name": row["name"], "weeks": [False] * len(weeks)},
                )
                entry["weeks"][n] = True
    trend = {
        level: [
            e
            for e in sorted(by.values(), key=lambda e: e["code"])
            if any(s is not None for s in e["scores"])
        ]
        for level, by in scores.items()
    }
    in_worst = {}
    for level, by in listed.items():
        rows = []
        for entry in by.values():
            streak = _streak(entry["weeks"])
            rows.append(
                {
                    "code": entry["code"],
                    "name": entry["name"],
                    "count": sum(entry["weeks"]),
                    "streak": streak,
                    "consecutive": streak >= 2,
                    "weeks": [w.key for w, flag in zip(weeks, entry["weeks"], strict=True) if flag],
                }
            )
        in_worst[level] = sorted(rows, key=lambda r: (-r["count"], -r["streak"], r["code"]))
    return {
        "year_before": yoy,
        "weeks": [{"key": w.key, "short": w.key.split("-", 1)[1]} for w in weeks],
        "score_trend": trend,
        "in_worst": in_worst,
    }
