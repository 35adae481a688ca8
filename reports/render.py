"""A report's snapshot as a web page, a PDF (WeasyPrint; Chinese fonts embedded as subsets) and an
Excel workbook (one sheet per table). Everything is read from `report.data`; nothing queries cases.

The PDF needs a Chinese font installed (fonts-noto-cjk on Debian, `make system-deps`); without one
it refuses to build rather than print empty boxes (`MissingFont`).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import lru_cache

from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from reports import labels
from reports.labels import AREA_COLUMNS, FIGURES, KPI_KEYS, OFFICER_COLUMNS, UNIT_COLUMNS, is_rate


class MissingFont(RuntimeError):
    pass


def context(report) -> dict:
    data = report.data
    overall = data["overall"]
    kpis = [{"key": k, "label": FIGURES[k], "current": overall["current"][k], "previous": overall["previous"][k],
             "change": overall["change"][k]} for k in KPI_KEYS]
    sources = [{**s, "name": labels.SOURCES[s["source"]]} for s in data["sources"]]
    top = data["meta"]["top_n"]
    officers = data["officers"]["rows"]
    # As for grids: only communities with enough cases due are named best or worst.
    least_due = data["meta"]["min_cases_ranked"]
    communities = [c for c in data["areas"]["communities"] if c["score"] is not None and c["due_closure"] >= least_due]
    best_communities = sorted(communities, key=lambda c: (c["rank"], c["code"]))[:top]
    worst_communities = sorted(communities, key=lambda c: (-c["rank"], c["code"]))[:top]
    most = sorted(officers, key=lambda o: (-o["reports"], o["code"]))[:top]
    least = sorted((o for o in officers if o["coverage_rate"] is not None),
                   key=lambda o: (o["coverage_rate"], o["code"]))[:top]
    return {"report": report, "data": data, "kind_name": report.get_kind_display(), "kpis": kpis,
            "sources": sources, "streets": data["areas"]["streets"],
            "best_communities": best_communities, "worst_communities": worst_communities,
            "area_columns": AREA_COLUMNS, "unit_columns": UNIT_COLUMNS, "officer_columns": OFFICER_COLUMNS,
            "notes": [labels.note_text(n) for n in data["notes"]], "officers_most": most,
            "officers_least": least}


def document_html(report) -> str:
    return render_to_string("reports/document.html", context(report))


@lru_cache(maxsize=1)
def chinese_font() -> str | None:
    """The family fontconfig picks for Chinese text, or None when no installed font covers it."""
    if not shutil.which("fc-list"):
        return None
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
    return found.splitlines()[0] if found else None


def pdf(report) -> bytes:
    if chinese_font() is None:
        raise MissingFont(_("No Chinese font is installed, so the PDF would show empty boxes: install "
                            "fonts-noto-cjk (make system-deps)."))
    from PIL import ImageFile

    accept_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    from weasyprint import HTML  # here: loading Pango takes a moment and only builds need it

    # WeasyPrint turns on Pillow's process-wide "accept truncated images" when imported; photo
    # validation (cases/photos.py) must keep refusing them in this process.
    ImageFile.LOAD_TRUNCATED_IMAGES = accept_truncated

    return HTML(string=document_html(report)).write_pdf()


def xlsx(report) -> bytes:
    """One sheet per table, numbers as numbers (rates in percent), headers in the active language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    data = report.data
    book = Workbook()
    book.remove(book.active)

    def sheet(title: str, header: list, rows: list[list]) -> None:
        ws = book.create_sheet(title[:31])
        ws.append([str(h) for h in header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        from cases.text import spreadsheet_text  # no formula, no character that breaks the workbook

        for row in rows:
            ws.append([spreadsheet_text(str(v) if isinstance(v, Promise) else v) for v in row])
        ws.freeze_panes = "A2"
        for n, h in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(n)].width = max(10, min(40, len(str(h)) * 2 + 2))

    def figures(row: dict, keys) -> list:
        return [row.get(k) for k in keys]

    def names(keys) -> list:
        return [FIGURES[k] for k in keys]

    meta = data["meta"]
    sheet(_("Report"), [_("Item"), _("Value")], [
        [_("Title"), meta["title"]], [_("Report"), report.get_kind_display()], [_("Period"), meta["label"]],
        [_("From"), meta["start"]], [_("Until (exclusive)"), meta["end"]], [_("Cut-off"), meta["as_of"]],
        [_("Issue"), report.issue], [_("Serial"), report.serial], [_("Revision"), report.revision],
        [_("Published at"), report.published_at.isoformat() if report.published_at else ""],
        [_("Issued by"), meta["issuer"]]])
    overall = data["overall"]
    sheet(_("Overall"), [_("Indicator"), _("Key"), _("This period"), _("Previous period"), _("Change")],
          [[FIGURES[k], k, overall["current"][k], overall["previous"][k], overall["change"][k]] for k in KPI_KEYS])
    trend_keys = ("accepted", "registered", "closed", "due_closure", "closure_rate", "disposal_rate")
    sheet(_("Trend"), [_("Period"), *names(trend_keys)], [[t["label"], *figures(t, trend_keys)] for t in data["trend"]])
    sheet(_("Sources"), [_("Source"), _("Cases reported"), _("Share (%)"), _("Previous period"), _("Change")],
          [[labels.SOURCES[s["source"]], s["count"], s["share"], s["previous"], s["change"]] for s in data["sources"]])
    sheet(_("Big classes"), [_("Code"), _("Big class"), _("Registered"), _("Previous period")],
          [[c["code"], c["name"], c["count"], c["previous"]] for c in data["categories"]["big"]])
    sheet(_("Top small classes"), [_("Code"), _("Small class"), _("Big class"), _("Registered"),
                                   _("Previous period"), _("Change")],
          [[c["code"], c["name"], c["big"], c["count"], c["previous"], c["change"]]
           for c in data["categories"]["top_small"]])
    all_keys = [k for k in FIGURES if k not in ("reports", "valid_reports", "valid_report_rate", "verified",
                                                "verify_on_time_rate", "checked", "check_on_time_rate",
                                                "coverage_rate")]
    for title, rows in ((_("Districts"), data["areas"]["districts"]), (_("Streets"), data["areas"]["streets"]),
                        (_("Communities"), data["areas"]["communities"]), (_("Grids"), data["areas"]["grids"]),
                        (_("Best grids"), data["areas"]["best"]), (_("Worst grids"), data["areas"]["worst"]),
                        (_("Handling units"), data["units"]["rows"])):
        sheet(title, [_("Code"), _("Name"), *names(all_keys), _("Tied")],
              [[r["code"], r["name"], *figures(r, all_keys), bool(r.get("tied"))] for r in rows])
    sheet(_("Units with overdue cases"), [_("Unit"), FIGURES["overdue_open"], _("Cases")],
          [[u["name"], u["overdue_open"], "、".join(u["cases"])] for u in data["units"]["overdue"]])
    officer_keys = ("reports", "valid_reports", "valid_report_rate", "verified", "verify_on_time_rate", "checked",
                    "check_on_time_rate")
    sheet(_("Officers"), [_("Account"), _("Name"), *names(officer_keys), _("Assigned grid-days"),
                          _("Patrolled grid-days"), FIGURES["coverage_rate"]],
          [[o["code"], o["name"], *figures(o, officer_keys), o["grid_days"], o["patrolled_grid_days"],
            o["coverage_rate"]] for o in data["officers"]["rows"]])
    case_header = [_("Case number"), _("Category"), _("Grid"), _("Grid name"), _("Address"), _("Handling unit"),
                   _("Deadline")]

    def case_row(c: dict) -> list:
        return [c["number"], c["category"], c["grid"], c["grid_name"], c["address"], c["unit"], c["deadline"]]

    sheet(_("Overdue cases"), [*case_header, _("Overdue (hours)")],
          [[*case_row(c), c["overdue_hours"]] for c in data["lists"]["red"]])
    sheet(_("Supervised cases"), case_header, [case_row(c) for c in data["lists"]["supervised"]])
    sheet(_("Hot spots"), [_("Grid"), _("Grid name"), _("Code"), _("Small class"), _("Registered")],
          [[h["grid"], h["grid_name"], h["category"], h["category_name"], h["count"]]
           for h in data["lists"]["hot_spots"]])
    sheet(_("Notes"), [_("Note")], [[labels.note_text(n)] for n in data["notes"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["MissingFont", "context", "document_html", "pdf", "xlsx", "is_rate"]
