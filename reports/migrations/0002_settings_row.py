from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("reports", "ReportSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
