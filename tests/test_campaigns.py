"""docs/domain.md §12: the illegal-construction ledger (entries made by reports, dispositions confirmed by the
check, figures, zero growth, alerts) and the dumping figures, through the real workflow and API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.models import Notification
from campaigns import figures
from campaigns.models import (
    CampaignClass,
    CampaignSettings,
    DemolitionTarget,
    Disposition,
    EntryKind,
    EntryStatus,
    LedgerEntry,
)
from cases import workflow
from cases.categories import CONSTRUCTION_SCHEMA, DUMPING_SCHEMA
from cases.models import SmallClass
from grids.models import Area
from people.models import Organisation, Role, User
from tests.cast import IN_A, Cast, act, make_cast, photo_record
from tests.factories import make_organisation, make_small_class, make_user

pytestmark = pytest.mark.django_db
IN_B = (120.7605, 31.3305)
TZ = timezone.get_default_timezone()


@dataclass
class World:
    cast: Cast
    construction: SmallClass
    dumping: SmallClass
    street_a: Area
    street_b: Area
    office_a: User  # a member of street A's office
    office_b: User


def make_world() -> World:
    cast = make_cast()
    big = cast.category.big_class
    construction = make_small_class(
        big_class=big, name="私搭乱建", attribute_schema=CONSTRUCTION_SCHEMA
    )
    CampaignClass.objects.create(small_class=construction, campaign="construction")
    dumping = make_small_class(
        big_class=big,
        name="积存垃圾渣土",
        attribute_schema=DUMPING_SCHEMA,
        time_limit_unit="calendar_days",
    )
    CampaignClass.objects.create(small_class=dumping, campaign="dumping")
    street_a = Area.objects.get(code=cast.grid.code[:9])
    street_b = Area.objects.get(code=cast.other_grid.code[:9])
    offices = [
        make_organisation(kind=Organisation.Kind.STREET_OFFICE, code=f"street-{s.code}", area=s)
        for s in (street_a, street_b)
    ]
    office_a, office_b = (
        make_user(role=Role.VIEWER, username=f"office_{s.code}", organisation=o)
        for s, o in zip((street_a, street_b), offices, strict=True)
    )
    return World(cast, construction, dumping, street_a, street_b, office_a, office_b)


def report_construction(
    world: World, *, area=100, at=IN_A, by=None, now=None, source="patrol", **attributes
):
    return workflow.report_case(
        workflow.Report(
            category=world.construction,
            lon=at[0],
            lat=at[1],
            source=source,
            attributes={"area_m2": area, "structure": "brick", **attributes},
        ),
        reporter=by or world.cast.officer,
        now=now,
    )


def to_handling(world: World, case):
    cast = world.cast
    for action, actor, inputs in (
        ("accept", cast.acceptor, {}),
        ("register", cast.shift_leader, {}),
        ("dispatch", cast.dispatcher, {"unit": cast.unit}),
    ):
        case = act(case, action, actor, **inputs)
    return case


def feedback(world: World, case, disposition: str, demolished_m2=None):
    return act(
        case,
        "feedback",
        world.cast.unit_member,
        photos=[photo_record()],
        disposition=disposition,
        demolished_m2=None if demolished_m2 is None else Decimal(str(demolished_m2)),
    )


def check(world: World, case, outcome: str):
    return act(
        case,
        "check",
        world.cast.officer,
        outcome=outcome,
        photos=[photo_record()] if outcome == "pass" else [],
    )


def this_year() -> figures.Period:
    today = timezone.localdate()
    return figures.Period(dt.date(today.year, 1, 1), today + dt.timedelta(days=1))


def rows_by_code(level="street", period=None, scope=""):
    return {
        r["code"]: r
        for r in figures.construction_rows(level=level, period=period or this_year(), scope=scope)
    }


# --- a new report --------------------------------------------------------------------------------


def test_a_new_report_makes_its_street_grow_and_alerts_the_street_office_and_the_centre_once():
    world = make_world()
    before = rows_by_code()
    assert before[world.street_a.code]["zero_growth"] and before[world.street_b.code]["zero_growth"]
    case = report_construction(world, area=85.5)
    entry = LedgerEntry.objects.get(origin_case=case)
    assert (entry.kind, entry.status, entry.area_m2, entry.structure) == (
        "new",
        "open",
        Decimal("85.50"),
        "brick",
    )
    assert entry.grid_code == world.cast.grid.code and entry.number == case.number
    rows = rows_by_code()
    a, b = rows[world.street_a.code], rows[world.street_b.code]
    assert (a["zero_growth"], a["new_count"], a["new_area_m2"], a["open_count"]) == (
        False,
        1,
        85.5,
        1,
    )
    assert (b["zero_growth"], b["new_count"]) == (True, 0)
    city = figures.construction_rows(level="city", period=this_year())[0]
    assert (city["zero_growth"], city["new_count"]) == (False, 1)
    # the period before the report: zero growth still
    today = timezone.localdate()
    earlier = figures.Period(today - dt.timedelta(days=30), today)
    assert rows_by_code(period=earlier)[world.street_a.code]["zero_growth"]
    alerts = Notification.objects.filter(kind="new_illegal_construction")
    cast = world.cast
    assert sorted(alerts.values_list("user__username", flat=True)) == sorted(
        [world.office_a.username, cast.shift_leader.username, cast.viewer.username]
    )
    assert all(n.case_id == case.pk and n.payload["entry"]["number"] == case.number for n in alerts)
    # a second action on the case raises no second campaign alert
    act(case, "accept", cast.acceptor)
    assert Notification.objects.filter(kind="new_illegal_construction").count() == 3


def test_a_report_found_before_the_baseline_is_existing_and_alerts_nobody():
    world = make_world()
    settings = CampaignSettings.current()
    settings.baseline_date = timezone.localdate() + dt.timedelta(days=1)
    settings.save()
    case = report_construction(world)
    assert LedgerEntry.objects.get(origin_case=case).kind == EntryKind.EXISTING
    assert not Notification.objects.filter(kind="new_illegal_construction").exists()
    assert rows_by_code()[world.street_a.code]["zero_growth"]


def test_a_report_without_area_is_refused_and_writes_nothing():
    world = make_world()
    with pytest.raises(ValidationError) as error:
        workflow.report_case(
            workflow.Report(
                category=world.construction,
                lon=IN_A[0],
                lat=IN_A[1],
                attributes={"structure": "brick"},
            ),
            reporter=world.cast.officer,
        )
    assert "area_m2" in error.value.message_dict
    assert not LedgerEntry.objects.exists()


def test_other_classes_make_no_entry():
    world = make_world()
    workflow.report_case(
        workflow.Report(category=world.cast.category, lon=IN_A[0], lat=IN_A[1]),
        reporter=world.cast.officer,
    )
    workflow.report_case(
        workflow.Report(
            category=world.dumping, lon=IN_A[0], lat=IN_A[1], attributes={"volume_m3": 3}
        ),
        reporter=world.cast.officer,
    )
    assert not LedgerEntry.objects.exists()


def test_a_rejected_report_does_not_count():
    world = make_world()
    case = report_construction(world)
    act(case, "reject", world.cast.acceptor, reason="不属实")
    assert rows_by_code()[world.street_a.code]["zero_growth"]


# --- dispositions ---------------------------------------------------------------------------------


def test_a_partial_demolition_then_a_full_one_sum_and_a_failed_check_does_not_count():
    world = make_world()
    case = to_handling(world, report_construction(world, area=100))
    entry = LedgerEntry.objects.get(origin_case=case)
    case = check(world, feedback(world, case, "demolish", 40), "pass")  # 40 m² confirmed
    entry.refresh_from_db()
    assert (entry.status, entry.demolished_m2) == (EntryStatus.PARTLY_DEMOLISHED, Decimal("40.00"))
    row = rows_by_code()[world.street_a.code]
    assert (row["demolished_count"], row["demolished_area_m2"], row["open_count"]) == (1, 40.0, 1)
    # The case was closing; a second case for the rest of the entry names it.
    act(case, "close", world.cast.shift_leader)
    second = to_handling(world, report_construction(world, area=60, ledger_number=entry.number))
    assert LedgerEntry.objects.count() == 1 and second.ledger_link.entry_id == entry.pk
    too_much = pytest.raises(ValidationError)
    with too_much as error:
        feedback(world, second, "demolish", 61)
    assert "demolished_m2" in error.value.message_dict
    second = check(world, feedback(world, second, "demolish", 60), "fail")  # rework: not counted
    assert rows_by_code()[world.street_a.code]["demolished_area_m2"] == 40.0
    check(world, feedback(world, second, "demolish", 60), "pass")
    entry.refresh_from_db()
    assert (entry.status, entry.demolished_m2) == (EntryStatus.DEMOLISHED, Decimal("100.00"))
    assert entry.closed_at is not None
    row = rows_by_code()[world.street_a.code]
    assert (
        row["demolished_count"],
        row["demolished_area_m2"],
        row["demolished_new_area_m2"],
        row["demolished_existing_area_m2"],
        row["open_count"],
    ) == (1, 100.0, 100.0, 0.0, 0)
    assert list(Disposition.objects.order_by("id").values_list("state", flat=True)) == [
        "confirmed",
        "failed",
        "confirmed",
    ]


def test_feedback_on_a_ledger_case_needs_a_disposition_and_other_cases_take_none():
    world = make_world()
    case = to_handling(world, report_construction(world))
    with pytest.raises(ValidationError) as error:
        act(case, "feedback", world.cast.unit_member, photos=[photo_record()])
    assert "disposition" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        feedback(world, case, "demolish")
    assert "demolished_m2" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        feedback(world, case, "rectify", 5)
    assert "demolished_m2" in error.value.message_dict
    case = feedback(world, case, "rectify")
    assert case.events.get(action="feedback").data["disposition"] == "rectify"
    check(world, case, "pass")
    assert LedgerEntry.objects.get().status == EntryStatus.RECTIFIED
    other = to_handling(
        world,
        workflow.report_case(
            workflow.Report(category=world.cast.category, lon=IN_A[0], lat=IN_A[1]),
            reporter=world.cast.officer,
        ),
    )
    with pytest.raises(ValidationError) as error:
        feedback(world, other, "rectify")
    assert "disposition" in error.value.message_dict


def test_an_imported_existing_entry_demolished_counts_as_old_not_new(tmp_path):
    from campaigns.importer import import_ledger

    world = make_world()
    path = tmp_path / "ledger.xlsx"
    write_rows(path, [["WJ-1", 250, "钢结构棚", "仓储", dt.date(2021, 3, 4), *IN_A, "老路1号"]])
    assert import_ledger(path).written == 1
    entry = LedgerEntry.objects.get(number="WJ-1")
    assert (entry.kind, entry.source, entry.grid_code) == (
        EntryKind.EXISTING,
        "import",
        world.cast.grid.code,
    )
    case = report_construction(world, area=250, ledger_number="WJ-1")
    assert not Notification.objects.filter(kind="new_illegal_construction").exists()
    check(world, feedback(world, to_handling(world, case), "demolish", 250), "pass")
    row = rows_by_code()[world.street_a.code]
    assert (
        row["new_count"],
        row["zero_growth"],
        row["existing_count"],
        row["existing_area_m2"],
    ) == (0, True, 1, 250.0)
    assert (
        row["demolished_existing_count"],
        row["demolished_existing_area_m2"],
        row["demolished_new_count"],
        row["demolished_new_area_m2"],
    ) == (1, 250.0, 0, 0.0)
    with pytest.raises(ValidationError) as error:  # disposed of: no further case may name it
        report_construction(world, ledger_number="WJ-1")
    assert "attributes" in error.value.message_dict


def test_targets_progress_and_the_year_elapsed():
    world = make_world()
    today = timezone.localdate()
    DemolitionTarget.objects.create(
        street=world.street_a, year=today.year, target_m2=Decimal("400")
    )
    DemolitionTarget.objects.create(
        street=world.street_b, year=today.year, target_m2=Decimal("100")
    )
    case = to_handling(world, report_construction(world, area=100))
    check(world, feedback(world, case, "demolish", 100), "pass")
    rows = rows_by_code()
    assert (rows[world.street_a.code]["target_m2"], rows[world.street_a.code]["progress"]) == (
        400.0,
        0.25,
    )
    assert (rows[world.street_b.code]["target_m2"], rows[world.street_b.code]["progress"]) == (
        100.0,
        0.0,
    )
    district = {
        r["code"]: r for r in figures.construction_rows(level="district", period=this_year())
    }
    assert district[world.street_a.code[:6]]["target_m2"] == 400.0
    year = figures.Period(dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    assert (
        figures.construction_rows(level="city", period=year, now=timezone.now())[0]["year_elapsed"]
        == 1.0
    )
    half = figures.construction_rows(
        level="city", period=year, now=dt.datetime(2025, 7, 2, 12, tzinfo=TZ)
    )[0]["year_elapsed"]
    assert half == pytest.approx(0.5, abs=0.002)


# --- the API ---------------------------------------------------------------------------------------


def test_the_figures_api_rows_drill_down_to_their_entries():
    world = make_world()
    case = report_construction(world, area=12)
    client = world.cast.client(world.cast.viewer)
    answer = client.get("/api/campaigns/construction/", {"level": "street"})
    assert answer.status_code == 200, answer.content
    rows = {r["code"]: r for r in answer.json()["results"]}
    row = rows[world.street_a.code]
    assert set(figures.CONSTRUCTION_KEYS) <= set(row)
    assert (row["new_count"], row["new_area_m2"], row["zero_growth"]) == (1, 12.0, False)
    listed = client.get(row["entries"]["new"]).json()
    assert [e["number"] for e in listed["results"]] == [case.number]
    assert client.get(rows[world.street_b.code]["entries"]["new"]).json()["results"] == []
    for level in ("community", "district", "city"):
        assert client.get("/api/campaigns/construction/", {"level": level}).status_code == 200
    assert client.get("/api/campaigns/construction/", {"level": "grid"}).status_code == 400
    assert (
        client.get(
            "/api/campaigns/construction/", {"start": "2026-05-01", "end": "2026-04-01"}
        ).status_code
        == 400
    )
    entries = client.get(
        "/api/campaigns/construction/entries/", {"kind": "new", "status": "open"}
    ).json()
    assert entries["count"] == 1
    assert client.get("/api/campaigns/construction/entries/", {"status": "gone"}).status_code == 400


def test_who_sees_which_entries_and_figures():
    world = make_world()
    cast = world.cast
    mine = to_handling(world, report_construction(world))  # street A, held by unit A
    theirs = report_construction(world, at=IN_B, by=cast.officer_elsewhere)  # street B
    url = "/api/campaigns/construction/entries/"

    def seen(user):
        answer = cast.client(user).get(url)
        return answer.status_code, {
            e["number"] for e in answer.json()["results"]
        } if answer.status_code == 200 else None

    both = {mine.number, theirs.number}
    assert seen(cast.viewer) == (200, both)
    assert seen(world.office_a) == (200, {mine.number})
    assert seen(world.office_b) == (200, {theirs.number})
    assert seen(cast.unit_member) == (200, {mine.number})
    assert seen(cast.other_unit_member) == (200, set())
    assert seen(cast.officer) == (200, {mine.number})
    assert seen(cast.officer_elsewhere) == (200, {theirs.number})
    assert seen(cast.public)[0] == 403
    figures_url = "/api/campaigns/construction/"
    rows = cast.client(world.office_a).get(figures_url, {"level": "street"}).json()["results"]
    assert [r["code"] for r in rows] == [world.street_a.code]
    assert (
        cast.client(world.office_a).get(figures_url, {"area": world.street_b.code}).status_code
        == 403
    )
    for user in (cast.unit_member, cast.officer, cast.public):
        assert cast.client(user).get(figures_url).status_code == 403
        assert cast.client(user).get("/api/campaigns/dumping/").status_code == 403


def test_the_transition_api_takes_the_disposition():
    world = make_world()
    case = to_handling(world, report_construction(world, area=30))
    client = world.cast.client(world.cast.unit_member)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.cast import jpeg_bytes

    def post(**fields):
        photo = SimpleUploadedFile("after.jpg", jpeg_bytes(), content_type="image/jpeg")
        return client.post(
            f"/api/cases/{case.pk}/transition",
            {"action": "feedback", "version": case.version, "photos": [photo], **fields},
        )

    answer = post()
    assert answer.status_code == 400 and "disposition" in answer.json(), answer.content
    answer = post(disposition="demolish", demolished_m2="-3")
    assert answer.status_code == 400 and "demolished_m2" in answer.json()
    answer = post(disposition="demolish", demolished_m2="12.5")
    assert answer.status_code == 200, answer.content
    assert answer.json()["events"][-1]["data"]["demolished_m2"] == "12.50"
    assert Disposition.objects.get().state == "pending"


# --- 渣土 -------------------------------------------------------------------------------------------


def test_dumping_night_split_and_median_response_are_exact():
    world = make_world()
    cast = world.cast
    day = timezone.localdate() - dt.timedelta(days=3)

    def at(hour, minute=0, days=0):
        return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=TZ)

    # (reported at, m³, minutes to first dispatch or None, where)
    made = [
        (at(20, 0), 5, 10, IN_A),
        (at(23, 30), 2.5, 30, IN_A),
        (at(2, 0, 1), 1, 50, IN_A),
        (at(5, 59, 1), 4, None, IN_A),
        (at(6, 0, 1), 8, 20, IN_A),
        (at(12, 0), 3, 40, IN_A),
        (at(19, 59), 6, 60, IN_A),
        (at(22, 0), 7, 5, IN_B),
    ]
    for reported, volume, minutes, where in made:
        case = workflow.report_case(
            workflow.Report(
                category=world.dumping, lon=where[0], lat=where[1], attributes={"volume_m3": volume}
            ),
            reporter=cast.officer if where == IN_A else cast.officer_elsewhere,
            now=reported,
        )
        if minutes is None:
            continue
        for action, actor, inputs in (
            ("accept", cast.acceptor, {}),
            ("register", cast.shift_leader, {}),
            ("dispatch", cast.dispatcher, {"unit": cast.unit}),
        ):
            case.refresh_from_db()
            workflow.transition(
                case,
                action,
                actor=actor,
                version=case.version,
                inputs=workflow.Inputs(**inputs),
                now=reported + dt.timedelta(minutes=minutes if action == "dispatch" else 1),
            )
        case.refresh_from_db()
        assert case.deadline - case.dispatched_at == dt.timedelta(days=1)  # calendar time
    period = figures.Period(day, day + dt.timedelta(days=2))
    rows = {r["code"]: r for r in figures.dumping_rows(level="street", period=period)}
    a, b = rows[world.street_a.code], rows[world.street_b.code]
    # night: 20:00, 23:30, 02:00, 05:59 (not 06:00, not 19:59)
    assert (a["count"], a["volume_m3"], a["night_count"], a["night_volume_m3"]) == (
        7,
        29.5,
        4,
        12.5,
    )
    assert a["median_response_minutes"] == 35.0  # 10, 30, 50, 20, 40, 60
    assert a["night_median_response_minutes"] == 30.0  # 10, 30, 50
    assert a["day_median_response_minutes"] == 40.0  # 20, 40, 60
    assert (b["count"], b["night_count"], b["median_response_minutes"]) == (1, 1, 5.0)
    answer = cast.client(cast.viewer).get(
        "/api/campaigns/dumping/", {"level": "city", "start": period.start, "end": period.end}
    )
    assert answer.status_code == 200, answer.content
    city = answer.json()["results"][0]
    assert (city["count"], city["night_count"], city["median_response_minutes"]) == (8, 5, 30.0)


def test_seeding_marks_the_named_classes_and_dumping_counts_calendar_time():
    from cases.categories import seed_categories
    from cases.models import CaseStandard

    seed_categories()
    marked = dict(CampaignClass.objects.values_list("small_class__code", "campaign"))
    assert marked == {
        "0101": "construction",
        "06001": "construction",
        "08016": "construction",
        "0103": "dumping",
        "0112": "dumping",
        "06011": "dumping",
        "06014": "dumping",
        "08005": "dumping",
        "06032": "dumping",
    }
    units = set(
        CaseStandard.objects.filter(small_class__campaign_class__campaign="dumping").values_list(
            "time_limit", "time_limit_unit"
        )
    )
    assert units == {(1, "calendar_days")}
    for standard in CaseStandard.objects.filter(
        small_class__campaign_class__campaign="construction"
    ):
        assert {"structure", "use", "ledger_number"} <= set(standard.attribute_schema["properties"])


# --- helpers --------------------------------------------------------------------------------------


def write_rows(path, rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "面积（m²）", "结构", "用途", "发现日期", "经度", "纬度", "地址"])
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_an_area_the_schema_lets_through_but_the_ledger_cannot_hold_is_a_clear_error():
    world = make_world()
    standard = world.construction.case_standard
    standard.attribute_schema = {
        **CONSTRUCTION_SCHEMA,
        "properties": {
            **CONSTRUCTION_SCHEMA["properties"],
            "area_m2": {"type": "number", "exclusiveMinimum": 0},
        },
    }
    standard.save()
    world.construction.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        report_construction(world, area=2_000_000)
    assert "attributes" in error.value.message_dict and "area_m2" in str(error.value)
    case = report_construction(world, area=0.001)
    assert LedgerEntry.objects.get(origin_case=case).area_m2 == Decimal("0.01")


def test_a_report_outside_every_grid_relocated_into_a_street_tells_that_street_once():
    world = make_world()
    cast = world.cast
    case = report_construction(world, by=cast.acceptor, at=(121.5, 31.0), source="hotline_12345")
    assert case.grid is None
    entry = LedgerEntry.objects.get(origin_case=case)
    assert entry.grid_code == ""

    def told() -> list[str]:
        return sorted(
            Notification.objects.filter(kind="new_illegal_construction").values_list(
                "user__username", flat=True
            )
        )

    assert told() == sorted([cast.shift_leader.username, cast.viewer.username])
    act(case, "relocate", cast.acceptor, location=(*IN_B, "某路"))
    entry.refresh_from_db()
    assert entry.grid_code == cast.other_grid.code
    assert told() == sorted(
        [cast.shift_leader.username, cast.viewer.username, world.office_b.username]
    )
    assert not rows_by_code()[world.street_b.code]["zero_growth"]


def test_every_figure_drills_down_to_exactly_as_many_entries_as_it_counts(tmp_path):
    from campaigns.importer import import_ledger

    world = make_world()
    path = tmp_path / "ledger.xlsx"
    write_rows(
        path,
        [
            ["WJ-1", 250, "钢结构棚", "仓储", dt.date(2021, 3, 4), *IN_A, ""],
            ["WJ-2", 40, "砖混", "", dt.date(2022, 3, 4), *IN_B, ""],
        ],
    )
    assert import_ledger(path).written == 2
    old = report_construction(world, area=250, ledger_number="WJ-1")
    check(world, feedback(world, to_handling(world, old), "demolish", 250), "pass")
    partly = to_handling(world, report_construction(world, area=80))
    check(world, feedback(world, partly, "demolish", 30), "pass")
    report_construction(world, area=15, at=IN_B, by=world.cast.officer_elsewhere)
    client = world.cast.client(world.cast.viewer)
    for level in ("street", "city"):
        for row in client.get("/api/campaigns/construction/", {"level": level}).json()["results"]:
            for figure, key in (
                ("new", "new_count"),
                ("existing", "existing_count"),
                ("demolished", "demolished_count"),
                ("open", "open_count"),
            ):
                listed = client.get(row["entries"][figure]).json()
                assert listed["count"] == row[key], (level, row["code"], figure, listed, row)
    city = client.get("/api/campaigns/construction/", {"level": "city"}).json()["results"][0]
    assert (
        city["new_count"],
        city["existing_count"],
        city["demolished_count"],
        city["open_count"],
    ) == (2, 2, 2, 3)
    assert (
        city["demolished_area_m2"],
        city["demolished_new_area_m2"],
        city["demolished_existing_area_m2"],
    ) == (280.0, 30.0, 250.0)
