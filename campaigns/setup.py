"""The campaigns' data in the dictionary (docs/domain.md §2, §12), idempotent.

`seed_campaign_classes()` marks the small classes docs/domain.md §2 names as construction (违法建设) or
dumping (违法倾倒) classes, gives the construction classes' attribute schemas the ledger's fields
(structure, use, ledger_number; area at most 100,000 m²) where missing, and makes the dumping classes'
time limits count calendar time (N 工作日 → N calendar days, N 工作时 → N calendar hours). It only
acts for a campaign none of whose classes is marked yet (the first seeding): afterwards the marks,
schemas and limits are the administrator's, and a later seeding changes nothing. Called by the data
migration (installations seeded before) and by `cases.categories.seed_categories()` (new ones).
Takes an app registry so the migration can pass its historical one.
"""

from __future__ import annotations

CJT, GBT = "CJ/T 214-2007", "GB/T 47678.5-2026"
CONSTRUCTION_CLASSES = ((CJT, "0101"), (GBT, "06001"), (GBT, "08016"))
DUMPING_CLASSES = (
    (CJT, "0103"),
    (CJT, "0112"),
    (GBT, "06011"),
    (GBT, "06014"),
    (GBT, "08005"),
    (GBT, "06032"),
)

LEDGER_PROPERTIES = {
    "structure": {"type": "string", "enum": ["steel_shed", "brick", "other"], "title": "结构"},
    "use": {"type": "string", "maxLength": 100, "title": "用途"},
    "ledger_number": {
        "type": "string",
        "maxLength": 40,
        "title": "存量台账编号（处置存量违建时填写）",
    },
}
CALENDAR_OF = {"work_days": "calendar_days", "work_hours": "calendar_hours"}


def seed_campaign_classes(apps=None) -> dict[str, int]:
    """Mark the named classes; returns how many classes were marked and standards changed."""
    if apps is None:
        from django.apps import apps
    SmallClass = apps.get_model("cases", "SmallClass")
    CaseStandard = apps.get_model("cases", "CaseStandard")
    CampaignClass = apps.get_model("campaigns", "CampaignClass")
    done = {"marked": 0, "schemas": 0, "calendar": 0}
    for campaign, named in (("construction", CONSTRUCTION_CLASSES), ("dumping", DUMPING_CLASSES)):
        if CampaignClass.objects.filter(campaign=campaign).exists():
            continue  # seeded before: the marks and limits are the administrator's now
        for standard, code in named:
            small = SmallClass.objects.filter(
                big_class__standard__code=standard, big_class__kind="event", code=code
            ).first()
            if small is None:
                continue
            CampaignClass.objects.get_or_create(small_class=small, defaults={"campaign": campaign})
            done["marked"] += 1
            case_standard = CaseStandard.objects.filter(small_class=small).first()
            if case_standard is None:
                continue
            if campaign == "construction" and _add_ledger_fields(case_standard):
                done["schemas"] += 1
            if campaign == "dumping" and case_standard.time_limit_unit in CALENDAR_OF:
                case_standard.time_limit_unit = CALENDAR_OF[case_standard.time_limit_unit]
                case_standard.save(update_fields=["time_limit_unit"])
                done["calendar"] += 1
    return done


def _add_ledger_fields(case_standard) -> bool:
    schema = dict(case_standard.attribute_schema or {})
    properties = dict(schema.get("properties") or {})
    if "area_m2" not in properties:
        return False  # not the seeded construction schema: the administrator's
    changed = False
    for name, spec in LEDGER_PROPERTIES.items():
        if name not in properties:
            properties[name] = spec
            changed = True
    area = dict(properties.get("area_m2") or {})
    if area and "maximum" not in area:
        area["maximum"] = 100000
        properties["area_m2"] = area
        changed = True
    if changed:
        schema.update(type="object", properties=properties)
        case_standard.attribute_schema = schema
        case_standard.save(update_fields=["attribute_schema"])
    return changed


def unseed_campaign_classes(apps) -> None:
    """Reverse of the migration: calendar units back to working units for the dumping classes."""
    CaseStandard = apps.get_model("cases", "CaseStandard")
    back = {v: k for k, v in CALENDAR_OF.items()}
    for standard, code in DUMPING_CLASSES:
        for row in CaseStandard.objects.filter(
            small_class__big_class__standard__code=standard,
            small_class__code=code,
            time_limit_unit__in=list(back),
        ):
            row.time_limit_unit = back[row.time_limit_unit]
            row.save(update_fields=["time_limit_unit"])
