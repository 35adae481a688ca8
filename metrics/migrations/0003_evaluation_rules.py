"""The evaluation rules of issue #17 (docs/domain.md §6 rewritten): the minimum sample for 十佳/十差, a
unit's 返工率 over its 应处置数 (its 应结案数 leaves out the centre's backlog), and the seeded
schemes moved to the new defaults where an administrator has not changed them:
area 结案率×40 + 按期结案率×40 + (1−返工率)×20, 立案数分值 kept in the editor with weight 0 (off);
unit 处置率×40 + 按期处置率×40 + (1−超期未处置率)×10 + (1−返工率 of 应处置数)×10."""

from django.db import migrations, models

OLD_AREA = {
    ("closure_rate", 30, False),
    ("closure_on_time_rate", 40, False),
    ("rework_rate", 10, True),
    ("registration_density", 20, False),
}
NEW_AREA = {
    "closure_rate": 40,
    "closure_on_time_rate": 40,
    "rework_rate": 20,
    "registration_density": 0,
}
OLD_UNIT = {
    ("disposal_rate", 40, False),
    ("disposal_on_time_rate", 40, False),
    ("overdue_rate", 10, True),
    ("rework_rate", 10, True),
}


def _as_set(scheme):
    return {(i.indicator, int(i.weight), i.inverse) for i in scheme.indicators.all()}


def forward(apps, schema_editor):
    Scheme = apps.get_model("metrics", "ScoreScheme")
    area = Scheme.objects.filter(kind="area").first()
    if area is not None and _as_set(area) == OLD_AREA:
        for indicator in area.indicators.all():
            indicator.weight = NEW_AREA[indicator.indicator]
            indicator.save(update_fields=["weight"])
    unit = Scheme.objects.filter(kind="unit").first()
    if unit is not None and _as_set(unit) == OLD_UNIT:
        unit.indicators.filter(indicator="rework_rate").update(indicator="disposal_rework_rate")


def backward(apps, schema_editor):
    Scheme = apps.get_model("metrics", "ScoreScheme")
    old = {i: w for i, w, _inv in OLD_AREA}
    area = Scheme.objects.filter(kind="area").first()
    if area is not None and {(i.indicator, int(i.weight)) for i in area.indicators.all()} == set(
        NEW_AREA.items()
    ):
        for indicator in area.indicators.all():
            indicator.weight = old[indicator.indicator]
            indicator.save(update_fields=["weight"])
    unit = Scheme.objects.filter(kind="unit").first()
    if unit is not None:
        unit.indicators.filter(indicator="disposal_rework_rate").update(indicator="rework_rate")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_seed_schemes"),
    ]

    operations = [
        migrations.CreateModel(
            name="EvaluationSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "min_sample_grid",
                    models.PositiveSmallIntegerField(
                        default=3,
                        verbose_name="grids: cases due for closure to be named best or worst",
                    ),
                ),
                (
                    "min_sample_area",
                    models.PositiveSmallIntegerField(
                        default=1,
                        verbose_name="communities, streets, districts: cases due for closure to be named best or worst",
                    ),
                ),
                (
                    "min_sample_unit",
                    models.PositiveSmallIntegerField(
                        default=1,
                        verbose_name="handling units: cases due for disposal to be named best or worst",
                    ),
                ),
            ],
            options={
                "verbose_name": "evaluation settings",
                "verbose_name_plural": "evaluation settings",
            },
        ),
        migrations.RemoveConstraint(
            model_name="scoreindicator",
            name="score_indicator_valid",
        ),
        migrations.AlterField(
            model_name="scoreindicator",
            name="indicator",
            field=models.CharField(
                choices=[
                    ("disposal_rate", "Disposal rate"),
                    ("disposal_on_time_rate", "On-time disposal rate"),
                    ("overdue_rate", "Overdue rate (overdue open / due for disposal)"),
                    ("closure_rate", "Closure rate"),
                    ("closure_on_time_rate", "On-time closure rate"),
                    ("rework_rate", "Rework rate"),
                    ("disposal_rework_rate", "Rework rate (of cases due for disposal)"),
                    ("extension_rate", "Extension rate"),
                    ("registration_rate", "Registration rate"),
                    ("dispatch_rate", "Dispatch rate"),
                    ("valid_report_rate", "Valid report rate"),
                    ("verify_on_time_rate", "On-time verification rate"),
                    ("check_on_time_rate", "On-time check rate"),
                    ("registration_density", "Registered cases per grid per week (points)"),
                ],
                max_length=24,
                verbose_name="indicator",
            ),
        ),
        migrations.AddConstraint(
            model_name="scoreindicator",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "indicator__in",
                        [
                            "disposal_rate",
                            "disposal_on_time_rate",
                            "overdue_rate",
                            "closure_rate",
                            "closure_on_time_rate",
                            "rework_rate",
                            "disposal_rework_rate",
                            "extension_rate",
                            "registration_rate",
                            "dispatch_rate",
                            "valid_report_rate",
                            "verify_on_time_rate",
                            "check_on_time_rate",
                            "registration_density",
                        ],
                    )
                ),
                name="score_indicator_valid",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
