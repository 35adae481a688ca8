"""Admin for organisations and people (DOMAIN.md §3): role + organisation decide what one sees."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from people.models import Organisation, User

_WORK_FIELDSET = (_("Organisation and role"), {"fields": ("organisation", "role", "unit_leader", "phone")})


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area", "phone", "active", "secondary_dispatch")
    list_filter = ("kind", "active", "secondary_dispatch")
    search_fields = ("code", "name")
    list_select_related = ("area",)
    autocomplete_fields = ("area",)


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
