"""Admin for API clients: issuing a key (shown once, on save) and revoking it; submissions are
read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from open311.models import ApiClient, Submission


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key_prefix",
        "active",
        "created",
        "last_used_at",
        "revoked_at",
        "submission_count",
    ]
    list_filter = ["active"]
    search_fields = ["name", "contact", "key_prefix"]
    fields = ["name", "contact", "key_prefix", "active", "created", "last_used_at", "revoked_at"]
    readonly_fields = ["key_prefix", "active", "created", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_submissions=Count("submissions"))

    @admin.display(description=_("submissions"), ordering="n_submissions")
    def submission_count(self, obj: ApiClient) -> int:
        return obj.n_submissions

    def save_model(self, request, obj: ApiClient, form, change: bool) -> None:
        """A new client gets a random key, shown once here; only its hash is stored."""
        key = None if change else obj.set_new_key()
        super().save_model(request, obj, form, change)
        if key:
            self.message_user(
                request,
                _("The API key of %(name)s is %(key)s — copy it now: it is not shown again.")
                % {"name": obj.name, "key": key},
                messages.WARNING,
            )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset) -> None:
        clients = list(queryset.filter(active=True))
        for client in clients:
            client.revoke()
        self.message_user(
            request, _("%(n)d key(s) revoked.") % {"n": len(clients)}, messages.SUCCESS
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: submissions keep pointing at their client


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["case", "client", "received_at", "token"]
    list_filter = ["client"]
    search_fields = ["case__number", "token"]
    list_select_related = ["case", "client"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
