"""Long budget of tests/reliability/test_import_fuzz.py: many more broken files."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.import_fuzz import broken_geojson, broken_shapefile, shapefile_parts, write_shapefile
from tests.reliability.test_import_fuzz import _refused_clearly, imported_layer  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.long]
EXAMPLES = int(os.environ.get("RELIABILITY_IMPORT_EXAMPLES", "600"))
LONG = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KINDS: dict[str, int] = {}


def _count(kind: str) -> None:
    KINDS[kind.split()[0]] = KINDS.get(kind.split()[0], 0) + 1


@pytest.fixture(autouse=True)
def _figures():
    KINDS.clear()
    started = time.monotonic()
    yield
    print(
        f"\nFIGURES import fuzz: {sum(KINDS.values())} broken files in {time.monotonic() - started:.1f} s, "
        f"by defect {dict(sorted(KINDS.items()))}"
    )


@LONG
@given(broken=broken_geojson())
def test_broken_geojson_long(imported_layer, broken):  # noqa: F811
    folder, _before = imported_layer
    kind, data = broken
    _count(kind)
    path = folder / f"broken-{kind}.geojson"
    path.write_bytes(data)
    _refused_clearly(path, kind)


@LONG
@given(data=broken_shapefile(shapefile_parts(Path(tempfile.mkdtemp(prefix="gridcase-shp-")))))
def test_broken_shapefiles_long(imported_layer, data):  # noqa: F811
    folder, _before = imported_layer
    kind, parts, as_zip = data
    _count(kind)
    _refused_clearly(
        write_shapefile(Path(tempfile.mkdtemp(dir=folder)) / "layer", parts, as_zip), kind
    )
