"""Time rules an administrator edits (docs/domain.md §5): step limits and the yellow threshold, and
the record of deadline alarms already raised (so each fires once per case and step)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.dictionary import LimitUnit

__all__ = ["Step", "STEP_OF_STATUS", "StepLimit", "DeadlineRules", "CaseAlarm"]


class Step(models.TextChoices):
    ACCEPT = "accept", _("Accept")  # 受理
    VERIFY = "verify", _("Verify")  # 核实
    REGISTER = "register", _("Register")  # 立案
    DISPATCH = "dispatch", _("Dispatch")  # 派遣
    DISPOSE = "dispose", _("Dispose")  # 处置 (the case deadline)
    CHECK = "check", _("Check")  # 核查
    CLOSE = "close", _("Close")  # 结案


# The step a case is waiting for in each status (the clock that runs).
STEP_OF_STATUS = {
    "reported": Step.ACCEPT,
    "verifying": Step.VERIFY,
    "pending_registration": Step.REGISTER,
    "dispatching": Step.DISPATCH,
    "handling": Step.DISPOSE,
    "checking": Step.CHECK,
    "closing": Step.CLOSE,
}


class StepLimit(models.Model):
    """The time limit of one step (the disposal step uses the small class's own limit)."""

    step = models.CharField(_("step"), max_length=10, choices=Step.choices, unique=True)
    time_limit = models.PositiveIntegerField(
        _("time limit"), default=1, validators=[MinValueValidator(1)]
    )
    time_limit_unit = models.CharField(
        _("time limit unit"), max_length=20, choices=LimitUnit.choices, default=LimitUnit.WORK_HOURS
    )

    class Meta:
        verbose_name = _("step time limit")
        verbose_name_plural = _("step time limits")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    step__in=["accept", "verify", "register", "dispatch", "check", "close"]
                ),
                name="step_limit_step_valid",
            ),
            models.CheckConstraint(
                condition=Q(time_limit_unit__in=LimitUnit.values), name="step_limit_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()}: {self.time_limit} {self.get_time_limit_unit_display()}"

    @classmethod
    def limit_for(cls, step: str) -> tuple[int, str]:
        """(limit, unit) of `step`; the rows are cached until a reference row changes
        (backend/reference.py). A step without a row: 1 working hour."""
        from backend import reference

        limits = reference.cached(
            "step-limits",
            lambda: {
                row[0]: (row[1], row[2])
                for row in cls.objects.values_list("step", "time_limit", "time_limit_unit")
            },
        )
        return limits.get(step) or (1, LimitUnit.WORK_HOURS)


class DeadlineRules(models.Model):
    """One row: when an open case turns yellow."""

    yellow_share = models.FloatField(
        _("yellow at share of allowed time"),
        default=0.8,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.99)],
        # xgettext:no-python-format
        help_text=_("0.8: yellow once 80 % of the allowed working time has been used."),
    )

    class Meta:
        verbose_name = _("deadline rules")
        verbose_name_plural = _("deadline rules")

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def yellow(cls) -> float:
        return cls.objects.filter(pk=1).values_list("yellow_share", flat=True).first() or 0.8


class CaseAlarm(models.Model):
    """A yellow or red raised for a case's step; the unique constraint makes it fire once."""

    class Level(models.TextChoices):
        YELLOW = "yellow", _("Yellow")
        RED = "red", _("Red")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="alarms")
    step = models.CharField(max_length=10, choices=Step.choices)
    # The step's start: a step entered again (a re-dispatch, a second check) is a new clock.
    started_at = models.DateTimeField()
    level = models.CharField(max_length=6, choices=Level.choices)
    raised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "step", "started_at", "level"], name="case_alarm_once"
            ),
        ]
