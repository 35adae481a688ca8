"""Fuzzed broken GeoJSON and Shapefiles through `import_grids`: always a CommandError naming the
file part or feature, never a traceback, and the grid and area tables unchanged (quick budget;
tests/reliability/ runs many more examples)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings

from tests.import_fuzz import (
    _dumps,
    broken_geojson,
    broken_shapefile,
    clean_collection,
    is_clear,
    shapefile_parts,
    snapshot,
    write_shapefile,
)

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("IMPORT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def import_grids(path: Path) -> tuple[str, Exception | None]:
    out = io.StringIO()
    try:
        call_command("import_grids", str(path), stdout=out, stderr=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def imported_layer():
    """The clean layer, imported: a broken file must leave it exactly as it is."""
    folder = Path(tempfile.mkdtemp(prefix="gridcase-import-fuzz-"))
    clean = folder / "clean.geojson"
    clean.write_bytes(_dumps(clean_collection()))
    out, error = import_grids(clean)
    assert error is None, out
    return folder, snapshot()


def _refused_clearly(path: Path, kind: str) -> None:
    before = snapshot()
    # Any exception other than CommandError escapes import_grids() and fails the test with its traceback.
    out, error = import_grids(path)
    assert error is not None, f"a broken file ({kind}) was imported:\n{out}"
    message = f"{out}\n{error}"
    assert "Traceback" not in message
    assert is_clear(message, path), message
    assert snapshot() == before, f"a refused import ({kind}) changed the grid or area tables"


def test_the_clean_layer_imports_and_a_reimport_changes_nothing(imported_layer):
    """The control: the generators' starting point is a valid file (so refusals are the defects')."""
    folder, before = imported_layer
    out, error = import_grids(folder / "clean.geojson")
    assert error is None, out
    grids, areas, _layer = snapshot()
    assert (grids, areas) == before[:2]


def test_a_vertex_far_away_is_refused_even_when_it_is_a_valid_longitude(imported_layer):
    """Found by `make reliability`: one vertex at longitude -91 (valid WGS 84) turned a 100 m square
    into a 212°-wide sliver, and the import took it."""
    folder, _before = imported_layer
    doc = clean_collection()
    doc["features"][0]["geometry"]["coordinates"][0][2][0] = -91.0
    path = folder / "far-vertex.geojson"
    path.write_bytes(_dumps(doc))
    _refused_clearly(path, "far vertex")
    out, error = import_grids(path)
    assert "#1" in f"{out}{error}" and "spans 211.801° of longitude" in f"{out}{error}"


@FUZZ
@given(broken=broken_geojson())
def test_broken_geojson_is_refused_with_a_clear_error_and_nothing_written(imported_layer, broken):
    folder, _before = imported_layer
    kind, data = broken
    path = folder / f"broken-{kind}.geojson"
    path.write_bytes(data)
    _refused_clearly(path, kind)


@FUZZ
@given(data=broken_shapefile(shapefile_parts(Path(tempfile.mkdtemp(prefix="gridcase-shp-")))))
def test_broken_shapefiles_are_refused_with_a_clear_error_and_nothing_written(imported_layer, data):
    folder, _before = imported_layer
    kind, parts, as_zip = data
    target = write_shapefile(Path(tempfile.mkdtemp(dir=folder)) / "layer", parts, as_zip)
    _refused_clearly(target, kind)
