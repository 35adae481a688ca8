"""The docs/domain.md §6 defaults: handling unit = 处置率×40 + 按期处置率×40 + (1−超期未处置率)×10 +
(1−返工率)×10; grid/area = 结案率×30 + 按期结案率×40 + (1−返工率)×10 + 立案数分值×20; 立案数分值 for
一类区域 0 → 100, 1–2 → 90, 3–4 → 75, 5–6 → 60, 7–8 → 40, ≥9 → 0, each class one step (2 cases)
looser than the one before. No officer scheme: docs/domain.md gives none (an administrator may add one)."""

from django.db import migrations

SCHEMES = {
    "unit": (
        "处置单位综合指标",
        [
            ("disposal_rate", 40, False),
            ("disposal_on_time_rate", 40, False),
            ("overdue_rate", 10, True),
            ("rework_rate", 10, True),
        ],
    ),
    "area": (
        "网格/区域综合指标",
        [
            ("closure_rate", 30, False),
            ("closure_on_time_rate", 40, False),
            ("rework_rate", 10, True),
            ("registration_density", 20, False),
        ],
    ),
}
POINTS = (100, 90, 75, 60, 40)


def seed(apps, schema_editor):
    Scheme = apps.get_model("metrics", "ScoreScheme")
    Indicator = apps.get_model("metrics", "ScoreIndicator")
    Band = apps.get_model("metrics", "RegistrationBand")
    for kind, (name, indicators) in SCHEMES.items():
        scheme, created = Scheme.objects.get_or_create(kind=kind, defaults={"name": name})
        if created:
            Indicator.objects.bulk_create(
                [
                    Indicator(scheme=scheme, indicator=i, weight=w, inverse=inv)
                    for i, w, inv in indicators
                ]
            )
    if Band.objects.exists():
        return
    for region_class in (1, 2, 3):
        looser = 2 * (region_class - 1)
        Band.objects.bulk_create(
            [
                Band(region_class=region_class, up_to=2 * i + looser, points=points)
                for i, points in enumerate(POINTS)
            ]
            + [Band(region_class=region_class, up_to=None, points=0)]
        )


def unseed(apps, schema_editor):
    apps.get_model("metrics", "ScoreScheme").objects.all().delete()
    apps.get_model("metrics", "RegistrationBand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
