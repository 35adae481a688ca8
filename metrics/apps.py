from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Evaluation")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from cases.models import CaseEvent
        from metrics import rollup

        # the per-(object, day) rollup, kept in the transaction that writes the case event
        post_save.connect(rollup.on_event_saved, sender=CaseEvent, dispatch_uid="metrics_rollup")
