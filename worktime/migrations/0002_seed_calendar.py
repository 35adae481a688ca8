"""A fresh database has the working calendar after `migrate`: every year chinesecalendar covers,
and the default working periods 08:30–12:00 and 13:30–17:30 (docs/domain.md §5). Bulk inserts, well
under a second. Reversing deletes the seeded days (manual rows stay) and leaves the periods."""

from django.db import migrations


def seed(apps, schema_editor):
    from worktime.holidays import package_days, package_years, seed_default_periods, write_days

    write_days(package_days(package_years()), model=apps.get_model("worktime", "WorkingDay"))
    seed_default_periods(model=apps.get_model("worktime", "WorkingPeriod"))


def unseed(apps, schema_editor):
    apps.get_model("worktime", "WorkingDay").objects.exclude(source="manual").delete()


class Migration(migrations.Migration):
    dependencies = [("worktime", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
