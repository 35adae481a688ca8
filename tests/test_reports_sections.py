"""docs/domain.md §7 sections 6–8 of the periodic report (reports/sections.py): the centre's own steps and
backlog, 日巡查 and the special campaigns — built from a scripted week (2026-W45, Mon 2 – Sun 8
November) through the workflow's front doors, the phone's track-point service and the ledger, and
checked number by number in the snapshot, on the page and in the workbook; a week without such
data prints none of them."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.test import TestCase
from django.utils import timezone, translation

from cases import workflow
from grids.models import Grid, GridAssignment
from metrics.reports import TZ
from patrol.tracks import PointIn, record_points
from reports import jobs, periods, render
from reports.models import Kind, ReportFile, State
from tests.cast import IN_A, photo_record
from tests.test_campaigns import IN_B, make_world, report_construction

pytestmark = pytest.mark.django_db
WEEK = "2026-W45"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def build_draft(key: str):
    report = jobs.request(periods.parse(Kind.WEEKLY, key))
    claimed = jobs._claim(timezone.now())
    assert claimed is not None and claimed.pk == report.pk
    draft = jobs.build_draft(claimed)
    assert draft.state == State.DRAFT, draft.error
    return draft


def stay(where, start: dt.datetime) -> list[PointIn]:
    """Three points over six minutes in one grid: a patrol by the dwell rule (docs/domain.md §8)."""
    return [
        PointIn(
            id=uuid.uuid4(),
            lon=where[0],
            lat=where[1],
            accuracy=5.0,
            at=start + i * dt.timedelta(minutes=3),
        )
        for i in range(3)
    ]


class SectionsWeekTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        world = cls.world = make_world()
        c = cast = world.cast
        cast.officer.last_name, cast.officer.first_name = "张", "三"
        cast.officer.save()
        cast.officer_elsewhere.last_name, cast.officer_elsewhere.first_name = "李", "四"
        cast.officer_elsewhere.save()
        GridAssignment.objects.update(since=dt.date(2026, 10, 1))
        photo = photo_record()

        def act(case, action, actor, when, **inputs):
            case.refresh_from_db()
            if action == "feedback" or (action == "check" and inputs.get("outcome") == "pass"):
                inputs.setdefault("photos", [photo])
            workflow.transition(
                case,
                action,
                actor=actor,
                version=case.version,
                inputs=workflow.Inputs(**inputs),
                now=when,
            )
            case.refresh_from_db()
            return case

        def report(when, category=None, **attributes):
            return workflow.report_case(
                workflow.Report(
                    category=category or c.category, lon=IN_A[0], lat=IN_A[1], attributes=attributes
                ),
                reporter=c.officer,
                now=when,
            )

        def to_handling(case, when):
            act(case, "accept", c.acceptor, when)
            act(case, "register", c.shift_leader, when + dt.timedelta(minutes=10))
            return act(case, "dispatch", c.dispatcher, when + dt.timedelta(minutes=20), unit=c.unit)

        # Step limits are 1 working hour (08:30–12:00, 13:30–17:30).
        # K1: every step on time (accept, register, dispatch, check, close).
        k1 = to_handling(report(at(2, 9)), at(2, 9, 10))
        act(k1, "feedback", c.unit_member, at(2, 10))
        act(k1, "check", c.officer, at(2, 10, 10), outcome="pass")
        act(k1, "close", c.shift_leader, at(2, 10, 20))
        # K2: accepted late (11:00 > 10:00), registered late (Tue 09:00 > Mon 12:00), then waits for
        # dispatch past its step deadline (Tue 10:00) at the cut-off: the centre's backlog.
        k2 = report(at(2, 9))
        act(k2, "accept", c.acceptor, at(2, 11))
        cls.k2 = act(k2, "register", c.shift_leader, at(3, 9))
        # K3: reported Friday 16:00 and never accepted: acceptance late and undone (not backlog).
        report(at(6, 16))
        # An illegal construction of 120 m², found Wednesday, in handling at the end.
        cls.construction = to_handling(
            report_construction(world, area=120, now=at(4, 10)), at(4, 10, 10)
        )
        # Earth dumping, 30 m³, reported Thursday 21:00 (night), dispatched Friday 09:20: 740 minutes.
        dumping = report(at(5, 21), category=world.dumping, volume_m3=30)
        to_handling(dumping, at(6, 9))
        # Patrol: grid A Monday to Thursday by 张三; grid B on Monday only by 李四.
        for day in (2, 3, 4, 5):
            record_points(c.officer, stay(IN_A, at(day, 10)))
        record_points(c.officer_elsewhere, stay(IN_B, at(2, 10)))
        cls.report = build_draft(WEEK)
        cls.data = cls.report.data

    def test_the_centre_steps_and_backlog(self):
        steps = {
            s["step"]: (s["done"], s["on_time"], s["late_undone"], s["on_time_rate"])
            for s in self.data["centre"]["steps"]
        }
        assert steps == {
            "accept": (4, 3, 1, 60.0),
            "verify": (0, 0, 0, None),
            "register": (4, 3, 0, 75.0),
            "dispatch": (3, 3, 1, 75.0),
            "check": (1, 1, 0, 100.0),
            "close": (1, 1, 0, 100.0),
        }
        [line] = self.data["centre"]["backlog"]
        assert (line["number"], line["step"]) == (self.k2.number, "dispatch")
        assert line["step_deadline"] == at(3, 10).isoformat()
        # Tue 10:00 → Mon 9 00:00: 134 hours; working hours Tue 6 + Wed–Fri 3 × 7.5 = 28.5.
        assert (line["late_hours"], line["late_work_hours"]) == (134.0, 28.5)
        assert (line["street"], line["community"]) == ("测试街道006", "测试社区001")

    def test_patrol_coverage_lowest_officers_and_grids_not_patrolled(self):
        patrol = self.data["patrol"]
        assert (
            patrol["days"],
            patrol["assigned"],
            patrol["patrolled"],
            patrol["coverage_rate"],
        ) == (5, 10, 5, 50.0)
        streets = {
            r["name"]: (r["assigned"], r["patrolled"], r["coverage_rate"])
            for r in patrol["streets"]
        }
        assert streets == {"测试街道006": (5, 4, 80.0), "测试街道009": (5, 1, 20.0)}
        communities = {(r["street"], r["name"]): r["coverage_rate"] for r in patrol["communities"]}
        assert communities == {
            ("测试街道006", "测试社区001"): 80.0,
            ("测试街道009", "测试社区001"): 20.0,
        }
        assert [(o["name"], o["coverage_rate"]) for o in patrol["officers_least"]] == [
            ("李四", 20.0),
            ("张三", 80.0),
        ]
        # At the last working day (Fri 6): grid B unpatrolled Tue–Fri, grid A only Friday (< 3).
        [grid] = patrol["unpatrolled"]
        grid_b = Grid.objects.get(pk=self.world.cast.other_grid.pk)
        assert (
            grid["code"],
            grid["days"],
            grid["since"],
            grid["last_patrolled"],
            grid["officers"],
        ) == (grid_b.code, 4, "2026-11-03", "2026-11-02", ["李四"])
        assert patrol["unpatrolled_days"] == 3

    def test_construction_and_dumping_per_street(self):
        found = self.data["campaigns"]
        rows = {r["name"]: r for r in found["construction"]}
        a, b = rows["测试街道006"], rows["测试街道009"]
        assert (a["new_count"], a["new_area_m2"], a["open_count"], a["zero_growth"]) == (
            1,
            120.0,
            1,
            False,
        )
        assert (b["new_count"], b["open_count"], b["zero_growth"]) == (0, 0, True)
        assert (found["new_count"], found["zero_growth_streets"], found["streets"]) == (1, 1, 2)
        dumping = {r["name"]: r for r in found["dumping"]}["测试街道006"]
        assert (
            dumping["count"],
            dumping["volume_m3"],
            dumping["night_count"],
            dumping["median_response_minutes"],
            dumping["night_median_response_minutes"],
        ) == (1, 30.0, 1, 740.0, 740.0)

    def test_the_page_prints_the_three_sections_numbered_in_order(self):
        with translation.override("zh-hans"):
            html = render.document_html(self.report)
        titles = ["中心自身环节", "日巡查", "专项治理", "违法建设", "渣土"]
        assert all(t in html for t in titles), [t for t in titles if t not in html]
        numbers = render.section_numbers(self.data)
        assert list(numbers)[5:9] == ["centre", "patrol", "campaigns", "officers"]
        assert (
            html.index("六、中心自身环节")
            < html.index("七、日巡查")
            < html.index("八、专项治理")
            < html.index("九、监督员")
        )
        assert self.k2.number in html and "李四" in html

    def test_the_workbook_has_a_sheet_per_table(self):
        from openpyxl import load_workbook

        with translation.override("zh-hans"):
            book = load_workbook(io.BytesIO(render.xlsx(self.report)))
        assert {
            "中心环节",
            "中心待办超时",
            "街道巡查覆盖率",
            "社区巡查覆盖率",
            "巡查覆盖率最低的监督员",
            "连续未巡查网格",
            "违法建设治理",
            "渣土",
        } <= set(book.sheetnames)
        steps = {r[0].value: r for r in book["中心环节"].iter_rows(min_row=2)}
        assert (steps["派遣"][5].value, steps["派遣"][5].number_format) == (0.75, "0.00%")
        assert steps["核实"][5].value == "无数据"
        street = {r[1].value: r for r in book["街道巡查覆盖率"].iter_rows(min_row=2)}["测试街道009"]
        assert (street[4].value, street[4].number_format) == (0.2, "0.00%")
        backlog = list(book["中心待办超时"].iter_rows(min_row=2, values_only=True))
        assert [r[1] for r in backlog] == [self.k2.number] and backlog[0][8] == dt.datetime(
            2026, 11, 3, 10, 0
        )

    def test_published_the_pdf_prints_the_sections_and_the_workbook_is_stored(self):
        """The one PDF of this file: the official edition, in Chinese, with the three sections."""
        report = jobs.publish(self.report, by=self.world.cast.shift_leader)
        assert report.state == State.PUBLISHED, report.error
        from openpyxl import load_workbook

        stored = load_workbook(
            io.BytesIO(bytes(ReportFile.objects.get(report=report, format="xlsx").content))
        )
        assert {"中心环节", "街道巡查覆盖率", "违法建设治理"} <= set(stored.sheetnames)
        page = self.world.cast.client(self.world.cast.shift_leader).get(
            f"/api/reports/weekly/{WEEK}.html"
        )
        html = page.content.decode()  # the test client reads the English edition
        assert page.status_code == 200
        assert all(
            t in html
            for t in (
                "own steps</h2>",
                "7. Daily patrol</h2>",
                "8. Special campaigns</h2>",
                "Illegal construction control",
                "Earth dumping",
            )
        ), html
        if render.chinese_font() is None:
            pytest.skip(
                "no Chinese font installed (make system-deps): the PDF is refused, tested elsewhere"
            )
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(bytes(ReportFile.objects.get(report=report, format="pdf").content))
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace(
            "\r\n", ""
        )
        text = text.replace("\n", "")
        for words in (
            "六、中心自身环节",
            "七、日巡查",
            "八、专项治理",
            "违法建设治理",
            "连续3个工作日及以上未巡查的网格",
            self.k2.number,
            "李四",
        ):
            assert words in text, words
        # The page with the campaigns section, for docs/campaigns.md (docs/screenshots/ only with
        # GRIDCASE_SCREENSHOTS=1, else the session's scratch folder).
        from tests.conftest import screenshot_path

        pages = [
            i for i in range(len(pdf)) if "八、专项治理" in pdf[i].get_textpage().get_text_range()
        ]
        assert pages
        pdf[pages[0]].render(scale=1.6).to_pil().convert("RGB").save(
            screenshot_path("report-sections.png")
        )


class NoSectionsTest(TestCase):
    def test_a_week_without_steps_patrol_or_campaigns_has_none_of_their_sections(self):
        world = make_world()
        GridAssignment.objects.update(since=dt.date(2026, 10, 1))
        report_construction(world, area=50, now=at(4, 10))  # after the week asked for
        report = build_draft("2026-W38")  # 14–20 September: nothing reported, nobody assigned
        assert not {"centre", "patrol", "campaigns"} & set(report.data)
        with translation.override("zh-hans"):
            html = render.document_html(report)
            book = render.xlsx(report)
        assert "中心自身环节" not in html and "日巡查" not in html and "专项治理" not in html
        assert "六、监督员" in html  # numbering skips the sections not printed
        from openpyxl import load_workbook

        names = set(load_workbook(io.BytesIO(book)).sheetnames)
        assert not {"中心环节", "街道巡查覆盖率", "违法建设治理", "渣土"} & names
