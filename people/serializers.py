from __future__ import annotations

from rest_framework import serializers

from people.models import User


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    device = serializers.CharField(
        max_length=100,
        required=False,
        default="default",
        help_text="A name for this device; a new sign-in replaces its token.",
    )


class MeSerializer(serializers.ModelSerializer):
    organisation = serializers.SerializerMethodField()
    grids = serializers.SerializerMethodField()
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "role",
            "role_display",
            "organisation",
            "grids",
        ]

    def get_organisation(self, user: User) -> dict | None:
        org = user.organisation
        if org is None:
            return None
        return {
            "id": org.id,
            "code": org.code,
            "name": org.name,
            "kind": org.kind,
            "area": org.area.code if org.area_id else None,
        }

    def get_grids(self, user: User) -> list[str]:
        return list(
            user.grids.current()
            .filter(assignments__in=user.grid_assignments.in_force())
            .values_list("code", flat=True)
            .distinct()
        )
