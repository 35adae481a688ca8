"""The per-(object, day) rollup of the period counts (metrics/rollup.py, issue #25), written
from the event log already there; the signal on CaseEvent keeps it from then on."""

from django.db import migrations, models


def build(apps, schema_editor):
    from metrics.rollup import rebuild

    rebuild(
        models={
            name: apps.get_model(app, name)
            for app, name in (
                ("cases", "Case"),
                ("cases", "CaseEvent"),
                ("grids", "Grid"),
                ("metrics", "DailyFigures"),
            )
        }
    )


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0003_evaluation_rules"),
        ("cases", "0007_dispatch_rules"),
        ("grids", "0003_grid_assignment_history"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("dim", models.CharField(max_length=16)),
                ("obj", models.CharField(max_length=32)),
                ("day", models.DateField()),
                ("counted_until", models.DateTimeField()),
                ("accepted", models.IntegerField(default=0)),
                ("registered", models.IntegerField(default=0)),
                ("dispatched", models.IntegerField(default=0)),
                ("disposed", models.IntegerField(default=0)),
                ("disposed_on_time", models.IntegerField(default=0)),
                ("closed", models.IntegerField(default=0)),
                ("closed_on_time", models.IntegerField(default=0)),
                ("rework", models.IntegerField(default=0)),
                ("extensions", models.IntegerField(default=0)),
                ("returns", models.IntegerField(default=0)),
                ("voided", models.IntegerField(default=0)),
                ("self_handled", models.IntegerField(default=0)),
                ("self_registered", models.IntegerField(default=0)),
            ],
            options={
                "verbose_name": "daily figures",
                "verbose_name_plural": "daily figures",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("dim", "day", "obj", "counted_until"), name="daily_figures_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(build, migrations.RunPython.noop),
    ]
