from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_reference_triggers(using: str = "default", **kwargs) -> None:
    from backend import reference

    reference.install_triggers(using)


class BackendConfig(AppConfig):
    name = "backend"

    def ready(self) -> None:
        # After every migrate (and flush): a migration that rebuilds a table on SQLite drops its
        # triggers; installing is idempotent (backend/reference.py).
        post_migrate.connect(
            _install_reference_triggers, sender=self, dispatch_uid="reference-triggers"
        )
