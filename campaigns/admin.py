"""Admin: the campaign settings (baseline date, night window), campaign classes, demolition targets,
the ledger with its import (upload a workbook, see every row's problems, nothing written unless clean)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from campaigns.importer import LedgerFileError, import_ledger, write_template
from campaigns.models import (
    CampaignClass,
    CampaignSettings,
    DemolitionTarget,
    Disposition,
    LedgerEntry,
)


@admin.register(CampaignSettings)
class CampaignSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "baseline_date", "night_start", "night_end"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CampaignSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CampaignClass)
class CampaignClassAdmin(admin.ModelAdmin):
    list_display = ["small_class", "campaign"]
    list_filter = ["campaign"]
    autocomplete_fields = ["small_class"]


@admin.register(DemolitionTarget)
class DemolitionTargetAdmin(admin.ModelAdmin):
    list_display = ["street", "year", "target_m2"]
    list_filter = ["year"]


class DispositionInline(admin.TabularInline):
    model = Disposition
    extra = 0
    can_delete = False
    fields = ["kind", "demolished_m2", "state", "case", "recorded_at", "decided_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LedgerUploadForm(forms.Form):
    workbook = forms.FileField(label=_("Workbook (.xlsx)"))
    dry_run = forms.BooleanField(label=_("Check only, write nothing"), required=False)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "kind",
        "status",
        "area_m2",
        "demolished_m2",
        "structure",
        "found_on",
        "grid_code",
        "source",
    ]
    list_filter = ["kind", "status", "source", "structure"]
    search_fields = ["number", "address", "grid_code"]
    readonly_fields = ["origin_case", "grid", "created_at", "closed_at", "demolished_m2", "status"]
    inlines = [DispositionInline]

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="campaigns_ledgerentry_import",
            ),
            path(
                "template/",
                self.admin_site.admin_view(self.template_view),
                name="campaigns_ledgerentry_template",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload the existing ledger; the report lists each bad row and field; nothing is written then."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = LedgerUploadForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["workbook"]
            try:
                report = import_ledger(
                    upload, name=upload.name, dry_run=form.cleaned_data["dry_run"]
                )
            except LedgerFileError as exc:
                form.add_error("workbook", str(exc))
            else:
                if report.ok and report.written:
                    self.message_user(request, report.summary(), messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:campaigns_ledgerentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "title": _("Import the ledger"),
        }
        return TemplateResponse(request, "admin/campaigns/ledgerentry/import.html", context)

    def template_view(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="ledger-template.xlsx"'
        write_template(response)
        return response
