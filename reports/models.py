"""Periodic notification reports (docs/domain.md §7): 周通报, 月通报, 季度讲评.

A `Report` row is one revision of one report of one period. It is built once from the event log
(reports/build.py) into `data`, a JSON snapshot of every table, list and chart, and the PDF and
the workbook are rendered from that snapshot in the same build and stored beside it
(`ReportFile`). Nothing is recomputed when it is read: a published report never changes, later
case edits included. A correction is a new revision of the same period with the same numbers
(第N期 / 总第M期) and a reason; the earlier revision stays readable, marked as superseded.

A report is requested (on demand, by the scheduler's Monday job, or by `publish_report`) as a row
in state `queued`; the scheduler's reports job claims it, writes progress as it builds, and
publishes it in one transaction (snapshot, files, numbers, alerts).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly report")  # 周通报
    MONTHLY = "monthly", _("Monthly report")  # 月通报
    QUARTERLY = "quarterly", _("Quarterly review")  # 季度讲评


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    BUILDING = "building", _("Building")
    DRAFT = "draft", _("Draft")  # built, waiting for the centre head (or the automatic publication)
    PUBLISHING = (
        "publishing",
        _("Publishing"),
    )  # a draft someone published: the scheduler renders it
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")


class ReportSettings(models.Model):
    """How reports are cut, numbered and published (one row, edited in the admin)."""

    title = models.CharField(
        _("title"),
        max_length=100,
        default="数字化城市管理",
        help_text=_("Shown before the report's name, e.g. “苏州工业园区数字化城市管理”."),
    )
    issuer = models.CharField(
        _("issued by"),
        max_length=100,
        default="数字城管监督指挥中心",
        help_text=_("The centre that issues the report: in the title and the 落款."),
    )
    city = models.CharField(
        _("city"),
        max_length=60,
        blank=True,
        default="",
        help_text=_(
            "Printed before the centre's name in the title, e.g. “苏州工业园区”. "
            "Empty: the name of the only district, if there is one."
        ),
    )
    recipients = models.CharField(
        _("sent to (主送)"),
        max_length=300,
        blank=True,
        default="各街道办事处，各专业处置单位",
        help_text=_("The report's 主送/通报范围 line; empty leaves it out."),
    )
    copy_to = models.CharField(
        _("copy to (抄送)"),
        max_length=300,
        blank=True,
        default="",
        help_text=_("Printed at the end; empty leaves it out."),
    )
    week_starts_on = models.PositiveSmallIntegerField(
        _("week starts on"),
        default=0,
        validators=[MaxValueValidator(6)],
        help_text=_("0 = Monday … 6 = Sunday: the weekday the weekly period begins."),
    )
    cutoff = models.TimeField(
        _("cut-off time"),
        default=dt.time(0, 0),
        help_text=_("Periods run from this time on their first day to the same time after."),
    )
    publish_delay_hours = models.PositiveSmallIntegerField(
        _("publish after (hours)"),
        default=8,
        validators=[MaxValueValidator(24 * 7)],
        help_text=_(
            "Hours after the period's end at which it is published automatically (8: Monday 08:00)."
        ),
    )
    auto_publish_hours = models.PositiveSmallIntegerField(
        _("publish an untouched draft after (hours)"),
        default=10,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_(
            "Hours after the period's end at which a draft the scheduler built and nobody published "
            "is published as it is (10: Monday 10:00)."
        ),
    )
    auto_weekly = models.BooleanField(_("publish weekly reports automatically"), default=True)
    auto_monthly = models.BooleanField(_("publish monthly reports automatically"), default=True)
    auto_quarterly = models.BooleanField(_("publish quarterly reviews automatically"), default=True)
    weekly_serial_offset = models.PositiveIntegerField(
        _("weekly: issues before this system"),
        default=0,
        help_text=_("总第M期 continues from the issues published before Gridcase."),
    )
    monthly_serial_offset = models.PositiveIntegerField(
        _("monthly: issues before this system"), default=0
    )
    quarterly_serial_offset = models.PositiveIntegerField(
        _("quarterly: issues before this system"), default=0
    )
    top_n = models.PositiveSmallIntegerField(
        _("best and worst grids named"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    min_cases_ranked = models.PositiveSmallIntegerField(
        _("cases a grid needs to be named best or worst"),
        default=1,
        help_text=_(
            "Grids with fewer cases due for closure are ranked in the tables but not named 十佳/十差."
        ),
    )
    hot_spot_min = models.PositiveSmallIntegerField(
        _("hot spot: cases of one class in one grid"), default=3, validators=[MinValueValidator(2)]
    )
    trend_periods = models.PositiveSmallIntegerField(
        _("periods in the trend chart"),
        default=8,
        validators=[MinValueValidator(2), MaxValueValidator(26)],
    )

    class Meta:
        verbose_name = _("report settings")
        verbose_name_plural = _("report settings")

    def __str__(self) -> str:
        return str(_("Report settings"))

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.auto_publish_hours < self.publish_delay_hours:
            raise ValidationError(
                {
                    "auto_publish_hours": _(
                        "A draft is published after it is built: use at "
                        "least the hours after which it is built."
                    )
                }
            )

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ReportSettings:
        found, _created = cls.objects.get_or_create(pk=1)
        return found

    def serial_offset(self, kind: str) -> int:
        return getattr(self, f"{kind}_serial_offset")

    def auto(self, kind: str) -> bool:
        return getattr(self, f"auto_{kind}")


class Report(models.Model):
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    start = models.DateTimeField(_("period start"))
    end = models.DateTimeField(_("period end (exclusive)"))
    label = models.CharField(_("period"), max_length=40)  # 2026年第47周 (11月16日—11月22日)
    key = models.CharField(_("period key"), max_length=12)  # 2026-W47, 2026-11, 2026-Q4
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    reason = models.TextField(_("reason for the revision"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=80, blank=True)
    error = models.TextField(_("error"), blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    issue = models.PositiveIntegerField(_("issue (第N期)"), null=True, blank=True)
    serial = models.PositiveIntegerField(_("serial (总第M期)"), null=True, blank=True)
    automatic = models.BooleanField(_("published by the scheduler"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    # The text sections written (or confirmed) at publication; empty in a draft until someone
    # writes them: the draft shows the generated findings (data["findings"]) instead, and
    # publication freezes whichever text it printed here.
    problems = models.TextField(_("存在问题"), blank=True, max_length=8000)
    requirements = models.TextField(_("下周工作要求"), blank=True, max_length=8000)
    review = models.TextField(_("讲评"), blank=True, max_length=8000)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    data = models.JSONField(_("snapshot"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-start", "kind", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "start", "revision"], name="report_period_revision_unique"
            ),
            models.UniqueConstraint(
                fields=["kind", "year", "issue", "revision"],
                condition=Q(issue__isnull=False),
                name="report_issue_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "serial", "revision"],
                condition=Q(serial__isnull=False),
                name="report_serial_unique",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="report_period_ordered"),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="report_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=State.values), name="report_state_valid"),
        ]
        indexes = [models.Index(fields=["state", "claimed_at"])]

    def __str__(self) -> str:
        revision = f" ({_('revision')} {self.revision})" if self.revision > 1 else ""
        return f"{self.get_kind_display()} {self.label}{revision}"

    @property
    def published(self) -> bool:
        return self.state == State.PUBLISHED


class ReportFile(models.Model):
    """A rendered PDF or workbook of a published report, stored with it (same transaction)."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "Excel"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="files")
    format = models.CharField(max_length=4, choices=Format.choices)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "format"], name="report_file_unique")
        ]


class Action(models.TextChoices):
    """The steps of a report's life recorded as ReportEvent rows."""

    REQUESTED = "requested", _("Requested")
    BUILT = "built", _("Draft built")
    FAILED = "failed", _("Failed")
    EDITED = "edited", _("Text edited")
    PUBLISHED = "published", _("Published")


class ReportEvent(models.Model):
    """One step of a report's life (who, when): requested, built, failed, edited, published."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    automatic = models.BooleanField(_("by the scheduler"), default=False)
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["pk"]  # appended in order
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="report_event_action_valid"
            )
        ]
