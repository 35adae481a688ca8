"""Special campaigns (docs/domain.md §12): the illegal-construction ledger 违建台账 and earth dumping 渣土.

- `CampaignClass` says which small classes belong to which campaign (data an administrator edits;
  seeded for the classes docs/domain.md §2 names: campaigns/setup.py).
- `CampaignSettings` (one row) holds the city's ledger baseline date and the night window.
- `DemolitionTarget`: the annual demolition target of a street, in m².
- `LedgerEntry`: one illegal construction, 新增 (new) or 存量 (existing), with its area, structure,
  use, place and state; made by a report of a construction class (cases.workflow.report_case) or
  imported from the city's existing ledger (campaigns/importer.py).
- `LedgerLink`: the case that reports or handles an entry (every case of a construction class has
  exactly one; a case naming an existing entry links to it instead of making a new one).
- `Disposition`: what the handling unit's feedback says was done (拆除/整改/补办/没收); it counts
  only once the officer's check passes (state confirmed).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_AREA_M2 = Decimal("100000")  # larger is refused as absurd (a typo, or hectares for m²)
DEFAULT_BASELINE = dt.date(2026, 1, 1)


class Campaign(models.TextChoices):
    CONSTRUCTION = "construction", _("Illegal construction")  # 违法建设
    DUMPING = "dumping", _("Earth dumping")  # 渣土 / 违法倾倒


class CampaignClass(models.Model):
    """A small class that belongs to a campaign. A construction class's case standard must require
    `area_m2` (the ledger needs the area; report_case skips classes whose schema does not)."""

    small_class = models.OneToOneField(
        "cases.SmallClass",
        verbose_name=_("small class"),
        on_delete=models.CASCADE,
        related_name="campaign_class",
    )
    campaign = models.CharField(_("campaign"), max_length=16, choices=Campaign.choices)

    class Meta:
        verbose_name = _("campaign class")
        verbose_name_plural = _("campaign classes")
        ordering = ["campaign", "small_class__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(campaign__in=Campaign.values), name="campaign_class_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_campaign_display()}: {self.small_class}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.campaign != Campaign.CONSTRUCTION or not self.small_class_id:
            return
        standard = getattr(self.small_class, "case_standard", None)
        schema = standard.attribute_schema if standard else {}
        if "area_m2" not in (schema.get("required") or []):
            raise ValidationError(
                {
                    "small_class": _(
                        "An illegal-construction class's case standard must require area_m2 "
                        "(the ledger needs the area)."
                    )
                }
            )


class CampaignSettings(models.Model):
    """The city's campaign settings: one row (pk 1), made by the migration."""

    baseline_date = models.DateField(
        _("ledger baseline date"),
        default=DEFAULT_BASELINE,
        help_text=_(
            "Construction found on or after this day is new (新增); before it, existing (存量)."
        ),
    )
    night_start = models.TimeField(_("night starts"), default=dt.time(20, 0))
    night_end = models.TimeField(_("night ends"), default=dt.time(6, 0))

    class Meta:
        verbose_name = _("campaign settings")
        verbose_name_plural = _("campaign settings")

    def __str__(self) -> str:
        return str(_("Campaign settings"))

    @classmethod
    def current(cls) -> CampaignSettings:
        row, _created = cls.objects.get_or_create(pk=1)
        return row

    def is_night(self, moment: dt.time) -> bool:
        """Within [night_start, night_end), the window wrapping midnight when start > end."""
        if self.night_start <= self.night_end:
            return self.night_start <= moment < self.night_end
        return moment >= self.night_start or moment < self.night_end


class DemolitionTarget(models.Model):
    street = models.ForeignKey(
        "grids.Area",
        verbose_name=_("street"),
        on_delete=models.CASCADE,
        related_name="demolition_targets",
        limit_choices_to={"level": "street"},
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    target_m2 = models.DecimalField(
        _("demolition target (m²)"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("demolition target")
        verbose_name_plural = _("demolition targets")
        ordering = ["-year", "street__code"]
        constraints = [
            models.UniqueConstraint(fields=["street", "year"], name="demolition_target_unique")
        ]

    def __str__(self) -> str:
        return f"{self.street} {self.year}: {self.target_m2} m²"


class Structure(models.TextChoices):
    STEEL_SHED = "steel_shed", _("Steel shed")  # 钢结构棚
    BRICK = "brick", _("Brick")  # 砖混
    OTHER = "other", _("Other")


class EntryKind(models.TextChoices):
    NEW = "new", _("New")  # 新增
    EXISTING = "existing", _("Existing")  # 存量


class EntryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PARTLY_DEMOLISHED = "partly_demolished", _("Partly demolished")
    DEMOLISHED = "demolished", _("Demolished")
    RECTIFIED = "rectified", _("Rectified")
    LEGALISED = "legalised", _("Legalised")
    CONFISCATED = "confiscated", _("Confiscated")


OPEN_ENTRY_STATUSES = (EntryStatus.OPEN, EntryStatus.PARTLY_DEMOLISHED)


class EntrySource(models.TextChoices):
    CASE = "case", _("Case report")
    IMPORT = "import", _("Ledger import")


class LedgerEntry(models.Model):
    number = models.CharField(_("entry number"), max_length=40, unique=True)
    kind = models.CharField(_("new or existing"), max_length=10, choices=EntryKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=EntryStatus.choices, default=EntryStatus.OPEN
    )
    source = models.CharField(_("source"), max_length=10, choices=EntrySource.choices)
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=12, decimal_places=2)
    demolished_m2 = models.DecimalField(
        _("demolished (m²)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    structure = models.CharField(
        _("structure"), max_length=12, choices=Structure.choices, blank=True
    )
    use = models.CharField(_("use"), max_length=100, blank=True)
    found_on = models.DateField(_("found on"))
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    grid_code = models.CharField(_("grid code"), max_length=15, blank=True, db_index=True)
    origin_case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("reported by case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_origin",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(
        _("disposed at"),
        null=True,
        blank=True,
        help_text=_("When its final disposition was confirmed."),
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-found_on", "-id"]
        indexes = [
            models.Index(fields=["kind", "found_on"]),
            models.Index(fields=["status", "grid_code"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="ledger_entry_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values), name="ledger_entry_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(area_m2__gt=0) & Q(area_m2__lte=MAX_AREA_M2),
                name="ledger_entry_area_range",
            ),
            models.CheckConstraint(
                condition=Q(demolished_m2__gte=0) & Q(demolished_m2__lte=models.F("area_m2")),
                name="ledger_entry_demolished_within_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.area_m2} m²)"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ENTRY_STATUSES

    @property
    def remaining_m2(self) -> Decimal:
        return self.area_m2 - self.demolished_m2


class LedgerLink(models.Model):
    """The ledger entry a case of a construction class reports or handles."""

    case = models.OneToOneField(
        "cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="ledger_link"
    )
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="links")

    class Meta:
        verbose_name = _("ledger link")
        verbose_name_plural = _("ledger links")


class DispositionKind(models.TextChoices):
    DEMOLISH = "demolish", _("Demolished")  # 拆除
    RECTIFY = "rectify", _("Rectified")  # 整改
    LEGALISE = "legalise", _("Legalised")  # 补办
    CONFISCATE = "confiscate", _("Confiscated")  # 没收


# What a confirmed final disposition makes of the entry (a demolition depends on the area left).
FINAL_STATUS = {
    DispositionKind.RECTIFY: EntryStatus.RECTIFIED,
    DispositionKind.LEGALISE: EntryStatus.LEGALISED,
    DispositionKind.CONFISCATE: EntryStatus.CONFISCATED,
}


class DispositionState(models.TextChoices):
    PENDING = "pending", _("Waiting for the check")
    CONFIRMED = "confirmed", _("Confirmed by the check")
    FAILED = "failed", _("Check failed")


class Disposition(models.Model):
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="dispositions")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("disposition"), max_length=12, choices=DispositionKind.choices)
    demolished_m2 = models.DecimalField(
        _("demolished (m²)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=DispositionState.choices,
        default=DispositionState.PENDING,
    )
    feedback_event = models.ForeignKey(
        "cases.CaseEvent", on_delete=models.PROTECT, related_name="+"
    )
    check_event = models.ForeignKey(
        "cases.CaseEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    decided_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["entry", "recorded_at", "id"]
        indexes = [
            models.Index(fields=["state", "decided_at"]),
            models.Index(fields=["case", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=DispositionKind.values), name="disposition_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=DispositionState.values), name="disposition_state_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="demolish", demolished_m2__gt=0)
                    | (~Q(kind="demolish") & Q(demolished_m2__isnull=True))
                ),
                name="disposition_demolished_area_iff_demolish",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry.number} {self.kind} ({self.state})"
