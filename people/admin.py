"""Admin for organisations and people (docs/domain.md §3): role + organisation decide what one sees."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from people import directory
from people.models import ApiToken, Organisation, User

_WORK_FIELDSET = (
    _("Organisation and role"),
    {"fields": ("organisation", "role", "unit_leader", "phone")},
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area", "phone", "active", "secondary_dispatch")
    list_filter = ("kind", "active", "secondary_dispatch")
    search_fields = ("code", "name")
    list_select_related = ("area",)
    autocomplete_fields = ("area",)
    change_list_template = "admin/people/organisation/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("directory/", view(self.directory_view), name="people_directory_import"),
            path(
                "directory/template.xlsx",
                view(self.directory_template),
                name="people_directory_template",
            ),
            *super().get_urls(),
        ]

    def directory_view(self, request: HttpRequest) -> HttpResponse:
        """Upload the directory workbook: a preview (every problem, or what would change), then the
        import of the previewed file, then the new people's one-time sign-in links."""
        _require_superuser(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import the city directory"),
            "opts": self.model._meta,
            "link_hours": directory.link_hours(),
        }
        if request.method == "POST" and request.POST.get("upload_id"):
            return self._directory_apply(request, context)
        if request.method == "POST" and request.FILES.get("workbook"):
            upload = request.FILES["workbook"]
            if upload.size > MAX_WORKBOOK_BYTES:
                context["failure"] = _("The workbook is larger than 20 MB.")
                return TemplateResponse(request, TEMPLATE, context, status=400)
            content = upload.read()
            report, failure = _check(content, name=upload.name)
            context.update(report=report, failure=failure)
            if report is not None and report.ok:
                upload_id = uuid.uuid4().hex
                _upload_path(upload_id).write_bytes(content)
                request.session[SESSION_KEY] = upload_id
                context["upload_id"] = upload_id
            return TemplateResponse(
                request, TEMPLATE, context, status=200 if failure is None and report.ok else 400
            )
        return TemplateResponse(request, TEMPLATE, context)

    def _directory_apply(self, request: HttpRequest, context: dict) -> HttpResponse:
        upload_id = request.POST["upload_id"]
        if request.session.get(SESSION_KEY) != upload_id or not _upload_path(upload_id).exists():
            context["failure"] = _("That preview has expired: upload the workbook again.")
            return TemplateResponse(request, TEMPLATE, context, status=400)
        stored = _upload_path(upload_id)
        report, failure = _check(stored.read_bytes(), name=request.POST.get("name") or "workbook")
        if failure is None and report.ok:  # validated again: the database may have changed since
            context["applied"] = directory.apply(report, base_url=request.build_absolute_uri("/"))
            stored.unlink(missing_ok=True)
            request.session.pop(SESSION_KEY, None)
        context.update(report=report, failure=failure)
        return TemplateResponse(
            request, TEMPLATE, context, status=200 if "applied" in context else 400
        )

    def directory_template(self, request: HttpRequest) -> HttpResponse:
        _require_superuser(request)
        buffer = io.BytesIO()
        directory.write_template(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = (
            f'attachment; filename="directory-{timezone.localdate():%Y%m%d}.xlsx"'
        )
        return response


TEMPLATE = "admin/people/directory_import.html"
SESSION_KEY = "directory_upload"
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_superuser(request: HttpRequest) -> None:
    """The directory grants roles: administrators (superusers) only."""
    if not request.user.is_superuser:
        raise PermissionDenied


def _upload_path(upload_id: str) -> Path:
    """Where a previewed workbook waits for its import (previews older than a day are removed)."""
    folder = Path(settings.DATA_DIR) / "directory-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    stale = time.time() - 24 * 3600
    for old in folder.glob("*.xlsx"):
        if old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    return folder / f"{uuid.UUID(hex=upload_id).hex}.xlsx"


def _check(content: bytes, *, name: str) -> tuple[directory.DirectoryReport | None, str | None]:
    try:
        report = directory.read_workbook(io.BytesIO(content), name=name)
    except directory.DirectoryFileError as error:
        return None, str(error)
    return directory.validate(report), None


@admin.register(User)
class GridcaseUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, _WORK_FIELDSET)
    add_fieldsets = (*UserAdmin.add_fieldsets, _WORK_FIELDSET)
    list_display = (
        "username",
        "first_name",
        "last_name",
        "role",
        "organisation",
        "is_active",
        "is_staff",
    )
    list_filter = ("role", "organisation", "is_active", "is_staff", "is_superuser")
    # Phone is how a supervision centre finds an officer; the grid inline's autocomplete uses these.
    search_fields = (*UserAdmin.search_fields, "phone")
    list_select_related = ("organisation",)
    autocomplete_fields = ("organisation",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Administrators see every person's API tokens and revoke them by deleting (docs/security.md).
    Tokens are issued by signing in (POST /api/auth/token): the admin cannot make one."""

    list_display = ("user", "device", "created_at", "expires_at", "last_used_at")
    search_fields = ("user__username", "device")
    list_select_related = ("user",)
    readonly_fields = ("user", "device", "created_at", "expires_at", "last_used_at")
    exclude = ("digest",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
