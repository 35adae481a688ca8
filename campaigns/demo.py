"""The demo city's baseline 违建台账 (docs/domain.md §12): a few hundred 存量 entries across its streets, written
as a workbook and imported through the same code as a city's own (campaigns/importer.py), and an
annual demolition target per street. Deterministic for a seed; used by `load_demo` and bench/ledger.py.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

import shapely
from django.utils import timezone

from campaigns.importer import COLUMNS, LedgerImport, import_ledger
from campaigns.models import CampaignSettings, DemolitionTarget, EntrySource, LedgerEntry
from grids.models import Area, Grid, Level

USES = ["仓储", "居住", "经营", "养殖", "停车", "加工", "办公"]
STRUCTURES = ["钢结构棚"] * 5 + ["砖混"] * 3 + ["其他"] * 2


def ledger_rows(count: int, *, seed: int = 2026, prefix: str = "CL") -> list[list]:
    """`count` plausible rows of an existing ledger, spread over the grids in force, all found before
    the baseline date."""
    rng = random.Random(seed)
    grids = list(
        Grid.objects.current().exclude(geometry="").select_related("community").order_by("code")
    )
    if not grids:
        raise ValueError("There are no grids to put ledger entries in: import the grids first.")
    baseline = CampaignSettings.current().baseline_date
    first = dt.date(2016, 1, 1)
    span = max(1, (baseline - first).days)
    rows = []
    for i in range(count):
        grid = rng.choice(grids)
        lon, lat = _point_in(grid, rng)
        found = first + dt.timedelta(days=rng.randrange(span))
        area = round(min(99_999.0, rng.lognormvariate(3.6, 0.9)), 1)
        rows.append(
            [
                f"{prefix}-{found.year}-{i + 1:05d}",
                area,
                rng.choice(STRUCTURES),
                rng.choice(USES),
                found,
                round(lon, 7),
                round(lat, 7),
                f"{grid.community.name}{grid.name}",
            ]
        )
    return rows


def _point_in(grid: Grid, rng: random.Random) -> tuple[float, float]:
    polygon = shapely.from_geojson(grid.geometry)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(30):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(shapely.Point(x, y)):
            return x, y
    point = polygon.representative_point()
    return point.x, point.y


def workbook(rows: list[list]) -> io.BytesIO:
    """The rows as an .xlsx workbook with the template's header."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            COLUMNS[key][0]
            for key in (
                "number",
                "area_m2",
                "structure",
                "use",
                "found_on",
                "lon",
                "lat",
                "address",
            )
        ]
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def load_demo_ledger(*, count: int = 300, seed: int = 2026) -> LedgerImport | None:
    """Import the demo's baseline ledger and set this year's targets; None when already imported."""
    if LedgerEntry.objects.filter(source=EntrySource.IMPORT).exists():
        return None
    report = import_ledger(workbook(ledger_rows(count, seed=seed)), name="demo-ledger.xlsx")
    if not report.ok:
        raise ValueError(report.summary())
    year = timezone.localdate().year
    rng = random.Random(seed)
    for street in Area.objects.current().filter(level=Level.STREET):
        DemolitionTarget.objects.get_or_create(
            street=street, year=year, defaults={"target_m2": Decimal(rng.randrange(20, 60) * 100)}
        )
    return report
