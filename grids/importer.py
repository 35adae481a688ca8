"""Import unit grids from GeoJSON, Shapefile (folder or .zip) or GeoPackage (docs/domain.md §1).

Two phases, so a bad file never writes half a layer:
1. `read_layers()` + `validate()` build an `ImportReport`: per feature, every problem found —
   invalid geometry (repaired with the repair named, or refused), overlaps and gaps between grids
   (m², in a metric projection), duplicate codes, codes that are not 15 digits (14-digit legacy
   codes padded, the original kept), grids outside their parent community, codes whose prefix
   contradicts the parent field.
2. `apply()` writes everything in one transaction, only when the report holds no error:
   areas built from code prefixes where missing, grids updated by code, grids of the imported
   communities that the file no longer has closed (valid_to) rather than deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from grids.geo import geodesic_area_m2, to_geojson

ERROR, WARNING = "error", "warning"
DEFAULT_FIELDS = {
    "code": ("grid_code", "code", "GRIDCODE", "BGID", "wgbm"),
    "name": ("grid_name", "name", "GRIDNAME", "wgmc"),
    "parent": ("community_code", "parent_code"),
    "type": ("grid_type", "type"),
    "community_name": ("community_name",),
    "street_name": ("street_name",),
    "district_name": ("district_name",),
    "region_class": ("region_class",),
}


@dataclass
class Problem:
    severity: str
    kind: str
    feature: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.feature}: {self.message}"


@dataclass
class GridRow:
    """One feature as read: where it came from, its fields, its lon/lat geometry."""

    source: str  # "file.geojson #12"
    source_code: str
    code: str
    name: str
    parent_field: str
    grid_type: str
    region_class: int | None
    names: dict[str, str]  # area code → name, from the feature's fields
    geometry: shapely.Geometry | None
    refused: bool = False

    @property
    def label(self) -> str:
        return f"{self.source} (code {self.source_code or '—'})"


@dataclass
class ImportReport:
    files: list[str]
    rows: list[GridRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    overlap_m2: float = 0.0
    gap_m2: float = 0.0
    overlaps: int = 0
    gaps: int = 0

    def add(self, severity: str, kind: str, row: GridRow | str, message: str) -> None:
        label = row.label if isinstance(row, GridRow) else row
        self.problems.append(Problem(severity, kind, label, message))
        if severity == ERROR and isinstance(row, GridRow):
            row.refused = True

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(
            f"{len(self.rows)} features read from {', '.join(self.files)}; "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings; "
            f"overlaps: {self.overlaps} ({self.overlap_m2:.1f} m²); gaps: {self.gaps} ({self.gap_m2:.1f} m²)."
        )
        return "\n".join(lines)


class ImportFileError(Exception):
    """The file cannot be read at all (missing, unknown format, no CRS, unsafe)."""


# --- reading ---------------------------------------------------------------------------------


def _resolve_path(path: Path) -> str:
    if not path.exists():
        raise ImportFileError(f"{path}: no such file or folder")
    if path.is_dir():
        shapefiles = sorted(path.glob("*.shp"))
        if len(shapefiles) != 1:
            raise ImportFileError(
                f"{path}: a folder must hold exactly one .shp (found {len(shapefiles)})"
            )
        return str(shapefiles[0])
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                inner = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise ImportFileError(f"{path}: not a readable zip archive ({exc})") from None
        if len(inner) != 1:
            raise ImportFileError(
                f"{path}: the zip must hold exactly one .shp (found {len(inner)})"
            )
        return f"/vsizip/{path}/{inner[0]}"
    if path.suffix.lower() in {".geojson", ".json"}:
        _check_geojson_crs(path)
    return str(path)


CRS_NAME = re.compile(
    r"^(EPSG:\d{4,6}|urn:ogc:def:crs:EPSG:[0-9.]*:\d{4,6}|urn:ogc:def:crs:OGC:1\.3:CRS84)$"
)


def _check_geojson_crs(path: Path) -> None:
    """Refuse GeoJSON whose `crs` member is a link: GDAL would fetch it (docs/reliability.md §0.12).
    Also refuse what GDAL would silently skip or guess at — a top level that is not a
    FeatureCollection, a member of `features` that is not a Feature — since a feature dropped
    on reading would close its grid on import."""
    try:
        with path.open("rb") as f:
            doc = json.load(f)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ImportFileError(f"{path}: not valid JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise ImportFileError(
            f"{path}: the top level must be a FeatureCollection with a `features` list"
        )
    if not doc["features"]:
        raise ImportFileError(f"{path}: the FeatureCollection holds no features")
    for i, feature in enumerate(doc["features"]):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ImportFileError(
                f"{path} #{i + 1}: not a GeoJSON Feature (got {str(feature)[:60]})"
            )
        if not isinstance(feature.get("properties"), (dict, type(None))):
            raise ImportFileError(f"{path} #{i + 1}: `properties` must be an object")
    crs = doc.get("crs")
    if crs is not None and (not isinstance(crs, dict) or crs.get("type") != "name"):
        raise ImportFileError(
            f"{path}: only a named `crs` member is accepted (got {str(crs)[:80]})"
        )
    if (
        crs is not None
    ):  # GDAL ignores a name it cannot resolve and assumes lon/lat: refuse it instead
        name = (
            crs.get("properties", {}).get("name")
            if isinstance(crs.get("properties"), dict)
            else None
        )
        if not isinstance(name, str) or not CRS_NAME.match(name):
            raise ImportFileError(
                f"{path}: `crs` must name a CRS like EPSG:4547 or urn:ogc:def:crs:EPSG::4547 "
                f"(got {str(name)[:80]})"
            )
        try:
            pyproj.CRS.from_user_input(name)
        except pyproj.exceptions.CRSError:
            raise ImportFileError(
                f"{path}: `crs` names an unknown coordinate system {name!r}"
            ) from None


def read_file(
    path: Path, *, layer: str | None = None, source_crs: str | None = None
) -> gpd.GeoDataFrame:
    """Read one layer and reproject it to lon/lat (EPSG:4326; CGCS2000 is treated as equal)."""
    target = _resolve_path(path)
    try:
        frame = gpd.read_file(target, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        raise ImportFileError(
            f"{path}: cannot be read as GeoJSON, Shapefile or GeoPackage ({exc})"
        ) from None
    if source_crs:
        frame = frame.set_crs(source_crs, allow_override=True)
    if frame.crs is None:
        raise ImportFileError(
            f"{path}: the file names no coordinate system; pass --source-crs (e.g. EPSG:4547)"
        )
    if frame.crs.to_epsg() not in (4326, 4490):
        frame = frame.to_crs("EPSG:4326")
    return frame


def _pick(frame: pd.DataFrame, wanted: str | None, key: str) -> str | None:
    if wanted:
        if wanted not in frame.columns:
            raise ImportFileError(
                f"field {wanted!r} is not in the file (fields: {', '.join(map(str, frame.columns))})"
            )
        return wanted
    return next((c for c in DEFAULT_FIELDS[key] if c in frame.columns), None)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_layers(
    paths: list[Path],
    *,
    fields: dict[str, str | None],
    layer: str | None = None,
    source_crs: str | None = None,
) -> ImportReport:
    report = ImportReport(files=[p.name for p in paths])
    for path in paths:
        frame = read_file(path, layer=layer, source_crs=source_crs)
        cols = {key: _pick(frame, fields.get(key), key) for key in DEFAULT_FIELDS}
        if cols["code"] is None:
            raise ImportFileError(f"{path}: no code field found; pass --code-field")
        records = frame.drop(columns=frame.geometry.name).to_dict("records")
        for i, (record, geom) in enumerate(zip(records, frame.geometry.values, strict=True)):

            def get(key: str, record=record, cols=cols) -> str:
                return _text(record.get(cols[key])) if cols[key] else ""

            code = get("code")
            region = get("region_class")
            report.rows.append(
                GridRow(
                    source=f"{path.name} #{i + 1}",
                    source_code=code,
                    code=code,
                    name=get("name"),
                    parent_field=get("parent"),
                    grid_type=get("type"),
                    region_class=int(region) if region.isdigit() else None,
                    names={k: get(k) for k in ("community_name", "street_name", "district_name")},
                    geometry=geom,
                )
            )
    return report


# --- validation ------------------------------------------------------------------------------


def load_code_map(path: Path) -> dict[str, str]:
    """old_code,new_code rows: corrections an administrator decided on."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return {
            r["old_code"].strip(): r["new_code"].strip()
            for r in csv.DictReader(f)
            if r.get("old_code")
        }


def check_codes(report: ImportReport, code_map: dict[str, str]) -> None:
    seen: dict[str, GridRow] = {}
    for row in report.rows:
        code = code_map.get(row.source_code, row.source_code)
        if code != row.source_code:
            report.add(
                WARNING, "code_mapped", row, f"code {row.source_code} mapped to {code} (--code-map)"
            )
        if not (code.isascii() and code.isdigit()):  # str.isdigit() alone takes ３ and ³ for digits
            report.add(ERROR, "bad_code", row, f"code {code!r} must be digits 0-9 only")
            continue
        if len(code) == 14:
            padded = code[:12] + "0" + code[12:]
            report.add(WARNING, "legacy_code", row, f"legacy 14-digit code padded to {padded}")
            code = padded
        elif len(code) != 15:
            report.add(
                ERROR,
                "bad_code",
                row,
                f"code {code} has {len(code)} digits; a grid code has 15 "
                "(6 county + 3 street + 3 community + 3 serial); fix it or map it with --code-map",
            )
            continue
        row.code = code
        if row.parent_field and row.parent_field != code[:12]:
            report.add(
                ERROR,
                "parent_mismatch",
                row,
                f"parent field says community {row.parent_field} but the code's prefix is {code[:12]}",
            )
        if code in seen:
            report.add(
                ERROR, "duplicate_code", row, f"duplicate code {code}: also {seen[code].source}"
            )
            report.add(
                ERROR, "duplicate_code", seen[code], f"duplicate code {code}: also {row.source}"
            )
        else:
            seen[code] = row


# A unit grid is ~10,000 m² and a dedicated grid (a river, a road) a few km long; a feature wider than
# this has a wrong vertex (found by the import fuzz: one longitude of -91 made a 212°-wide sliver).
MAX_GRID_SPAN_DEG = 0.5


def check_geometries(report: ImportReport) -> None:
    for row in tqdm(report.rows, desc="geometry", unit="grid", leave=False, mininterval=0.5):
        geom = row.geometry
        if geom is None or geom.is_empty:
            report.add(ERROR, "no_geometry", row, "the feature has no geometry")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            report.add(
                ERROR, "not_polygon", row, f"geometry is a {geom.geom_type}; a grid is a polygon"
            )
            continue
        xy = shapely.get_coordinates(geom)
        if not np.isfinite(xy).all():
            report.add(
                ERROR,
                "bad_coordinates",
                row,
                "a coordinate is not a finite number (NaN or infinity)",
            )
            row.geometry = (
                None  # refused: no measuring it against the others (GEOS fails on NaN/inf)
            )
            continue
        if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
            report.add(
                ERROR,
                "bad_coordinates",
                row,
                f"coordinates outside longitude/latitude {geom.bounds}: "
                "a wrong or missing CRS? (--source-crs)",
            )
            row.geometry = None
            continue
        x0, y0, x1, y1 = geom.bounds
        if max(x1 - x0, y1 - y0) > MAX_GRID_SPAN_DEG:
            report.add(
                ERROR,
                "bad_coordinates",
                row,
                f"the grid spans {x1 - x0:.3f}° of longitude and {y1 - y0:.3f}° of latitude {geom.bounds}; a "
                f"unit grid is about 100 m across (at most {MAX_GRID_SPAN_DEG}° here): a wrong coordinate?",
            )
            row.geometry = None
            continue
        if geom.is_valid:
            continue
        reason = shapely.is_valid_reason(geom)
        repaired = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        parts_before = shapely.get_num_geometries(geom)
        if (
            repaired.geom_type in ("Polygon", "MultiPolygon")
            and not repaired.is_empty
            and shapely.get_num_geometries(repaired) == parts_before
            and abs(repaired.area - shapely.buffer(geom, 0).area)
            <= 1e-3 * max(repaired.area, 1e-12)
        ):
            row.geometry = repaired
            report.add(
                WARNING,
                "repaired_geometry",
                row,
                f"invalid geometry ({reason}) repaired by make_valid",
            )
        else:
            report.add(
                ERROR,
                "invalid_geometry",
                row,
                f"invalid geometry ({reason}); refused: repairing it would split or change the grid",
            )


def _metric(geoms: list[shapely.Geometry]) -> tuple[gpd.GeoSeries, object]:
    series = gpd.GeoSeries(geoms, crs="EPSG:4326")
    try:
        crs = series.estimate_utm_crs()
    except (RuntimeError, IndexError):  # no UTM zone (polar, or a layer spanning the globe)
        x0, y0, x1, y1 = series.total_bounds
        crs = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={(y0 + y1) / 2} +lon_0={(x0 + x1) / 2} +datum=WGS84 +units=m"
        )
    return series.to_crs(crs), crs


def check_topology(
    report: ImportReport, *, tolerance_m2: float, communities: dict[str, shapely.Geometry]
) -> None:
    """Overlaps between any two grids; gaps inside each community; grids outside their community."""
    rows = [
        r
        for r in report.rows
        if r.geometry is not None
        and not r.geometry.is_empty
        and r.geometry.geom_type in ("Polygon", "MultiPolygon")
        and r.geometry.is_valid
        and r.code.isdigit()
        and len(r.code) == 15
    ]
    if not rows:
        return
    metric, crs = _metric([r.geometry for r in rows])
    geoms = metric.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        overlap = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        if overlap > tolerance_m2:
            report.overlaps += 1
            report.overlap_m2 += overlap
            report.add(
                ERROR,
                "overlap",
                rows[i],
                f"overlaps grid {rows[j].code} ({rows[j].source}) by {overlap:.1f} m²",
            )
    by_community: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        by_community[row.code[:12]].append(k)
    for community, members in tqdm(
        by_community.items(), desc="gaps", unit="community", leave=False, mininterval=0.5
    ):
        union = shapely.union_all(geoms[members])
        parent = communities.get(community)
        if parent is not None:
            parent_m = gpd.GeoSeries([parent], crs="EPSG:4326").to_crs(crs).values[0]
            gaps = shapely.difference(parent_m, union)
            for k in members:
                outside = shapely.area(shapely.difference(geoms[k], parent_m))
                if outside > tolerance_m2:
                    report.add(
                        ERROR,
                        "outside_parent",
                        rows[k],
                        f"lies {outside:.1f} m² outside its community {community}",
                    )
        else:
            # Without the community's own outline, a gap is a hole in its grids' union that no
            # other grid fills (a hole filled by a neighbour's grid is an enclave, not a gap).
            holes = shapely.union_all([shapely.Polygon(ring) for ring in _interior_rings(union)])
            fillers = tree.query(holes, predicate="intersects") if not holes.is_empty else []
            gaps = (
                shapely.difference(holes, shapely.union_all(geoms[fillers]))
                if len(fillers)
                else holes
            )
        for piece in shapely.get_parts(gaps):
            if piece.area > tolerance_m2:
                at = gpd.GeoSeries([piece.representative_point()], crs=crs).to_crs(4326).values[0]
                report.gaps += 1
                report.gap_m2 += piece.area
                report.add(
                    WARNING,
                    "gap",
                    f"community {community}",
                    f"gap of {piece.area:.1f} m² between its grids near {at.x:.6f},{at.y:.6f}",
                )


def _interior_rings(geom: shapely.Geometry) -> list[shapely.LinearRing]:
    rings = []
    for polygon in shapely.get_parts(geom):
        if polygon.geom_type == "Polygon":
            rings.extend(polygon.interiors)
    return rings


def validate(
    report: ImportReport, *, code_map: dict[str, str] | None = None, tolerance_m2: float = 1.0
) -> ImportReport:
    from grids.models import Area

    check_codes(report, code_map or {})
    check_geometries(report)
    community_codes = {r.code[:12] for r in report.rows}
    communities = {
        a.code: shapely.from_geojson(a.geometry)
        for a in Area.objects.current()
        .filter(code__in=community_codes, derived_geometry=False)
        .exclude(geometry="")
    }
    check_topology(report, tolerance_m2=tolerance_m2, communities=communities)
    return report


# --- writing ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    closed: int = 0
    areas_created: int = 0


def apply(
    report: ImportReport,
    *,
    region_class: int | None = None,
    area_names: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Write a validated import in one transaction. Refuses a report with errors."""
    from grids.models import Grid, GridLayer

    if not report.ok:
        raise ValueError("an import with errors is never written")
    today = today or timezone.localdate()
    result = ImportResult()
    with transaction.atomic():
        areas = _ensure_areas(report.rows, area_names or {}, result)
        existing = {g.code: g for g in Grid.objects.filter(code__in=[r.code for r in report.rows])}
        to_create, to_update = [], []
        for row in tqdm(report.rows, desc="write", unit="grid", leave=False, mininterval=0.5):
            grid = existing.get(row.code) or Grid(code=row.code, valid_from=today)
            grid.name = row.name or grid.name or f"网格{row.code[-3:]}"
            grid.legacy_code = row.source_code if row.source_code != row.code else ""
            grid.grid_type = row.grid_type or grid.grid_type
            grid.community = areas[row.code[:12]]
            grid.geometry = to_geojson(row.geometry)
            grid.area_m2 = round(geodesic_area_m2(row.geometry), 1)
            grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = row.geometry.bounds
            grid.region_class = row.region_class or region_class or grid.region_class or 1
            grid.valid_to = None
            (to_update if grid.pk else to_create).append(grid)
        Grid.objects.bulk_create(to_create, batch_size=500)
        Grid.objects.bulk_update(
            to_update,
            [
                "name",
                "legacy_code",
                "grid_type",
                "community",
                "geometry",
                "area_m2",
                "min_lon",
                "min_lat",
                "max_lon",
                "max_lat",
                "region_class",
                "valid_to",
            ],
            batch_size=500,
        )
        imported = {r.code for r in report.rows}
        replaced = (
            Grid.objects.current()
            .filter(community__code__in={c[:12] for c in imported})
            .exclude(code__in=imported)
        )
        result.closed = replaced.update(valid_to=today)
        result.created, result.updated = len(to_create), len(to_update)
        _derive_area_geometries(set(areas.values()))
        GridLayer.bump()
    return result


def _ensure_areas(rows: list[GridRow], names: dict[str, str], result: ImportResult) -> dict:
    """Create missing district/street/community areas from code prefixes; return communities by code."""
    from grids.models import Area, Level

    wanted: dict[str, str] = {}
    for row in rows:
        for length, key in ((6, "district_name"), (9, "street_name"), (12, "community_name")):
            code = row.code[:length]
            wanted.setdefault(code, names.get(code) or row.names.get(key) or "")
    existing = {a.code: a for a in Area.objects.filter(code__in=wanted)}
    level_of = {6: Level.DISTRICT, 9: Level.STREET, 12: Level.COMMUNITY}
    default_name = {6: "区 ", 9: "街道 ", 12: "社区 "}
    for code in sorted(wanted, key=len):
        if code in existing:
            continue
        parent = existing.get(code[:9] if len(code) == 12 else code[:6]) if len(code) > 6 else None
        existing[code] = Area.objects.create(
            code=code,
            name=wanted[code] or default_name[len(code)] + code,
            level=level_of[len(code)],
            parent=parent,
            derived_geometry=True,
        )
        result.areas_created += 1
    return {c: a for c, a in existing.items() if len(c) == 12}


def _derive_area_geometries(communities: set) -> None:
    """Areas marked derived get the union of their current grids (communities, then streets, districts)."""
    from grids.models import Area, Grid

    touched = {a.code for a in communities}
    for length in (12, 9, 6):
        codes = {c[:length] for c in touched}
        for area in Area.objects.filter(code__in=codes, derived_geometry=True):
            texts = list(
                Grid.objects.current()
                .filter(code__startswith=area.code)
                .values_list("geometry", flat=True)
            )
            if texts:
                union = shapely.union_all(shapely.from_geojson(texts))
                area.geometry = to_geojson(union)
                area.save(update_fields=["geometry", "min_lon", "min_lat", "max_lon", "max_lat"])
