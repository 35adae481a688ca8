"""Charts of a report as SVG text, made once when the report is built and kept in its snapshot:
the same drawing goes into the web page and (WeasyPrint renders inline SVG) into the PDF.
No JavaScript, no plotting library: a few rectangles, polylines and paths."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape

from shapely.geometry import shape

FONT = "Noto Sans CJK SC, Noto Sans SC, WenQuanYi Zen Hei, sans-serif"
INK, GRID_LINE, BAR, BAR_PREVIOUS, LINE = "#1f2937", "#e5e7eb", "#2563eb", "#93c5fd", "#dc2626"
# Closure-rate classes of the map, best first: (lowest rate in the class, colour, legend text).
CLASSES = (
    (95.0, "#15803d", "≥95%"),
    (90.0, "#65a30d", "90–95%"),
    (80.0, "#eab308", "80–90%"),
    (60.0, "#f97316", "60–80%"),
    (0.0, "#dc2626", "<60%"),
)
NO_DATA = "#e5e7eb"
DOT = "#111827"  # a case overdue at the cut-off: dark, so it shows on the red of a failing street


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 11,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}">{escape(str(text))}</text>'
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def trend(points: Sequence[dict], *, title: str, bar_label: str, line_label: str) -> str:
    """Bars: cases accepted per period (left axis); line: closure rate % (right axis, 0–100);
    a period without a rate breaks the line rather than drawing 0 %."""
    width, height, left, right, top, bottom = 640, 260, 48, 48, 30, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling = _nice_ceiling(max((p["accepted"] for p in points), default=0))
    slot = plot_w / max(len(points), 1)
    body = [_text(left, 16, title, size=13, weight="bold")]
    for i in range(5):
        y = top + plot_h * i / 4
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_LINE}"/>'
        )
        body.append(_text(left - 6, y + 4, f"{ceiling * (4 - i) / 4:g}", size=10, anchor="end"))
        body.append(_text(width - right + 6, y + 4, f"{100 * (4 - i) // 4}%", size=10, fill=LINE))
    segments: list[list[str]] = [[]]
    for n, p in enumerate(points):
        x = left + slot * n + slot * 0.2
        h = plot_h * p["accepted"] / ceiling
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>{escape(p["label"])}: {p["accepted"]}</title></rect>'
        )
        body.append(
            _text(x + slot * 0.3, top + plot_h - h - 3, p["accepted"], size=9, anchor="middle")
        )
        body.append(
            _text(x + slot * 0.3, height - bottom + 14, p["short"], size=10, anchor="middle")
        )
        rate = p.get("closure_rate")
        if rate is None:
            segments.append([])
            continue
        cx, cy = x + slot * 0.3, top + plot_h * (1 - rate / 100)
        segments[-1].append(f"{cx:.1f},{cy:.1f}")
        body.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{LINE}"><title>{rate}%</title></circle>'
        )
    for segment in segments:
        if len(segment) > 1:
            body.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
            )
    legend_y = height - 10
    body.append(f'<rect x="{left}" y="{legend_y - 9}" width="12" height="10" fill="{BAR}"/>')
    body.append(_text(left + 16, legend_y, bar_label, size=10))
    body.append(
        f'<line x1="{left + 150}" x2="{left + 170}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
        f'stroke="{LINE}" stroke-width="2"/>'
    )
    body.append(_text(left + 174, legend_y, line_label, size=10))
    return _svg(width, height, body, title)


def bars(items: Sequence[dict], *, title: str, current_label: str, previous_label: str) -> str:
    """Horizontal bars, one per item (name, count, previous): this period dark, the previous
    period as a thin light bar under it."""
    row, left, right, top = 24, 150, 60, 30
    width = 640
    height = top + row * max(len(items), 1) + 30
    ceiling = _nice_ceiling(
        max([i["count"] for i in items] + [i.get("previous") or 0 for i in items] + [0])
    )
    plot_w = width - left - right
    body = [_text(0, 16, title, size=13, weight="bold")]
    for n, item in enumerate(items):
        y = top + row * n
        name = item["name"] if len(item["name"]) <= 11 else item["name"][:10] + "…"
        body.append(_text(left - 6, y + 13, name, size=11, anchor="end"))
        w = plot_w * item["count"] / ceiling
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="12" fill="{BAR}"/>')
        previous = item.get("previous")
        if previous is not None:
            body.append(
                f'<rect x="{left}" y="{y + 15}" width="{plot_w * previous / ceiling:.1f}" height="4" '
                f'fill="{BAR_PREVIOUS}"/>'
            )
        body.append(_text(left + w + 4, y + 13, item["count"], size=10))
    if not items:
        body.append(_text(left, top + 14, "—", size=11))
    legend_y = height - 8
    body.append(f'<rect x="{left}" y="{legend_y - 9}" width="12" height="10" fill="{BAR}"/>')
    body.append(_text(left + 16, legend_y, current_label, size=10))
    if previous_label:
        body.append(
            f'<rect x="{left + 110}" y="{legend_y - 6}" width="12" height="4" fill="{BAR_PREVIOUS}"/>'
        )
        body.append(_text(left + 126, legend_y, previous_label, size=10))
    return _svg(width, height, body, title)


def colour_of(rate: float | None) -> str:
    if rate is None:
        return NO_DATA
    return next(colour for floor, colour, _label in CLASSES if rate >= floor)


def grid_map(grids: Sequence[dict], *, title: str, no_data_label: str) -> str:
    """The grids filled by closure rate: `grids` hold `geometry` (GeoJSON text, lon/lat) and
    `rate` (None: no case due for closure → grey). An equirectangular projection scaled by the
    cosine of the mean latitude, simplified to about half a pixel."""
    shapes = []
    for g in grids:
        try:
            shapes.append((shape(json.loads(g["geometry"])), g))
        except (ValueError, TypeError, KeyError):
            continue
    width, top, legend_h = 640, 26, 34
    if not shapes:
        return _svg(
            width, 80, [_text(0, 16, title, size=13, weight="bold"), _text(0, 50, "—")], title
        )
    min_x = min(s.bounds[0] for s, _g in shapes)
    min_y = min(s.bounds[1] for s, _g in shapes)
    max_x = max(s.bounds[2] for s, _g in shapes)
    max_y = max(s.bounds[3] for s, _g in shapes)
    k = math.cos(math.radians((min_y + max_y) / 2))
    scale = (width - 10) / max((max_x - min_x) * k, 1e-9)
    map_h = (max_y - min_y) * scale
    if map_h > 560:  # tall cities: fit the height instead
        scale *= 560 / map_h
        map_h = 560
    height = int(top + map_h + legend_h + 10)
    tolerance = 0.5 / scale

    def ring(coords) -> str:
        points = [
            f"{(x - min_x) * k * scale + 5:.1f},{top + (max_y - y) * scale:.1f}"
            for x, y, *_z in coords
        ]
        return "M" + "L".join(points) + "Z"

    body = [_text(0, 16, title, size=13, weight="bold")]
    for geometry, g in shapes:
        simple = geometry.simplify(tolerance, preserve_topology=True)
        polygons = getattr(simple, "geoms", [simple])
        d = "".join(
            ring(p.exterior.coords) + "".join(ring(i.coords) for i in p.interiors)
            for p in polygons
            if hasattr(p, "exterior")
        )
        if not d:
            continue
        label = f"{g.get('code', '')} {g.get('name', '')}: {'—' if g['rate'] is None else str(g['rate']) + '%'}"
        body.append(
            f'<path d="{d}" fill="{colour_of(g["rate"])}" fill-rule="evenodd" stroke="#ffffff" '
            f'stroke-width="0.4"><title>{escape(label)}</title></path>'
        )
    x, y = 5, top + map_h + 22
    for _floor, colour, label in CLASSES:
        body.append(f'<rect x="{x}" y="{y - 10}" width="14" height="11" fill="{colour}"/>')
        body.append(_text(x + 18, y, label, size=10))
        x += 80
    body.append(
        f'<rect x="{x}" y="{y - 10}" width="14" height="11" fill="{NO_DATA}" stroke="#9ca3af" '
        f'stroke-width="0.5"/>'
    )
    body.append(_text(x + 18, y, no_data_label, size=10))
    return _svg(width, height, body, title)


def street_map(
    streets: Sequence[dict],
    dots: Sequence[tuple[float, float]] = (),
    *,
    title: str,
    no_data_label: str,
    dot_label: str = "",
) -> str:
    """The street-level choropleth of the report (docs/domain.md §7): each street filled by its closure
    rate (grey: no case due for closure), outlined and labelled with its name and rate, and the
    cases overdue at the cut-off (红灯) as red dots. `streets` hold `name`, `geometry` (GeoJSON
    text, lon/lat) and `rate`; `dots` are (lon, lat)."""
    shapes = []
    for s in streets:
        try:
            geometry = shape(json.loads(s["geometry"]))
        except (ValueError, TypeError, KeyError):
            continue
        if not geometry.is_empty:
            shapes.append((geometry, s))
    width, top, legend_h = 640, 26, 34
    if not shapes:
        return _svg(
            width, 80, [_text(0, 16, title, size=13, weight="bold"), _text(0, 50, "—")], title
        )
    min_x = min(g.bounds[0] for g, _s in shapes)
    min_y = min(g.bounds[1] for g, _s in shapes)
    max_x = max(g.bounds[2] for g, _s in shapes)
    max_y = max(g.bounds[3] for g, _s in shapes)
    k = math.cos(math.radians((min_y + max_y) / 2))
    scale = (width - 10) / max((max_x - min_x) * k, 1e-9)
    map_h = (max_y - min_y) * scale
    if map_h > 560:
        scale *= 560 / map_h
        map_h = 560
    height = int(top + map_h + legend_h + 10)
    tolerance = 0.5 / scale

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x - min_x) * k * scale + 5, top + (max_y - y) * scale

    def ring(coords) -> str:
        return "M" + "L".join("{:.1f},{:.1f}".format(*xy(x, y)) for x, y, *_z in coords) + "Z"

    body = [_text(0, 16, title, size=13, weight="bold")]
    labels = []
    for geometry, s in shapes:
        simple = geometry.simplify(tolerance, preserve_topology=True)
        polygons = getattr(simple, "geoms", [simple])
        d = "".join(
            ring(p.exterior.coords) + "".join(ring(i.coords) for i in p.interiors)
            for p in polygons
            if hasattr(p, "exterior")
        )
        if not d:
            continue
        rate = "—" if s["rate"] is None else f"{s['rate']:.1f}%"
        body.append(
            f'<path d="{d}" fill="{colour_of(s["rate"])}" fill-rule="evenodd" stroke="#374151" '
            f'stroke-width="1.2"><title>{escape(s.get("name", ""))}: {rate}</title></path>'
        )
        anchor = geometry.representative_point()
        labels.append((*xy(anchor.x, anchor.y), s.get("name", ""), rate))
    for lon, lat in dots:
        if min_x <= lon <= max_x and min_y <= lat <= max_y:
            cx, cy = xy(lon, lat)
            body.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.4" fill="{DOT}" stroke="#ffffff" '
                f'stroke-width="1"/>'
            )
    for x, y, name, rate in labels:  # on top of fills and dots, with a white halo
        for fill, stroke in (("#ffffff", ' stroke="#ffffff" stroke-width="3"'), (INK, "")):
            body.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="middle" fill="{fill}"'
                f'{stroke} font-weight="bold">{escape(name)}</text>'
            )
            body.append(
                f'<text x="{x:.1f}" y="{y + 13:.1f}" font-size="10" text-anchor="middle" fill="{fill}"'
                f"{stroke}>{escape(rate)}</text>"
            )
    x, y = 5, top + map_h + 22
    for _floor, colour, label in CLASSES:
        body.append(f'<rect x="{x}" y="{y - 10}" width="14" height="11" fill="{colour}"/>')
        body.append(_text(x + 18, y, label, size=10))
        x += 72
    body.append(
        f'<rect x="{x}" y="{y - 10}" width="14" height="11" fill="{NO_DATA}" stroke="#9ca3af" '
        f'stroke-width="0.5"/>'
    )
    body.append(_text(x + 18, y, no_data_label, size=10))
    if dot_label:
        x += 90
        body.append(f'<circle cx="{x + 6}" cy="{y - 4}" r="3.4" fill="{DOT}"/>')
        body.append(_text(x + 14, y, dot_label, size=10))
    return _svg(width, height, body, title)
