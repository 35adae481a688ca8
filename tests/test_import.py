"""`import_grids`: the real SIP layers, a projected Shapefile, and broken files (docs/domain.md §1)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import timezone

from grids.geo import geodesic_area_m2, grid_index
from grids.models import Area, Grid
from tests.factories import make_area

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sip"
COMPREHENSIVE = FIXTURES / "sip_grid_comprehensive_826.geojson"
DEDICATED = FIXTURES / "sip_grid_dedicated_475.geojson"
CODE_MAP = FIXTURES / "code_map.csv"
COMMUNITY = "320505006023"  # 荷韵社区: 7 comprehensive grids


def run_import(*paths, **options) -> str:
    out = io.StringIO()
    call_command("import_grids", *map(str, paths), stdout=out, **options)
    return out.getvalue()


def failing_import(*paths, **options) -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_grids", *map(str, paths), stdout=out, **options)
    return out.getvalue(), str(failure.value)


def community_frame(code: str = COMMUNITY) -> gpd.GeoDataFrame:
    frame = gpd.read_file(COMPREHENSIVE)
    return frame[frame.community_code == code].reset_index(drop=True)


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path, driver="GeoJSON")
    return path


def test_the_real_sip_layers_import_cleanly_with_zero_overlaps_and_gaps():
    out = run_import(COMPREHENSIVE, DEDICATED, code_map=CODE_MAP)
    assert "0 errors" in out
    assert "overlaps: 0 (0.0 m²); gaps: 0 (0.0 m²)" in out
    assert Grid.objects.count() == 1301
    assert Area.objects.filter(level="community").count() == 179
    assert Area.objects.filter(level="street").count() == 6
    mapped = Grid.objects.get(code="320505006007510")
    assert mapped.legacy_code == "3205050060075010"
    grid = Grid.objects.get(code="320505006023001")
    assert grid.community.code == "320505006023" and grid.community.name == "荷韵社区"
    assert grid.community.parent.code == "320505006" and grid.community.parent.name == "斜塘街道"
    assert grid.area_m2 == pytest.approx(51501.8, rel=0.01)  # the source's own figure
    # Point → grid on the imported layer: the grid's own interior point finds it.
    inside = shapely.from_geojson(grid.geometry).representative_point()
    assert grid_index().locate(inside.x, inside.y).code == grid.code


def test_reimport_updates_by_code_and_closes_replaced_grids():
    frame = community_frame()
    path = write_geojson(frame, Path(tempfile.mkdtemp()) / "c.geojson")
    run_import(path)
    first = set(Grid.objects.values_list("code", flat=True))
    assert len(first) == len(frame) == 7
    dropped = frame.grid_code.iloc[-1]
    smaller = write_geojson(frame.iloc[:-1].assign(grid_name="改名"), path.with_name("c2.geojson"))
    out = run_import(smaller)
    assert "0 grids created, 6 updated, 1 closed" in out
    closed = Grid.objects.get(code=dropped)
    assert closed.valid_to == timezone.localdate()
    assert not Grid.objects.current().filter(code=dropped).exists()
    assert set(Grid.objects.current().values_list("name", flat=True)) == {"改名"}
    point = shapely.from_geojson(closed.geometry).representative_point()
    assert grid_index().locate(point.x, point.y).code != dropped


def test_a_projected_shapefile_folder_and_zip_import_to_the_same_lon_lat(tmp_path):
    frame = community_frame()
    projected = frame.to_crs("EPSG:4549")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    folder = tmp_path / "shp"
    folder.mkdir()
    projected.to_file(folder / "grids.shp", driver="ESRI Shapefile", encoding="utf-8")
    run_import(folder)
    for _, source in frame.iterrows():
        grid = Grid.objects.get(code=source.grid_code)
        imported = shapely.from_geojson(grid.geometry)
        assert imported.hausdorff_distance(source.geometry) < 1e-6  # ≈ 0.1 m
        assert grid.area_m2 == pytest.approx(geodesic_area_m2(source.geometry), rel=1e-4)
        assert grid.name == source.grid_name
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    out = run_import(archive)
    assert "0 grids created, 7 updated, 0 closed" in out


def test_a_geopackage_layer_imports(tmp_path):
    path = tmp_path / "grids.gpkg"
    community_frame().to_file(path, layer="grids", driver="GPKG")
    out = run_import(path, layer="grids")
    assert "7 grids created" in out


def broken_file(tmp_path: Path) -> Path:
    """Four grids of one community with one problem each, plus two good ones."""
    frame = community_frame().iloc[:6].copy()
    # 1. a self-intersecting ring (bow tie)
    x0, y0, x1, y1 = frame.geometry.iloc[0].bounds
    frame.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    # 2. a duplicated code
    frame.loc[1, "grid_code"] = frame.grid_code.iloc[2]
    # 3. one grid overlapping another
    frame.loc[3, "geometry"] = shapely.buffer(frame.geometry.iloc[3], 0.0003)
    # 4. a 13-digit code
    frame.loc[4, "grid_code"] = frame.grid_code.iloc[4][:13]
    return write_geojson(frame, tmp_path / "broken.geojson")


def test_a_broken_file_reports_each_problem_with_its_feature_and_writes_nothing(tmp_path):
    out, error = failing_import(broken_file(tmp_path))
    lines = out.splitlines()

    def line_for(feature: str, words: str) -> str:
        found = [line for line in lines if f"broken.geojson #{feature} " in line and words in line]
        assert found, f"no line for feature #{feature} mentioning {words!r} in:\n{out}"
        return found[0]

    assert "Self-intersection" in line_for("1", "invalid geometry")
    line_for("2", "duplicate code")
    line_for("3", "duplicate code")
    overlap = line_for("4", "overlaps grid")
    assert "m²" in overlap
    assert "13 digits" in line_for("5", "has 13 digits")
    assert "nothing was written" in error
    assert Grid.objects.count() == 0 and Area.objects.count() == 0


def test_dry_run_reports_and_writes_nothing():
    out = run_import(COMPREHENSIVE, dry_run=True)
    assert "826 features read" in out and "Dry run" in out
    assert Grid.objects.count() == 0 and Area.objects.count() == 0


def test_a_legacy_14_digit_code_is_padded_and_the_original_kept(tmp_path):
    frame = community_frame().iloc[:1].copy()
    frame.loc[0, "grid_code"] = COMMUNITY + "07"
    out = run_import(write_geojson(frame, tmp_path / "legacy.geojson"))
    assert "legacy 14-digit code padded to 320505006023007" in out
    assert Grid.objects.get().legacy_code == COMMUNITY + "07"


def test_a_grid_outside_its_community_is_refused(tmp_path):
    frame = community_frame()
    outline = shapely.union_all(frame.geometry.values)
    make_area(code=COMMUNITY, geometry=outline)
    frame.loc[0, "geometry"] = shapely.buffer(frame.geometry.iloc[0], 0.002)
    frame = frame.iloc[:1]
    out, _error = failing_import(write_geojson(frame, tmp_path / "outside.geojson"))
    assert "outside its community 320505006023" in out
    assert not Grid.objects.exists()


def test_gaps_between_grids_of_a_community_are_reported_in_square_metres(tmp_path):
    frame = community_frame()
    outline = shapely.union_all(frame.geometry.values)
    make_area(code=COMMUNITY, geometry=outline)
    out = run_import(write_geojson(frame.iloc[1:], tmp_path / "gap.geojson"), dry_run=True)
    missing_m2 = geodesic_area_m2(frame.geometry.iloc[0])
    gap_line = next(line for line in out.splitlines() if "gap of" in line)
    reported = float(gap_line.split("gap of ")[1].split(" m²")[0])
    assert reported == pytest.approx(missing_m2, rel=0.01)


def test_a_geojson_with_a_linked_crs_is_refused_before_gdal_reads_it(tmp_path):
    doc = json.loads(COMPREHENSIVE.read_text(encoding="utf-8"))
    doc["crs"] = {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs.wkt"}}
    path = tmp_path / "link.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _out, error = failing_import(path)
    assert "only a named `crs` member is accepted" in error


def test_a_missing_field_option_names_the_available_fields(tmp_path):
    _out, error = failing_import(COMPREHENSIVE, code_field="bianma")
    assert "field 'bianma' is not in the file" in error and "grid_code" in error


def test_a_grid_closed_on_the_day_it_was_created_is_not_in_force():
    run_import(write_geojson(community_frame().iloc[:2], Path(tempfile.mkdtemp()) / "a.geojson"))
    today = timezone.localdate()
    Grid.objects.update(valid_from=today, valid_to=today)
    assert Grid.objects.valid_on(today).count() == 0
    assert Grid.objects.valid_on(today - dt.timedelta(days=1)).count() == 0
