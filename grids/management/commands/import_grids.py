"""python manage.py import_grids PATH [PATH …] — see grids/importer.py for the rules."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grids import importer


class Command(BaseCommand):
    help = (
        "Import unit grids from GeoJSON, Shapefile (folder or .zip) or GeoPackage. Validates first "
        "and writes nothing if any feature has an error. Several files are validated together."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report; write nothing"
        )
        parser.add_argument("--layer", help="layer name inside a GeoPackage")
        parser.add_argument(
            "--source-crs", help="CRS of the file when it names none (e.g. EPSG:4547)"
        )
        parser.add_argument(
            "--code-field", help="field holding the 15-digit grid code (default: grid_code/code)"
        )
        parser.add_argument(
            "--name-field", help="field holding the grid name (default: grid_name/name)"
        )
        parser.add_argument(
            "--parent-field", help="field holding the community code, checked against the code"
        )
        parser.add_argument("--type-field", help="field holding the grid type (e.g. 综合网格)")
        parser.add_argument("--community-name-field", help="field naming the community")
        parser.add_argument("--street-name-field", help="field naming the street")
        parser.add_argument(
            "--region-class", type=int, choices=[1, 2, 3], help="region class for new grids"
        )
        parser.add_argument(
            "--code-map", type=Path, help="CSV old_code,new_code of decided corrections"
        )
        parser.add_argument(
            "--area-names", type=Path, help="CSV code,name naming areas built from codes"
        )
        parser.add_argument(
            "--tolerance-m2",
            type=float,
            default=1.0,
            help="overlaps, gaps and outside parts smaller than this are ignored (m²)",
        )

    def handle(self, *args, **opts):
        fields = {
            "code": opts["code_field"],
            "name": opts["name_field"],
            "parent": opts["parent_field"],
            "type": opts["type_field"],
            "community_name": opts["community_name_field"],
            "street_name": opts["street_name_field"],
        }
        try:
            report = importer.read_layers(
                opts["paths"], fields=fields, layer=opts["layer"], source_crs=opts["source_crs"]
            )
            code_map = importer.load_code_map(opts["code_map"]) if opts["code_map"] else {}
        except (importer.ImportFileError, OSError, KeyError) as exc:
            raise CommandError(str(exc)) from None
        importer.validate(report, code_map=code_map, tolerance_m2=opts["tolerance_m2"])
        self.stdout.write(report.summary())
        if not report.ok:
            raise CommandError(f"{len(report.errors)} errors: nothing was written.")
        if opts["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
            return
        names = _read_names(opts["area_names"]) if opts["area_names"] else {}
        result = importer.apply(report, region_class=opts["region_class"], area_names=names)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {result.created} grids created, {result.updated} updated, {result.closed} closed "
                f"(valid_to set), {result.areas_created} areas created."
            )
        )


def _read_names(path: Path) -> dict[str, str]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        return {r["code"].strip(): r["name"].strip() for r in csv.DictReader(f)}
