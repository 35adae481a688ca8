"""The classification dictionary (docs/domain.md §2): seeding, the one-active-standard rule, case
standards and structured-attribute validation."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse

from cases.categories import CJT, CONSTRUCTION_SCHEMA, DUMPING_SCHEMA, GBT, seed_categories
from cases.models import (
    LOCAL_STANDARD,
    CaseStandard,
    ClassificationStandard,
    Kind,
    LimitUnit,
    SmallClass,
    Urgency,
    check_attribute_schema,
    validate_attributes,
)
from people.models import Organisation, User
from tests.factories import make_big_class, make_organisation, make_small_class, make_standard

CODES = settings.BASE_DIR / "fixtures" / "codes"
CONSTRUCTION = {(CJT, "0101"), (GBT, "06001"), (GBT, "08016")}
DUMPING = {
    (CJT, "0103"),
    (CJT, "0112"),
    (GBT, "06011"),
    (GBT, "06014"),
    (GBT, "08005"),
    (GBT, "06032"),
}
BAD_SCHEMA = {"type": "object", "properties": {"area_m2": {"type": "strin"}}}


def _classes(standard: str):
    return SmallClass.objects.filter(big_class__standard__code=standard)


def _small(standard: str, code: str) -> SmallClass:
    return SmallClass.objects.select_related("case_standard").get(
        big_class__standard__code=standard, big_class__kind=Kind.EVENT, code=code
    )


@pytest.fixture
def admin_client_(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw-for-tests-1"))
    return client


@pytest.mark.django_db
def test_seeding_loads_both_standards_with_the_expected_counts():
    report = seed_categories()

    gbt = _classes(GBT)
    assert gbt.count() == 403
    assert gbt.filter(big_class__kind=Kind.COMPONENT).count() == 153
    assert gbt.filter(big_class__kind=Kind.EVENT).count() == 250
    assert (
        ClassificationStandard.objects.get(code=GBT).big_classes.count() == 15
    )  # 5 component + 10 matter
    cjt = ClassificationStandard.objects.get(code=CJT)
    assert _classes(CJT).count() == 54
    assert not _classes(CJT).exclude(big_class__kind=Kind.EVENT).exists()
    assert dict(cjt.big_classes.values_list("code", "name")) == {
        "01": "市容环境",
        "02": "宣传广告",
        "03": "施工管理",
        "04": "突发事件",
        "05": "街面秩序",
    }
    assert not _classes(LOCAL_STANDARD).exists()
    assert report.counts[f"{GBT} small classes"]["created"] == 403
    assert report.warnings == []


@pytest.mark.django_db
def test_seeded_gbt_classes_are_exactly_the_rows_of_the_table():
    seed_categories()
    with (CODES / "gbt47678.5-2026_parts_and_matters.csv").open(newline="", encoding="utf-8") as f:
        kinds = {"管理部件": Kind.COMPONENT, "管理事项": Kind.EVENT}
        table = {
            (kinds[r["matter_kind"]], r["standard_code"], r["standard_name"])
            for r in csv.DictReader(f)
        }
    seeded = set(_classes(GBT).values_list("big_class__kind", "code", "name"))
    assert seeded == table


@pytest.mark.django_db
def test_gbt_is_the_active_standard_after_seeding_and_cjt_is_not():
    seed_categories()
    assert list(ClassificationStandard.objects.active().values_list("code", flat=True)) == [GBT]
    assert ClassificationStandard.objects.filter(code=LOCAL_STANDARD).exists()


@pytest.mark.django_db
def test_every_seeded_class_gets_a_case_standard_of_one_working_day():
    seed_categories()
    standards = CaseStandard.objects.all()
    assert standards.count() == 403 + 54
    # ... except the dumping classes, which count calendar time (docs/domain.md §12, campaigns/setup.py)
    dumping = Q(small_class__campaign_class__campaign="dumping")
    assert set(
        standards.exclude(dumping).values_list(
            "time_limit", "time_limit_unit", "urgency", "duplicate_radius_m"
        )
    ) == {(1, LimitUnit.WORK_DAYS, Urgency.NORMAL, 30)}
    assert set(standards.filter(dumping).values_list("time_limit", "time_limit_unit")) == {
        (1, LimitUnit.CALENDAR_DAYS)
    }
    assert standards.filter(dumping).count() == len(DUMPING)


@pytest.mark.django_db
def test_named_violation_types_get_their_attribute_schemas_and_no_other_class_does():
    seed_categories()
    for standard, code in CONSTRUCTION:
        assert _small(standard, code).case_standard.attribute_schema == CONSTRUCTION_SCHEMA
    for standard, code in DUMPING:
        assert _small(standard, code).case_standard.attribute_schema == DUMPING_SCHEMA
    with_schema = CaseStandard.objects.exclude(attribute_schema={})
    assert with_schema.count() == len(CONSTRUCTION | DUMPING)
    assert "违法建设" in _small(GBT, "06001").keywords


@pytest.mark.django_db
def test_second_seeding_creates_nothing_and_keeps_an_administrators_edits():
    seed_categories()
    edited = _small(GBT, "06001")
    CaseStandard.objects.filter(pk=edited.case_standard.pk).update(
        time_limit=3, time_limit_unit=LimitUnit.WORK_HOURS, attribute_schema={}
    )
    SmallClass.objects.filter(pk=edited.pk).update(active=False, keywords="违建")

    report = seed_categories()

    assert report.total("created") == 0
    assert report.total("updated") == 0
    edited = _small(GBT, "06001")
    assert (edited.case_standard.time_limit, edited.case_standard.time_limit_unit) == (
        3,
        LimitUnit.WORK_HOURS,
    )
    assert edited.case_standard.attribute_schema == {}
    assert (edited.active, edited.keywords) == (False, "违建")


@pytest.mark.django_db
def test_second_seeding_restores_a_class_name_from_the_table_and_says_so():
    seed_categories()
    SmallClass.objects.filter(big_class__standard__code=CJT, code="0102").update(name="垃圾")
    report = seed_categories()
    assert report.counts[f"{CJT} small classes"]["updated"] == 1
    assert _small(CJT, "0102").name == "暴露垃圾"


@pytest.mark.django_db
def test_seeding_again_keeps_the_standard_an_administrator_made_active():
    seed_categories()
    ClassificationStandard.objects.get(code=CJT).make_active()
    seed_categories()
    assert list(ClassificationStandard.objects.active().values_list("code", flat=True)) == [CJT]


@pytest.mark.django_db
def test_seed_command_prints_what_it_created_then_nothing():
    out = StringIO()
    call_command("seed_categories", stdout=out)
    assert f"{GBT} small classes: 403 created" in out.getvalue()
    out = StringIO()
    call_command("seed_categories", stdout=out)
    assert "Categories seeded: 0 created, 0 updated." in out.getvalue()


@pytest.mark.django_db
def test_database_refuses_a_second_active_non_local_standard():
    make_standard(active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_standard(active=True)


@pytest.mark.django_db
def test_local_standard_may_be_active_beside_the_active_standard():
    make_standard(active=True)
    make_standard(code=LOCAL_STANDARD, active=True)
    assert ClassificationStandard.objects.filter(active=True).count() == 2


@pytest.mark.django_db
def test_validation_names_the_standard_that_is_already_active():
    make_standard(code="GB/T 1", active=True)
    second = ClassificationStandard(code="GB/T 2", name="二", active=True)
    with pytest.raises(ValidationError) as exc:
        second.full_clean()
    assert list(exc.value.message_dict) == ["active"]
    assert "GB/T 1 is the active standard" in exc.value.message_dict["active"][0]


@pytest.mark.django_db
def test_make_active_switches_the_active_standard_and_refuses_local():
    old, new = make_standard(active=True), make_standard()
    new.make_active()
    assert list(ClassificationStandard.objects.active()) == [new]
    old.refresh_from_db()
    assert not old.active
    with pytest.raises(ValidationError):
        make_standard(code=LOCAL_STANDARD).make_active()


@pytest.mark.django_db
def test_admin_refuses_a_second_active_standard_with_a_clear_message(admin_client_):
    make_standard(code="GB/T 1", active=True)
    response = admin_client_.post(
        reverse("admin:cases_classificationstandard_add"),
        {"code": "GB/T 2", "name": "二", "active": "on"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "GB/T 1 is the active standard" in errors["active"][0]
    assert not ClassificationStandard.objects.filter(code="GB/T 2").exists()


@pytest.mark.django_db
def test_admin_action_makes_the_selected_standard_active(admin_client_):
    make_standard(active=True)
    new = make_standard()
    response = admin_client_.post(
        reverse("admin:cases_classificationstandard_changelist"),
        {"action": "make_active", "_selected_action": [new.pk]},
        follow=True,
    )
    assert f"{new.code} is now the active standard" in response.content.decode()
    assert list(ClassificationStandard.objects.active()) == [new]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"area_m2": 12.5, "permanence": "temporary"},
        {"area_m2": 3},
        {"area_m2": 40, "permanence": "permanent"},
    ],
)
def test_attribute_validation_accepts_good_construction_data(data):
    validate_attributes(make_small_class(attribute_schema=CONSTRUCTION_SCHEMA), data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"area_m2": 0}, "area_m2"),
        ({"area_m2": -2}, "area_m2"),
        ({"area_m2": "big"}, "area_m2"),
        ({"area_m2": True}, "area_m2"),
        ({}, "area_m2"),
        ({"permanence": "temporary"}, "area_m2"),
        ({"area_m2": 5, "permanence": "forever"}, "permanence"),
        ({"area_m2": 5, "colour": "red"}, "colour"),
    ],
)
def test_attribute_validation_rejects_bad_data_naming_the_field(data, field):
    with pytest.raises(ValidationError) as exc:
        validate_attributes(make_small_class(attribute_schema=CONSTRUCTION_SCHEMA), data)
    assert list(exc.value.message_dict) == [field]
    assert all(message.startswith(f"{field}: ") for message in exc.value.message_dict[field])


@pytest.mark.django_db
def test_dumping_volume_is_optional_but_must_be_positive():
    dumping = make_small_class(attribute_schema=DUMPING_SCHEMA)
    validate_attributes(dumping, {})
    validate_attributes(dumping, {"volume_m3": 0.5})
    with pytest.raises(ValidationError) as exc:
        validate_attributes(dumping, {"volume_m3": 0})
    assert "volume_m3" in exc.value.message_dict


@pytest.mark.django_db
def test_attributes_must_be_an_object_and_a_class_without_schema_accepts_any_object():
    plain = make_small_class(case_standard=False)
    validate_attributes(plain, {"anything": 1})
    with pytest.raises(ValidationError) as exc:
        validate_attributes(plain, ["area_m2", 3])
    assert NON_FIELD_ERRORS in exc.value.message_dict


@pytest.mark.django_db
def test_seeded_construction_class_validates_attributes():
    seed_categories()
    validate_attributes(_small(GBT, "08016"), {"area_m2": 120, "permanence": "permanent"})
    with pytest.raises(ValidationError, match="area_m2"):
        validate_attributes(_small(CJT, "0101"), {"permanence": "permanent"})


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        (BAD_SCHEMA, "properties/area_m2/type"),
        ({"type": "object", "required": "area_m2"}, "required"),
        ({"type": "string"}, '"type": "object"'),
        (["area_m2"], "must be a JSON object"),
    ],
)
def test_a_bad_json_schema_is_refused_with_a_specific_message(schema, words):
    with pytest.raises(ValidationError) as exc:
        check_attribute_schema(schema)
    assert words in exc.value.messages[0]


@pytest.mark.django_db
def test_a_bad_json_schema_never_reaches_the_database():
    small = make_small_class(case_standard=False)
    standard = CaseStandard(small_class=small, attribute_schema=BAD_SCHEMA)
    with pytest.raises(ValidationError) as exc:
        standard.full_clean()
    assert "attribute_schema" in exc.value.message_dict
    with pytest.raises(ValidationError):
        standard.save()
    assert not CaseStandard.objects.filter(small_class=small).exists()


@pytest.mark.django_db
def test_admin_refuses_a_bad_schema_on_the_small_class_page(admin_client_):
    small = make_small_class(code="01001")
    prefix = "case_standard"
    data = {
        "big_class": small.big_class.pk,
        "code": small.code,
        "name": small.name,
        "keywords": "",
        "active": "on",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
        f"{prefix}-0-id": small.case_standard.pk,
        f"{prefix}-0-small_class": small.pk,
        f"{prefix}-0-time_limit": "1",
        f"{prefix}-0-time_limit_unit": "work_days",
        f"{prefix}-0-urgency": "normal",
        f"{prefix}-0-registration_condition": "",
        f"{prefix}-0-closure_condition": "",
        f"{prefix}-0-default_handling_unit": "",
        f"{prefix}-0-duplicate_radius_m": "30",
        f"{prefix}-0-attribute_schema": json.dumps(BAD_SCHEMA),
    }
    response = admin_client_.post(reverse("admin:cases_smallclass_change", args=[small.pk]), data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "properties/area_m2/type" in errors["attribute_schema"][0]
    small.case_standard.refresh_from_db()
    assert small.case_standard.attribute_schema == {}


@pytest.mark.django_db
@pytest.mark.parametrize("unit", ["minutes", "calendar_hours", "calendar_days"])
def test_an_urgent_standard_may_count_calendar_time(unit):
    small = make_small_class(urgency=Urgency.URGENT, time_limit=2, time_limit_unit=unit)
    small.case_standard.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("unit", ["work_hours", "work_days"])
def test_an_urgent_standard_may_not_count_working_time(unit):
    standard = CaseStandard(
        small_class=make_small_class(case_standard=False),
        urgency=Urgency.URGENT,
        time_limit=2,
        time_limit_unit=unit,
    )
    with pytest.raises(ValidationError) as exc:
        standard.full_clean()
    assert list(exc.value.message_dict) == ["time_limit_unit"]
    with pytest.raises(IntegrityError), transaction.atomic():
        standard.save()


@pytest.mark.django_db
def test_database_refuses_unknown_units_and_zero_limits():
    small = make_small_class()
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseStandard.objects.filter(small_class=small).update(time_limit_unit="fortnights")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseStandard.objects.filter(small_class=small).update(time_limit=0)


@pytest.mark.django_db
def test_the_default_handling_unit_must_be_a_handling_unit():
    standard = make_small_class().case_standard
    standard.default_handling_unit = make_organisation(kind=Organisation.Kind.CENTRE)
    with pytest.raises(ValidationError) as exc:
        standard.full_clean()
    assert list(exc.value.message_dict) == ["default_handling_unit"]
    standard.default_handling_unit = make_organisation(kind=Organisation.Kind.HANDLING_UNIT)
    standard.full_clean()


@pytest.mark.django_db
def test_available_classes_are_those_of_the_active_standard_and_the_local_ones():
    current = make_small_class(big_class=make_big_class(standard=make_standard(active=True)))
    make_small_class(big_class=current.big_class, active=False)
    make_small_class(big_class=make_big_class(standard=make_standard()))
    local = make_small_class(
        big_class=make_big_class(standard=make_standard(code=LOCAL_STANDARD), code="21")
    )
    assert set(SmallClass.objects.available()) == {current, local}


@pytest.mark.django_db
def test_a_small_class_code_starts_with_its_big_class_code_and_is_unique_per_standard_and_kind():
    big = make_big_class(code="06")
    with pytest.raises(ValidationError) as exc:
        SmallClass(big_class=big, code="07001", name="错").full_clean()
    assert "code" in exc.value.message_dict
    make_small_class(big_class=big, code="06001")
    with pytest.raises(ValidationError):
        SmallClass(big_class=big, code="06001", name="重复").full_clean()
    component_big = make_big_class(standard=big.standard, kind=Kind.COMPONENT, code="06")
    SmallClass(big_class=component_big, code="06001", name="部件").full_clean()


@pytest.mark.django_db
def test_admin_lists_searches_and_filters_small_classes(admin_client_):
    seed_categories()
    url = reverse("admin:cases_smallclass_changelist")
    response = admin_client_.get(url, {"q": "违法建设"})
    assert response.status_code == 200
    assert {s.code for s in response.context["cl"].result_list} == {"0101", "06001", "08016"}
    gbt = ClassificationStandard.objects.get(code=GBT)
    response = admin_client_.get(
        url, {"big_class__standard__id__exact": gbt.pk, "big_class__kind__exact": "component"}
    )
    assert response.context["cl"].result_count == 153
    small = _small(GBT, "06001")
    assert (
        admin_client_.get(reverse("admin:cases_smallclass_change", args=[small.pk])).status_code
        == 200
    )
