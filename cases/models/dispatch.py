"""The responsibility list 权责清单 (issue 23): which handling unit a small class (or a whole big
class) goes to in which area, and the small classes the system dispatches by itself right after
registration. The rules are read by cases/dispatch_rules.py; the city keeps them in the directory
workbook's sheet 派遣规则 (people/directory.py)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["DispatchRule", "AutoDispatch"]


class DispatchRule(models.Model):
    """Cases of `small_class` (or of any small class of `big_class`) whose grid code starts with
    `area_prefix` go to `unit`. The most specific area prefix wins, then a small-class rule over a
    big-class one, then the lower `priority` number. An empty prefix is the whole city."""

    small_class = models.ForeignKey(
        "cases.SmallClass",
        verbose_name=_("small class"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    big_class = models.ForeignKey(
        "cases.BigClass",
        verbose_name=_("big class"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    area_prefix = models.CharField(
        _("area code prefix"),
        max_length=15,
        blank=True,
        validators=[RegexValidator(r"^[0-9]*$", _("An area code prefix is digits only."))],
        help_text=_(
            "A grid code prefix: 6 digits a district, 9 a street, 12 a community; empty for the city."
        ),
    )
    unit = models.ForeignKey(
        "people.Organisation",
        verbose_name=_("handling unit"),
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
        limit_choices_to={"kind": "handling_unit"},
    )
    priority = models.PositiveIntegerField(
        _("priority"),
        default=1,
        help_text=_("Among rules as specific as each other, 1 wins over 2."),
    )

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")
        ordering = ["small_class", "big_class", "area_prefix", "priority"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(small_class__isnull=False, big_class__isnull=True)
                    | Q(small_class__isnull=True, big_class__isnull=False)
                ),
                name="dispatch_rule_one_class",
            ),
            models.UniqueConstraint(
                fields=["small_class", "area_prefix", "priority"],
                condition=Q(small_class__isnull=False),
                name="dispatch_rule_small_unique",
            ),
            models.UniqueConstraint(
                fields=["big_class", "area_prefix", "priority"],
                condition=Q(big_class__isnull=False),
                name="dispatch_rule_big_unique",
            ),
        ]

    def __str__(self) -> str:
        target = self.small_class or self.big_class
        return f"{target} @ {self.area_prefix or '*'} → {self.unit} ({self.priority})"


class AutoDispatch(models.Model):
    """A small class the system dispatches by itself, to the unit its rules suggest, right after
    registration (an administrator switches it on per small class)."""

    small_class = models.OneToOneField(
        "cases.SmallClass",
        verbose_name=_("small class"),
        on_delete=models.CASCADE,
        related_name="auto_dispatch",
    )
    enabled = models.BooleanField(_("dispatch automatically after registration"), default=True)

    class Meta:
        verbose_name = _("automatic dispatch")
        verbose_name_plural = _("automatic dispatch")

    def __str__(self) -> str:
        return f"{self.small_class}: {'on' if self.enabled else 'off'}"
