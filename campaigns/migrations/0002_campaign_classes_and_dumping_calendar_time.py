"""Data: the settings row; the named construction and dumping classes marked; the construction
classes' schemas given the ledger's fields; the dumping classes' time limits in calendar time
(docs/domain.md §12). Installations seeded later get the same from seed_categories()."""

from django.db import migrations


def forward(apps, schema_editor):
    from campaigns.setup import seed_campaign_classes

    apps.get_model("campaigns", "CampaignSettings").objects.get_or_create(pk=1)
    seed_campaign_classes(apps)


def backward(apps, schema_editor):
    from campaigns.setup import unseed_campaign_classes

    unseed_campaign_classes(apps)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_ledger"), ("cases", "0005_metrics_indexes")]
    operations = [migrations.RunPython(forward, backward)]
