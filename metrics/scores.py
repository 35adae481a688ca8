"""Composite scores, grades and ranks (DOMAIN.md §6 综合指标值) on top of the counts.

- score = Σ weight × value over the scheme's indicators that have data, divided by the sum of
  those weights, × 100 (with every indicator present and weights summing to 100 this is exactly
  the DOMAIN formula; an indicator without data — a rate with denominator 0 — neither earns nor
  loses points; no indicator with data: no score). Rates enter as fractions, `inverse` ones as
  1 − rate; 立案数分值 as points / 100.
- 立案数分值 of a grid: the band of its region class holding its registered cases per week of the
  period; of an area: the mean over its grids in force.
- grade A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else E; rank dense by score (2 decimals), ties marked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F

from cases.models import CaseEvent
from metrics.models import Indicator, RegistrationBand, SchemeKind, ScoreScheme
from metrics.reports import AREA_CODE_LENGTH, Figures, Period, figures_by_level
from metrics.subjects import Subject, grids_in, subjects

GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"))
SCHEME_OF_LEVEL = {"grid": SchemeKind.AREA, "community": SchemeKind.AREA, "street": SchemeKind.AREA,
                   "district": SchemeKind.AREA, "unit": SchemeKind.UNIT, "officer": SchemeKind.OFFICER}


@dataclass(frozen=True)
class Weight:
    indicator: str
    weight: float
    inverse: bool = False


@dataclass(frozen=True)
class Scheme:
    weights: tuple[Weight, ...]
    bands: dict[int, tuple[tuple[float | None, int], ...]] = field(default_factory=dict)  # class → (up_to, points)


@dataclass
class Row:
    """One object's line of the table: who, figures, score, grade, rank."""

    subject: Subject
    figures: Figures
    score: float | None = None
    grade: str | None = None
    rank: int | None = None
    tied: bool = False

    def as_dict(self, *, officer: bool = False) -> dict[str, Any]:
        s = self.subject
        return {"id": s.id, "code": s.code, "name": s.name, **self.figures.as_dict(officer=officer),
                "score": self.score, "grade": self.grade, "rank": self.rank, "tied": self.tied}


def load_scheme(kind: str) -> Scheme | None:
    """The administrator's scheme for `kind` (area, unit, officer), None when there is none."""
    scheme = ScoreScheme.objects.filter(kind=kind).first()
    if scheme is None:
        return None
    weights = tuple(Weight(i.indicator, float(i.weight), i.inverse) for i in scheme.indicators.all())
    bands: dict[int, list[tuple[float | None, int]]] = defaultdict(list)
    for band in RegistrationBand.objects.order_by("region_class", F("up_to").asc(nulls_last=True)):
        bands[band.region_class].append((float(band.up_to) if band.up_to is not None else None, band.points))
    return Scheme(weights, {k: tuple(v) for k, v in bands.items()})


def band_points(per_week: float, bands: tuple[tuple[float | None, int], ...]) -> int | None:
    """Points of the first band whose `up_to` (None: unbounded) holds `per_week`."""
    for up_to, points in bands:
        if up_to is None or per_week <= up_to + 1e-9:
            return points
    return None


def composite(figures: Figures, scheme: Scheme, *, density: float | None = None) -> float | None:
    """The 0–100 score of one object (rules in the module docstring), 2 decimals."""
    total = weights = 0.0
    for w in scheme.weights:
        value = _value(w.indicator, figures, density)
        if value is None or not w.weight:
            continue
        total += w.weight * (1 - value if w.inverse else value)
        weights += w.weight
    if not weights:
        return None
    return float(Decimal(total * 100 / weights).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _value(indicator: str, figures: Figures, density: float | None) -> float | None:
    if indicator == Indicator.REGISTRATION_DENSITY:
        return None if density is None else density / 100
    return figures.ratio(indicator)


def grade(score: float | None) -> str | None:
    if score is None:
        return None
    return next((letter for floor, letter in GRADES if score >= floor), "E")


def rank_dense(rows: list[Row]) -> None:
    """Rank 1 for the best score, the same rank for equal scores (marked tied), the next score the
    next rank; rows without a score get no rank."""
    scores = sorted({r.score for r in rows if r.score is not None}, reverse=True)
    place = {score: n for n, score in enumerate(scores, start=1)}
    seen = Counter(r.score for r in rows if r.score is not None)
    for row in rows:
        row.rank = place.get(row.score) if row.score is not None else None
        row.tied = row.score is not None and seen[row.score] > 1


def _registered_by_grid(period: Period, area: str) -> dict[int, int]:
    rows = CaseEvent.objects.filter(action="register", at__gte=period.start, at__lt=period.end,
                                    case__grid__code__startswith=area, case__grid__isnull=False)
    return dict(rows.order_by().values_list("case__grid").annotate(n=Count("pk")))


def _densities(level: str, rows: list[Row], period: Period, area: str, scheme: Scheme) -> dict[Any, float]:
    """立案数分值 per row key: the grid's band points, or the mean over an area's grids."""
    weeks = period.weeks
    if level == "grid":
        found = {r.subject.key: band_points(r.figures.registered / weeks,
                                            scheme.bands.get(r.subject.region_class or 1, ())) for r in rows}
        return {k: float(v) for k, v in found.items() if v is not None}
    if level not in AREA_CODE_LENGTH:
        return {}
    registered = _registered_by_grid(period, area)
    per_area: dict[str, list[int]] = defaultdict(list)
    for grid in grids_in(period, area):
        points = band_points(registered.get(grid.pk, 0) / weeks, scheme.bands.get(grid.region_class, ()))
        if points is not None:
            per_area[grid.code[:AREA_CODE_LENGTH[level]]].append(points)
    return {code: sum(p) / len(p) for code, p in per_area.items()}


def evaluate(level: str, period: Period, *, area: str = "") -> list[Row]:
    """Every object of `level` with its figures, composite score, grade and dense rank, in code
    order (objects without any event show zeros)."""
    figures = figures_by_level(level, period, area=area)
    rows = [Row(s, figures.get(s.key, Figures())) for s in subjects(level, period, area=area, keys=figures)]
    scheme = load_scheme(SCHEME_OF_LEVEL[level])
    if scheme is not None:
        density = _densities(level, rows, period, area, scheme)
        for row in rows:
            row.score = composite(row.figures, scheme, density=density.get(row.subject.key))
            row.grade = grade(row.score)
    rank_dense(rows)
    return rows
