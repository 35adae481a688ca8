"""Write fixtures/sip/area_names.csv from the SIP grid layers (grids/area_names.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from grids.area_names import sip_area_names, write_csv

SIP = settings.BASE_DIR / "fixtures" / "sip"
LAYERS = [SIP / "sip_grid_comprehensive_826.geojson", SIP / "sip_grid_dedicated_475.geojson"]


class Command(BaseCommand):
    help = "Write fixtures/sip/area_names.csv: unique display names of the demo city's areas."

    def handle(self, *args, **options):
        names = sip_area_names(LAYERS)
        write_csv(names, SIP / "area_names.csv")
        self.stdout.write(f"{len(names)} area names written to {SIP / 'area_names.csv'}.")
