"""A report's snapshot as a web page, a PDF (WeasyPrint; Chinese fonts embedded as subsets) and an
Excel workbook (one sheet per table). Everything is read from `report.data`; nothing queries cases.

The PDF needs a Chinese font installed (fonts-noto-cjk on Debian, `make system-deps`); without one
it refuses to build rather than print empty boxes (`MissingFont`).
"""

from __future__ import annotations

import io
import shutil
import subprocess

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from reports import labels
from reports.labels import AREA_COLUMNS, FIGURES, KPI_KEYS, OFFICER_COLUMNS, UNIT_COLUMNS, is_rate


class MissingFont(RuntimeError):
    pass


def by_rank(rows: list[dict]) -> list[dict]:
    """Ranked rows by rank, then the unranked (无数据); a stable sort, so rows of one rank keep the
    order the snapshot gives them."""
    return sorted(rows, key=lambda r: (r.get("rank") is None, r.get("rank") or 0))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def official(report) -> dict:
    """The official form around the figures (docs/domain.md §7): title, 期号, dates, 统计周期, 主送,
    the 总体情况 paragraph, the two text sections and the 落款."""
    data = report.data
    meta = data["meta"]
    city, issuer = meta.get("city", ""), meta.get("issuer", "")
    centre = issuer if not city or issuer.startswith(city) else f"{city}{issuer}"
    found = data.get("findings", {})
    # Published, or being rendered for publication (numbered and dated, state not yet saved).
    published = report.state == "published" or (
        report.issue is not None and report.published_at is not None
    )
    return {
        "centre": centre,
        "kind_name": report.get_kind_display(),
        "date": labels.long_date(report.published_at) if report.published_at else "",
        "period": labels.period_words(meta["start"], meta["end"]),
        "as_of": labels.as_of_words(meta["as_of"]),
        "recipients": meta.get("recipients", ""),
        "copy_to": meta.get("copy_to", ""),
        "paragraph": labels.overall_paragraph(data) if "kind" in meta else "",
        "problems": _lines(
            report.problems if published else (report.problems or found.get("problems", ""))
        ),
        "requirements": _lines(
            report.requirements
            if published
            else (report.requirements or found.get("requirements", ""))
        ),
        "review": _lines(report.review),
        "draft": not published,
        "colon": "：" if (translation.get_language() or "").startswith("zh") else ": ",
    }


SECTIONS = (
    "overall",
    "sources",
    "categories",
    "areas",
    "units",
    "quarterly",
    "centre",
    "patrol",
    "campaigns",
    "officers",
    "lists",
    "texts",
    "notes",
)
# §7.6–8: present once their modules put data in the snapshot; the quarterly review's own section.
OPTIONAL = {"centre", "patrol", "campaigns", "quarterly"}
NUMERALS = "一二三四五六七八九十"


def _year_on_year(data: dict) -> list[dict]:
    """同比 rows of a quarterly review: this quarter, the same quarter a year before, the change."""
    yoy = (data.get("quarterly") or {}).get("year_before")
    if not yoy:
        return []
    current = data["overall"]["current"]
    return [
        {
            "key": k,
            "label": FIGURES[k],
            "current": current[k],
            "before": yoy["figures"][k],
            "change": yoy["change"][k],
        }
        for k in KPI_KEYS
    ]


def section_numbers(data: dict) -> dict[str, str]:
    """The headings' numbers, counting only the sections this report prints: 一、 二、 … (1. 2. …
    in English)."""
    present = [key for key in SECTIONS if key not in OPTIONAL or data.get(key)]
    chinese = (translation.get_language() or "").startswith("zh")
    return {
        key: (f"{_numeral(i)}、" if chinese else f"{i}. ") for i, key in enumerate(present, start=1)
    }


def _numeral(n: int) -> str:
    if n <= 10:
        return NUMERALS[n - 1]
    return (
        ("" if n < 20 else NUMERALS[n // 10 - 1]) + "十" + (NUMERALS[n % 10 - 1] if n % 10 else "")
    )


def context(report) -> dict:
    data = report.data
    overall = data["overall"]
    kpis = [
        {
            "key": k,
            "label": FIGURES[k],
            "current": overall["current"][k],
            "previous": overall["previous"][k],
            "change": overall["change"][k],
        }
        for k in KPI_KEYS
    ]
    sources = [{**s, "name": labels.SOURCES[s["source"]]} for s in data["sources"]]
    top = data["meta"]["top_n"]
    officers = data["officers"]["rows"]
    # As for grids: only communities with enough cases due are named best or worst.
    least_due = data["meta"]["min_cases_ranked"]
    communities = [
        c
        for c in data["areas"]["communities"]
        if c["score"] is not None and c["due_closure"] >= least_due
    ]
    best_communities = sorted(communities, key=lambda c: (c["rank"], c["code"]))[:top]
    worst_communities = sorted(communities, key=lambda c: (-c["rank"], c["code"]))[:top]
    most = sorted(officers, key=lambda o: (-o["reports"], o["code"]))[:top]
    least = sorted(
        (o for o in officers if o["coverage_rate"] is not None),
        key=lambda o: (o["coverage_rate"], o["code"]),
    )[:top]
    return {
        "report": report,
        "data": data,
        "kind_name": report.get_kind_display(),
        "kpis": kpis,
        "n": section_numbers(data),
        "yoy": _year_on_year(data),
        "sources": sources,
        "streets": by_rank(data["areas"]["streets"]),
        "doc": official(report),
        "units": by_rank(data["units"]["rows"]),
        "best_communities": best_communities,
        "worst_communities": worst_communities,
        "area_columns": AREA_COLUMNS,
        "unit_columns": UNIT_COLUMNS,
        "officer_columns": OFFICER_COLUMNS,
        "notes": [labels.note_text(n) for n in data["notes"]],
        "officers_most": most,
        "officers_least": least,
        **_section_context(data),
    }


def _step_name(step: str) -> str:
    from cases.models import Step

    return str(Step(step).label) if step in Step.values else step


def _section_context(data: dict) -> dict:
    """§7.6: the centre's steps and backlog with the steps' and roles' names in the reader's language."""
    from people.models import Role

    found = data.get("centre") or {}
    steps = [
        {
            **s,
            "name": _step_name(s["step"]),
            "role_name": str(Role(s["role"]).label) if s["role"] in Role.values else s["role"],
        }
        for s in found.get("steps", [])
    ]
    backlog = [{**c, "step_name": _step_name(c["step"])} for c in found.get("backlog", [])]
    return {"centre_steps": steps, "centre_backlog": backlog}


def document_html(report) -> str:
    """The printable edition: the official form is Chinese (the PDF is rendered in zh-hans)."""
    return render_to_string("reports/document.html", context(report))


_found_font: list[str] = []


def chinese_font() -> str | None:
    """The family fontconfig picks for Chinese text, or None when no installed font covers it.
    A font found is remembered; none found is asked again next time (a font installed later,
    `make system-deps` on a running machine, is seen without a restart)."""
    if _found_font:
        return _found_font[0]
    if not shutil.which("fc-list"):
        return None
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True
    ).stdout.strip()
    if found:
        _found_font.append(found.splitlines()[0])
    return _found_font[0] if _found_font else None


chinese_font.cache_clear = (
    _found_font.clear
)  # as functools' caches: forget the font found (ask again)


def require_font() -> None:
    """MissingFont, saying what fixes it, when no installed font can print Chinese."""
    if chinese_font() is None:
        raise MissingFont(
            _(
                "No Chinese font is installed, so the PDF would show empty boxes: install "
                "fonts-noto-cjk (make system-deps)."
            )
        )


def pdf(report) -> bytes:
    require_font()
    from PIL import ImageFile

    accept_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    from weasyprint import HTML  # here: loading Pango takes a moment and only builds need it

    # WeasyPrint turns on Pillow's process-wide "accept truncated images" when imported; photo
    # validation (cases/photos.py) must keep refusing them in this process.
    ImageFile.LOAD_TRUNCATED_IMAGES = accept_truncated

    return HTML(string=document_html(report)).write_pdf()


PERCENT, WHEN = "0.00%", "yyyy-mm-dd hh:mm"


def _when(text: str | None):
    """An ISO time of the snapshot as the naive Asia/Shanghai datetime Excel shows."""
    if not text:
        return None
    import datetime as dt

    from metrics.reports import TZ

    moment = dt.datetime.fromisoformat(text) if isinstance(text, str) else text
    return moment.astimezone(TZ).replace(tzinfo=None, microsecond=0)


def xlsx(report) -> bytes:
    """One sheet per table, with the sheet and column names a clerk expects (Chinese in the
    official edition): counts as numbers, rates as percentage cells, 环比 of rates in percentage
    points, times as Excel dates in Asia/Shanghai, 无数据 where a figure has none."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    data = report.data
    book = Workbook()
    book.remove(book.active)
    no_data = str(_("no data"))
    unchanged = str(_("unchanged"))
    points = str(_("percentage points"))
    points_format = f'+0.00"{points}";-0.00"{points}";"{unchanged}"'
    count_change_format = f'+0;-0;"{unchanged}"'

    from cases.text import spreadsheet_text

    def cell_value(value, fmt: str):
        """(value, number format) of one cell: fmt is "rate", "points", "change", "when" or ""."""
        if isinstance(value, Promise):
            value = str(value)
        if fmt == "when":
            return _when(value), WHEN
        if value is None:
            return (no_data, None) if fmt in ("rate", "points", "change", "score") else ("", None)
        if fmt == "rate":
            return value / 100, PERCENT
        if fmt == "points":
            return value, points_format
        if fmt == "change":
            return value, count_change_format
        return spreadsheet_text(value), None  # no formula, no character that breaks the workbook

    def sheet(
        title: str,
        header: list,
        rows: list[list],
        formats: list[str] | None = None,
        *,
        row_formats: list[list[str]] | None = None,
    ) -> None:
        """A sheet: `formats` per column, or `row_formats` per row and column."""
        ws = book.create_sheet(str(title)[:31])
        ws.append([str(h) for h in header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        column_formats = formats or [""] * len(header)
        for n, row in enumerate(rows):
            fmts = row_formats[n] if row_formats else column_formats
            values = [cell_value(v, f) for v, f in zip(row, fmts, strict=False)]
            ws.append([v for v, _f in values])
            for cell, (_v, number_format) in zip(ws[ws.max_row], values, strict=False):
                if number_format:
                    cell.number_format = number_format
        ws.freeze_panes = "A2"
        for n, h in enumerate(header, start=1):
            fmt = column_formats[n - 1] if n - 1 < len(column_formats) else ""
            ws.column_dimensions[get_column_letter(n)].width = (
                18 if fmt == "when" else max(10, min(40, len(str(h)) * 2 + 2))
            )

    def fig_format(key: str) -> str:
        return "rate" if is_rate(key) else ("score" if key in ("score",) else "")

    def names(keys) -> list:
        return [FIGURES[k] for k in keys]

    meta = data["meta"]
    doc = official(report)
    sheet(
        _("About this report"),
        [_("Item"), _("Value")],
        [
            [_("Issued by"), doc["centre"]],
            [pgettext("periodic report", "Report"), report.get_kind_display()],
            [
                _("Issue"),
                _("%(year)s issue %(issue)s (serial no. %(serial)s)")
                % {"year": report.year, "issue": report.issue, "serial": report.serial}
                if report.issue
                else "",
            ],
            [_("Reporting period"), doc["period"]],
            [_("Period"), meta["label"]],
            [_("From"), meta["start"]],
            [_("Until (exclusive)"), meta["end"]],
            [_("Counted up to"), meta["as_of"]],
            [_("Revision"), report.revision],
            [_("Correction"), report.reason],
            [_("Published at"), report.published_at.isoformat() if report.published_at else None],
            [_("To"), doc["recipients"]],
        ],
        row_formats=[
            ["", f] for f in ("", "", "", "", "", "when", "when", "when", "", "", "when", "")
        ],
    )
    book.worksheets[-1].column_dimensions["B"].width = 48
    overall = data["overall"]
    sheet(
        _("Overall"),
        [
            _("Indicator"),
            _("This period"),
            _("Previous period"),
            pgettext("period-on-period", "Change"),
        ],
        [
            [FIGURES[k], overall["current"][k], overall["previous"][k], overall["change"][k]]
            for k in KPI_KEYS
        ],
        row_formats=[
            ["", "rate", "rate", "points"] if is_rate(k) else ["", "", "", "change"]
            for k in KPI_KEYS
        ],
    )
    book.worksheets[-1].column_dimensions["A"].width = 16
    trend_keys = (
        "accepted",
        "registered",
        "closed",
        "due_closure",
        "closure_rate",
        "disposal_rate",
    )
    sheet(
        _("Trend"),
        [_("Period"), *names(trend_keys)],
        [[t["label"], *[t.get(k) for k in trend_keys]] for t in data["trend"]],
        ["", *[fig_format(k) for k in trend_keys]],
    )
    sheet(
        _("Sources"),
        [
            _("Source"),
            _("Cases reported"),
            _("Share"),
            _("Previous period"),
            pgettext("period-on-period", "Change"),
        ],
        [
            [labels.SOURCES[s["source"]], s["count"], s["share"], s["previous"], s["change"]]
            for s in data["sources"]
        ],
        ["", "", "rate", "", "change"],
    )
    sheet(
        _("Big classes"),
        [_("Code"), _("Big class"), _("Registered"), _("Previous period")],
        [[c["code"], c["name"], c["count"], c["previous"]] for c in data["categories"]["big"]],
    )
    sheet(
        _("Top small classes"),
        [
            _("No."),
            _("Code"),
            _("Small class"),
            _("Big class"),
            _("Registered"),
            _("Previous period"),
            pgettext("period-on-period", "Change"),
        ],
        [
            [n, c["code"], c["name"], c["big"], c["count"], c["previous"], c["change"]]
            for n, c in enumerate(data["categories"]["top_small"], start=1)
        ],
        ["", "", "", "", "", "", "change"],
    )
    all_keys = [
        k
        for k in FIGURES
        if k
        not in (
            "reports",
            "valid_reports",
            "valid_report_rate",
            "verified",
            "verify_on_time_rate",
            "checked",
            "check_on_time_rate",
            "coverage_rate",
            "grade",
            "rank",
        )
    ]
    tail = [FIGURES["grade"], FIGURES["rank"], _("Tied")]

    def ranked(title, rows, place_header: list, place) -> None:
        sheet(
            title,
            [_("No."), *place_header, *names(all_keys), *tail],
            [
                [
                    n,
                    *place(r),
                    *[r.get(k) for k in all_keys],
                    r.get("grade") or "—",
                    r.get("rank") or "—",
                    _("tied") if r.get("tied") else "",
                ]
                for n, r in enumerate(by_rank(rows), start=1)
            ],
            ["", *[""] * len(place_header), *[fig_format(k) for k in all_keys], "", "", ""],
        )

    def area(r):
        return [r["code"], r["name"]]

    def community(r):
        return [r["code"], r["name"], r.get("street", "")]

    def grid(r):
        return [r["code"], r["name"], r.get("community", ""), r.get("street", "")]

    ranked(_("Districts"), data["areas"]["districts"], [_("Code"), _("District")], area)
    ranked(_("Streets"), data["areas"]["streets"], [_("Code"), _("Street")], area)
    ranked(
        _("Communities"),
        data["areas"]["communities"],
        [_("Code"), _("Community"), _("Street")],
        community,
    )
    grid_header = [_("Grid code"), _("Grid"), _("Community"), _("Street")]
    ranked(_("Grids"), data["areas"]["grids"], grid_header, grid)
    ranked(_("Best grids"), data["areas"]["best"], grid_header, grid)
    ranked(_("Worst grids"), data["areas"]["worst"], grid_header, grid)
    ranked(_("Handling units"), data["units"]["rows"], [_("Handling unit")], lambda r: [r["name"]])
    sheet(
        _("Units with overdue cases"),
        [_("No."), _("Unit"), FIGURES["overdue_open"], _("Cases")],
        [
            [n, u["name"], u["overdue_open"], "、".join(u["cases"])]
            for n, u in enumerate(data["units"]["overdue"], start=1)
        ],
    )
    officer_keys = (
        "reports",
        "valid_reports",
        "valid_report_rate",
        "verified",
        "verify_on_time_rate",
        "checked",
        "check_on_time_rate",
    )
    sheet(
        _("Officers"),
        [
            _("No."),
            _("Name"),
            *names(officer_keys),
            _("Assigned grid-days"),
            _("Patrolled grid-days"),
            FIGURES["coverage_rate"],
        ],
        [
            [
                n,
                o["name"],
                *[o.get(k) for k in officer_keys],
                o["grid_days"],
                o["patrolled_grid_days"],
                o["coverage_rate"],
            ]
            for n, o in enumerate(data["officers"]["rows"], start=1)
        ],
        ["", "", *[fig_format(k) for k in officer_keys], "", "", "rate"],
    )
    case_header = [
        _("No."),
        _("Case number"),
        pgettext("report", "Problem"),
        _("Street"),
        _("Community"),
        _("Grid"),
        _("Address"),
        _("Handling unit"),
        _("Disposal deadline"),
    ]
    case_formats = ["", "", "", "", "", "", "", "", "when"]

    def case_row(n: int, c: dict) -> list:
        return [
            n,
            c["number"],
            c["category"],
            c.get("street", ""),
            c.get("community", ""),
            c["grid_name"],
            c["address"],
            c["unit"],
            c["deadline"],
        ]

    def overdue_cell(c: dict) -> list:
        if c.get("overdue_days") is None:
            return [c.get("overdue_hours"), _("hours")]
        return [
            c["overdue_days"],
            _("calendar days") if c.get("overdue_unit") == "calendar_days" else _("working days"),
        ]

    sheet(
        _("Overdue cases"),
        [*case_header, _("Overdue by"), _("Unit of time")],
        [[*case_row(n, c), *overdue_cell(c)] for n, c in enumerate(data["lists"]["red"], start=1)],
        [*case_formats, "", ""],
    )
    sheet(
        _("Supervised cases"),
        [*case_header, _("Supervised at"), _("Supervision reason")],
        [
            [*case_row(n, c), c.get("supervised_at"), c.get("supervised_reason", "")]
            for n, c in enumerate(data["lists"]["supervised"], start=1)
        ],
        [*case_formats, "when", ""],
    )
    sheet(
        _("Hot spots"),
        [_("No."), _("Street"), _("Community"), _("Grid"), _("Small class"), _("Registered")],
        [
            [
                n,
                h.get("street", ""),
                h.get("community", ""),
                h["grid_name"],
                h["category_name"],
                h["count"],
            ]
            for n, h in enumerate(data["lists"]["hot_spots"], start=1)
        ],
    )
    _section_sheets(data, sheet)
    sheet(
        _("Problems and requirements"),
        [_("Section"), _("Text")],
        [[_("Problems"), line] for line in doc["problems"]]
        + [[_("Requirements for the next period"), line] for line in doc["requirements"]]
        + [[_("Review"), line] for line in doc["review"]],
    )
    book.worksheets[-1].column_dimensions["B"].width = 100
    sheet(_("Notes"), [_("Note")], [[labels.note_text(n)] for n in data["notes"]])
    book.worksheets[-1].column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _section_sheets(data: dict, sheet) -> None:
    """The sheets of §7.6–8, only for the sections the snapshot holds."""
    parts = _section_context(data)
    if data.get("centre"):
        sheet(
            _("Centre steps"),
            [
                _("Step"),
                _("Role"),
                _("Done"),
                _("Done on time"),
                _("Undone past the step deadline"),
                _("On-time rate"),
            ],
            [
                [
                    s["name"],
                    s["role_name"],
                    s["done"],
                    s["on_time"],
                    s["late_undone"],
                    s["on_time_rate"],
                ]
                for s in parts["centre_steps"]
            ],
            ["", "", "", "", "", "rate"],
        )
        sheet(
            _("Centre backlog"),
            [
                _("No."),
                _("Case number"),
                _("Step"),
                pgettext("report", "Problem"),
                _("Street"),
                _("Community"),
                _("Grid"),
                _("Address"),
                _("Step deadline"),
                _("Late by (working hours)"),
                _("Late by (hours)"),
            ],
            [
                [
                    n,
                    c["number"],
                    c["step_name"],
                    c["category"],
                    c["street"],
                    c["community"],
                    c["grid_name"],
                    c["address"],
                    c["step_deadline"],
                    c["late_work_hours"],
                    c["late_hours"],
                ]
                for n, c in enumerate(parts["centre_backlog"], start=1)
            ],
            ["", "", "", "", "", "", "", "", "when", "", ""],
        )
    patrol = data.get("patrol")
    if patrol:
        coverage = [_("Assigned grid-days"), _("Patrolled grid-days"), FIGURES["coverage_rate"]]
        sheet(
            _("Patrol by street"),
            [_("Code"), _("Street"), *coverage],
            [
                [r["code"], r["name"], r["assigned"], r["patrolled"], r["coverage_rate"]]
                for r in patrol["streets"]
            ],
            ["", "", "", "", "rate"],
        )
        sheet(
            _("Patrol by community"),
            [_("Code"), _("Community"), _("Street"), *coverage],
            [
                [
                    r["code"],
                    r["name"],
                    r.get("street", ""),
                    r["assigned"],
                    r["patrolled"],
                    r["coverage_rate"],
                ]
                for r in patrol["communities"]
            ],
            ["", "", "", "", "", "rate"],
        )
        sheet(
            _("Lowest patrol coverage"),
            [_("No."), _("Officer"), *coverage],
            [
                [n, o["name"], o["assigned"], o["patrolled"], o["coverage_rate"]]
                for n, o in enumerate(patrol["officers_least"], start=1)
            ],
            ["", "", "", "", "rate"],
        )
        sheet(
            _("Grids not patrolled"),
            [
                _("No."),
                _("Grid code"),
                _("Grid"),
                _("Community"),
                _("Street"),
                _("Officer"),
                _("Working days not patrolled"),
                _("Last patrolled"),
            ],
            [
                [
                    n,
                    g["code"],
                    g["grid_name"],
                    g["community"],
                    g["street"],
                    "、".join(g["officers"]),
                    g["days"],
                    g["last_patrolled"] or "",
                ]
                for n, g in enumerate(patrol["unpatrolled"], start=1)
            ],
        )
    found = data.get("campaigns")
    if found and found["construction"]:
        sheet(
            _("Illegal construction control"),
            [
                _("Code"),
                _("Street"),
                _("New"),
                _("New m²"),
                _("Existing"),
                _("Existing m²"),
                _("Demolished"),
                _("Demolished m²"),
                _("Open"),
                _("Zero growth"),
                _("Annual target m²"),
                _("Target progress"),
                _("Share of the year elapsed"),
            ],
            [
                [
                    r["code"],
                    r["name"],
                    r["new_count"],
                    r["new_area_m2"],
                    r["existing_count"],
                    r["existing_area_m2"],
                    r["demolished_count"],
                    r["demolished_area_m2"],
                    r["open_count"],
                    _("yes") if r["zero_growth"] else _("no"),
                    r["target_m2"],
                    r["progress_rate"],
                    r["year_elapsed_rate"],
                ]
                for r in found["construction"]
            ],
            ["", "", "", "", "", "", "", "", "", "", "score", "rate", "rate"],
        )
    if found and found["dumping"]:
        sheet(
            _("Earth dumping"),
            [
                _("Code"),
                _("Street"),
                _("Cases"),
                _("Volume m³"),
                _("Cases at night"),
                _("Night volume m³"),
                _("Median response (minutes)"),
                _("Median response at night (minutes)"),
                _("Median response by day (minutes)"),
            ],
            [
                [
                    r["code"],
                    r["name"],
                    r["count"],
                    r["volume_m3"],
                    r["night_count"],
                    r["night_volume_m3"],
                    r["median_response_minutes"],
                    r["night_median_response_minutes"],
                    r["day_median_response_minutes"],
                ]
                for r in found["dumping"]
            ],
            ["", "", "", "", "", "", "score", "score", "score"],
        )


__all__ = ["MissingFont", "context", "document_html", "pdf", "xlsx", "is_rate"]
