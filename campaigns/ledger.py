"""The 违建台账 ledger's rules (docs/domain.md §12), called by the workflow inside its transactions.

- A report of a construction class (`CampaignClass`) is a ledger entry: `plan_report()` reads what
  it needs before report_case locks the day's serial, `LedgerPlan.write()` writes inside it. With a
  `ledger_number` attribute the case handles that existing entry (no new entry); otherwise it makes
  one, 新增 when found on or after the baseline date (`CampaignSettings`), else 存量, and a 新增
  entry alerts the street's office and the centre at once (alerts.outbox).
- The handling unit's feedback on a ledger case must carry a disposition (`disposition_errors()`),
  recorded as pending with the feedback event; the officer's check confirms it (pass) or drops it
  (fail): `after_event()`. Only confirmed dispositions change the entry and count in the figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import (
    FINAL_STATUS,
    MAX_AREA_M2,
    OPEN_ENTRY_STATUSES,
    Campaign,
    CampaignClass,
    CampaignSettings,
    Disposition,
    DispositionKind,
    DispositionState,
    EntryKind,
    EntrySource,
    EntryStatus,
    LedgerEntry,
    LedgerLink,
    Structure,
)


def _requires_area(category) -> bool:
    """Cheap pre-filter without a query when the case standard is loaded: a construction class's
    schema requires area_m2 (CampaignClass.clean), so a class whose schema does not is no ledger class."""
    standard = getattr(category, "case_standard", None)
    schema = standard.attribute_schema if standard is not None else {}
    return "area_m2" in (schema.get("required") or [])


def is_construction_class(category) -> bool:
    return (
        _requires_area(category)
        and CampaignClass.objects.filter(
            small_class=category, campaign=Campaign.CONSTRUCTION
        ).exists()
    )


@dataclass
class LedgerPlan:
    """What report_case will write for a construction case (read before its transaction)."""

    existing: LedgerEntry | None
    kind: str
    found_on: dt.date
    told: list
    area_m2: Decimal = Decimal("0")

    def write(self, case, event) -> LedgerEntry:
        """Inside report_case's transaction: the entry (or the link to the existing one), and the alert."""
        if self.existing is not None:
            LedgerLink.objects.create(case=case, entry=self.existing)
            return self.existing
        attributes = case.attributes or {}
        grid = case.grid
        structure = attributes.get("structure", "")
        entry = LedgerEntry.objects.create(
            number=case.number,
            kind=self.kind,
            source=EntrySource.CASE,
            area_m2=self.area_m2,
            structure=structure if structure in Structure.values else "",
            use=str(attributes.get("use", ""))[:100],
            found_on=self.found_on,
            lon=case.lon,
            lat=case.lat,
            address=case.address,
            grid=grid,
            grid_code=grid.code if grid else "",
            origin_case=case,
        )
        LedgerLink.objects.create(case=case, entry=entry)
        if self.kind == EntryKind.NEW and self.told:
            from alerts.outbox import notify

            notify(
                self.told,
                "new_illegal_construction",
                case=case,
                event=event,
                at=event.at,
                extra={
                    "entry": {
                        "id": entry.pk,
                        "number": entry.number,
                        "area_m2": float(entry.area_m2),
                        "street": grid.code[:9] if grid else None,
                    }
                },
            )
        return entry


def plan_report(case, *, now: dt.datetime) -> LedgerPlan | None:
    """None unless `case` (not saved yet) is of a construction class. Raises ValidationError
    (attributes) for a ledger_number naming no open entry. Reads only."""
    from django.core.exceptions import ValidationError

    if not is_construction_class(case.category):
        return None
    area = _area(case.attributes or {})
    number = str((case.attributes or {}).get("ledger_number") or "").strip()
    if number:
        existing = LedgerEntry.objects.filter(number=number).first()
        if existing is None:
            raise ValidationError(
                {"attributes": _("ledger_number: no ledger entry %(number)s.") % {"number": number}}
            )
        if not existing.is_open:
            raise ValidationError(
                {
                    "attributes": _(
                        "ledger_number: entry %(number)s is already disposed of (%(status)s)."
                    )
                    % {"number": number, "status": existing.get_status_display()}
                }
            )
        return LedgerPlan(
            existing=existing, kind=existing.kind, found_on=existing.found_on, told=[]
        )
    found_on = timezone.localdate(case.occurred_at or now)
    if case.occurred_at and case.occurred_at > now:
        found_on = timezone.localdate(now)
    baseline = CampaignSettings.current().baseline_date
    kind = EntryKind.NEW if found_on >= baseline else EntryKind.EXISTING
    told = []
    if kind == EntryKind.NEW:
        from alerts.outbox import new_construction_recipients

        told = new_construction_recipients(case)
    return LedgerPlan(existing=None, kind=kind, found_on=found_on, told=told, area_m2=area)


def _area(attributes: dict) -> Decimal:
    """The reported area as the ledger stores it (m², 2 places, at least 0.01); ValidationError
    (attributes) for no area or one outside (0, 100,000] whatever the class's schema allows."""
    from django.core.exceptions import ValidationError

    value = attributes.get("area_m2")
    try:
        area = (
            Decimal(str(value))
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )
    except ArithmeticError:
        area = None
    if area is None or not area.is_finite() or area <= 0 or area > MAX_AREA_M2:
        raise ValidationError(
            {
                "attributes": _(
                    "area_m2: the ledger needs an area in m², more than 0 and at most %(max)s."
                )
                % {"max": MAX_AREA_M2}
            }
        )
    return max(area.quantize(Decimal("0.01")), Decimal("0.01"))


# --- dispositions (feedback → check) -------------------------------------------------------------


def disposition_errors(case, *, disposition: str, demolished_m2: Decimal | None) -> dict[str, str]:
    """The feedback's disposition inputs checked against the case's ledger entry. Reads only."""
    link = LedgerLink.objects.select_related("entry").filter(case=case).first()
    if link is None:
        if disposition or demolished_m2 is not None:
            return {
                "disposition": _(
                    "Only cases of the illegal-construction ledger carry a disposition."
                )
            }
        return {}
    entry = link.entry
    if disposition not in DispositionKind.values:
        return {
            "disposition": _("Feedback on a ledger case needs a disposition: one of %(choices)s.")
            % {"choices": ", ".join(DispositionKind.values)}
        }
    if not entry.is_open:
        return {
            "disposition": _("Ledger entry %(number)s is already disposed of (%(status)s).")
            % {"number": entry.number, "status": entry.get_status_display()}
        }
    if disposition == DispositionKind.DEMOLISH:
        if demolished_m2 is None or demolished_m2 <= 0:
            return {"demolished_m2": _("A demolition needs the area demolished (m², more than 0).")}
        if demolished_m2 > entry.remaining_m2:
            return {
                "demolished_m2": _(
                    "%(area)s m² is more than the %(left)s m² left standing of entry %(number)s."
                )
                % {"area": demolished_m2, "left": entry.remaining_m2, "number": entry.number}
            }
    elif demolished_m2 is not None:
        return {"demolished_m2": _("Only a demolition (demolish) carries demolished_m2.")}
    return {}


def disposition_data(disposition: str, demolished_m2: Decimal | None) -> dict:
    """What the feedback event records of the disposition."""
    if not disposition:
        return {}
    data = {"disposition": disposition}
    if demolished_m2 is not None:
        data["demolished_m2"] = str(demolished_m2)
    return data


def after_event(case, event, *, now: dt.datetime) -> None:
    """Inside transition()'s transaction, after the event is written: a feedback with a disposition
    records it pending; a check confirms (pass) or fails (fail) the pending one of the case; a
    relocation moves the entry the case made (and tells a new street's office of a new entry)."""
    if event.action == "relocate":
        _relocate(case, event)
    elif event.action == "feedback" and event.data.get("disposition"):
        link = LedgerLink.objects.get(case=case)
        area = event.data.get("demolished_m2")
        Disposition.objects.create(
            entry_id=link.entry_id,
            case=case,
            kind=event.data["disposition"],
            demolished_m2=Decimal(area) if area is not None else None,
            feedback_event=event,
            recorded_by=event.actor,
            recorded_at=now,
        )
    elif event.action == "check":
        pending = (
            Disposition.objects.filter(case=case, state=DispositionState.PENDING)
            .order_by("id")
            .last()
        )
        if pending is None:
            return
        pending.check_event, pending.decided_at = event, now
        if event.data.get("outcome") != "pass":
            pending.state = DispositionState.FAILED
            pending.save(update_fields=["state", "check_event", "decided_at"])
            return
        pending.state = DispositionState.CONFIRMED
        pending.save(update_fields=["state", "check_event", "decided_at"])
        _apply(LedgerEntry.objects.select_for_update().get(pk=pending.entry_id), pending, now=now)


def _apply(entry: LedgerEntry, disposition: Disposition, *, now: dt.datetime) -> None:
    """A confirmed disposition changes the entry: m² demolished add up; the last m² or any other
    disposition closes it."""
    if entry.status not in OPEN_ENTRY_STATUSES:
        return  # closed meanwhile through another case: the disposition is kept, the entry stands
    if disposition.kind == DispositionKind.DEMOLISH:
        entry.demolished_m2 = min(entry.area_m2, entry.demolished_m2 + disposition.demolished_m2)
        entry.status = (
            EntryStatus.DEMOLISHED
            if entry.demolished_m2 >= entry.area_m2
            else EntryStatus.PARTLY_DEMOLISHED
        )
    else:
        entry.status = FINAL_STATUS[disposition.kind]
    if entry.status not in OPEN_ENTRY_STATUSES:
        entry.closed_at = now
    entry.save(update_fields=["demolished_m2", "status", "closed_at"])


def _relocate(case, event) -> None:
    entry = LedgerEntry.objects.filter(origin_case=case).first()
    if entry is None:
        return
    grid = case.grid
    old_street = entry.grid_code[:9]
    entry.lon, entry.lat, entry.address = case.lon, case.lat, case.address
    entry.grid, entry.grid_code = grid, grid.code if grid else ""
    entry.save(update_fields=["lon", "lat", "address", "grid", "grid_code"])
    if entry.kind != EntryKind.NEW or grid is None or grid.code[:9] == old_street:
        return
    from alerts.models import Notification
    from alerts.outbox import new_construction_recipients, notify

    told = set(
        Notification.objects.filter(case=case, kind="new_illegal_construction").values_list(
            "user_id", flat=True
        )
    )
    users = [u for u in new_construction_recipients(case) if u.pk not in told]
    if users:
        notify(
            users,
            "new_illegal_construction",
            case=case,
            event=event,
            at=event.at,
            extra={
                "entry": {
                    "id": entry.pk,
                    "number": entry.number,
                    "area_m2": float(entry.area_m2),
                    "street": grid.code[:9],
                }
            },
        )
