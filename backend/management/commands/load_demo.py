"""Load the demo city once: the Suzhou Industrial Park grids, organisations and demo accounts."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from grids.models import Grid

SIP = settings.BASE_DIR / "fixtures" / "sip"


class Command(BaseCommand):
    help = "Load the demo city (only in demo mode, GRIDCASE_DEMO=1); does nothing if it is loaded."

    def handle(self, *args, **options):
        if not settings.DEMO:
            raise CommandError("The demo city is loaded only in demo mode (GRIDCASE_DEMO=1).")
        if Grid.objects.exists():
            self.stdout.write("Demo city already loaded.")
        else:
            call_command(
                "import_grids", SIP / "sip_grid_comprehensive_826.geojson", SIP / "sip_grid_dedicated_475.geojson",
                code_map=SIP / "code_map.csv", area_names=SIP / "area_names.csv", stdout=self.stdout)
        from people.demo import create_demo_people

        create_demo_people()
        self.stdout.write(self.style.SUCCESS("Demo city ready."))
