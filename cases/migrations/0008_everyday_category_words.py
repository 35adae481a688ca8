"""Adds the everyday words people search by (乱倒垃圾, 违规广告, 占道经营, 违建…) to the keywords of
the small classes already seeded (issue 22); new classes get them from cases.categories when seeded.
Words an administrator already has are kept; only missing ones are appended."""

from django.db import migrations


def add_words(apps, schema_editor):
    from cases.categories import EVERYDAY_WORDS

    small_class = apps.get_model("cases", "SmallClass")
    for (standard, code), words in EVERYDAY_WORDS.items():
        rows = small_class.objects.filter(
            big_class__standard__code=standard, big_class__kind="event", code=code
        )
        for row in rows:
            have = row.keywords.split()
            missing = [w for w in words.split() if w not in have]
            if missing:
                row.keywords = " ".join(have + missing)
                row.save(update_fields=["keywords"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_dispatch_rules")]

    operations = [migrations.RunPython(add_words, migrations.RunPython.noop)]
