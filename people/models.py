"""Organisations, people and roles (docs/domain.md §3), on Django's auth.

Every person belongs to one organisation; what they may see and do follows from role +
organisation + area. The organisation's area bounds a centre role's view; null means the city.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OFFICER = "officer", _("Patrol officer")
    ACCEPTOR = "acceptor", _("Acceptor")
    SHIFT_LEADER = "shift_leader", _("Shift leader")
    DISPATCHER = "dispatcher", _("Dispatcher")
    UNIT_MEMBER = "unit_member", _("Handling unit member")
    VIEWER = "viewer", _("Viewer")
    ADMIN = "admin", _("Administrator")
    PUBLIC = "public", _("Public")


CENTRE_ROLES = frozenset({Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.VIEWER})


class Organisation(models.Model):
    class Kind(models.TextChoices):
        CENTRE = "centre", _("Supervision centre")
        HANDLING_UNIT = "handling_unit", _("Handling unit")
        STREET_OFFICE = "street_office", _("Street office")
        PUBLIC = "public", _("Public")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    area = models.ForeignKey(
        "grids.Area",
        verbose_name=_("area of responsibility"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisations",
        help_text=_("Empty means the whole city."),
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    secondary_dispatch = models.BooleanField(
        _("secondary dispatch"),
        default=False,
        help_text=_(
            "二级派遣: the unit's leaders assign its cases to its members (docs/units.md)."
        ),
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["centre", "handling_unit", "street_office", "public"]),
                name="organisation_kind_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    unit_leader = models.BooleanField(
        _("unit leader"),
        default=False,
        help_text=_(
            "A handling unit's leader assigns its cases to members when the unit uses secondary dispatch."
        ),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[*Role.values, ""]), name="user_role_valid"
            )
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    @property
    def area(self):
        """The area this person's view is bounded by; None means the whole city."""
        return self.organisation.area if self.organisation_id else None


class ApiToken(models.Model):
    """An API token of one person on one device (docs/security.md). Only the SHA-256 digest of the
    key is stored: the key is shown once, when it is issued. A token expires; a new sign-in on
    the same device replaces that device's token; logout, the person or an administrator revokes it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    device = models.CharField(_("device"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(fields=["user", "device"], name="one_api_token_per_device")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.device}"
