"""The demo city's last week as a city publishes it (docs/domain.md §7, issue 19): built as a draft,
published by the shift leader with both text sections, and read back from the PDF's text —
title, 期号, Chinese dates, 统计周期, the 总体情况 sentence with the week's real numbers, the two
text sections, 落款, 十佳/十差 grids with their communities, and not one username or slug.
With GRIDCASE_SCREENSHOTS=1 the pages of the weekly report and of a quarterly review are written
to docs/screenshots/ (otherwise to a temporary directory)."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from grids.models import Area
from people.models import Organisation, User
from reports import jobs, render
from reports.demo import demo_settings
from reports.models import Kind, Report, ReportFile, State
from reports.periods import containing, previous
from tests.conftest import require

pytestmark = pytest.mark.django_db
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PROBLEMS = "1. 部分处置单位超期未处置案件较多，需限期办结。\n2. 个别街道结案率偏低。"
REQUIREMENTS = "1. 各处置单位于下周三前办结本通报所列超期案件。\n2. 各街道加强巡查和督办。"


def pdf_pages(report: Report):
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(bytes(ReportFile.objects.get(report=report, format="pdf").content))


def text_of(pdf) -> str:
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace(
        "\r\n", "\n"
    )


def draft_of(span) -> Report:
    report = jobs.request(span)
    claimed = jobs._claim(timezone.now())
    assert claimed is not None and claimed.pk == report.pk
    draft = jobs.build_draft(claimed)
    assert draft.state == State.DRAFT, draft.error
    return draft


def shoot(pdf, pages: dict[str, int], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, index in pages.items():
        path = folder / f"{name}.png"
        pdf[index if index >= 0 else len(pdf) + index].render(scale=1.6).to_pil().convert(
            "RGB"
        ).save(path)
        written.append(path)
    return written


def test_the_demo_week_published_as_a_city_publishes_it(tmp_path):
    require(render.chinese_font() is not None, "a Chinese font (fonts-noto-cjk)")
    from cases.demo import generate_demo_cases

    with override_settings(DEMO=True):
        call_command("load_demo", cases=0, stdout=io.StringIO())
    demo_settings()
    # This week of a small demo has few cases per grid: name 十佳/十差 from one case due (the city's
    # default minimum sample is 3, docs/domain.md §6; the report's form is what this test reads).
    from metrics.models import EvaluationSettings

    EvaluationSettings.objects.filter(pk=EvaluationSettings.load().pk).update(min_sample_grid=1)
    made = generate_demo_cases(count=160, weeks=16)  # about that many reports (cases/demo.py)
    assert 100 <= made <= 220, made
    week = previous(containing(Kind.WEEKLY, timezone.now()))
    started = time.perf_counter()
    draft = draft_of(week)
    built = time.perf_counter()
    leader = User.objects.get(username="shiftleader")
    report = jobs.publish(draft, by=leader, problems=PROBLEMS, requirements=REQUIREMENTS)
    assert report.state == State.PUBLISHED, report.error
    pdf_kb = ReportFile.objects.get(report=report, format="pdf").size // 1024
    print(
        f"demo week {week.key}: draft built in {built - started:.1f} s, published (PDF + workbook) in "
        f"{time.perf_counter() - built:.1f} s; PDF {pdf_kb} KB"
    )
    pdf = pdf_pages(report)
    text = text_of(pdf)
    flat = text.replace("\n", "")
    head = text[: text.index("统计周期")]
    centre = "苏州工业园区数字化城市管理监督指挥中心"
    assert centre in head and "周通报" in head
    assert f"{report.year}年第{report.issue}期（总第{report.serial}期）" in head
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", head)
    first, last = week.start.date(), (week.end - timezone.timedelta(days=1)).date()
    period = (
        f"{first.month}月{first.day}日至{last.month}月{last.day}日"
        if first.year == last.year
        else f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"
    )
    assert f"统计周期：{period}" in text
    # The 总体情况 sentence carries the week's real figures.
    current = report.data["overall"]["current"]
    sentence = (
        f"本周共受理案件{current['accepted']}件，立案{current['registered']}件，"
        f"立案率{'—' if current['registration_rate'] is None else format(current['registration_rate'], '.2f') + '%'}"
    )
    assert sentence in flat, sentence
    assert f"应结案{current['due_closure']}件，结案{current['closed']}件" in flat
    assert "与上周相比" in flat
    for words in (
        "存在问题",
        "下周工作要求",
        "各处置单位于下周三前办结本通报所列超期案件",
        "个别街道结案率偏低",
    ):
        assert words in flat, words
    # 落款: the centre and the publication date, at the end.
    day = timezone.localtime(report.published_at)
    tail = flat[flat.rindex("说明") :]
    assert centre in tail and f"{day.year}年{day.month}月{day.day}日" in tail
    # 十佳 and 十差 grids named with their communities.
    communities = set(Area.objects.filter(level="community").values_list("name", flat=True))
    best, worst = (
        flat[flat.index("十佳") : flat.index("十差")],
        flat[flat.index("十差") : flat.index("社区排名")],
    )
    assert report.data["areas"]["best"] and report.data["areas"]["worst"]
    for rows, part in (
        (report.data["areas"]["best"], best),
        (report.data["areas"]["worst"], worst),
    ):
        assert rows[0]["community"] in communities and rows[0]["community"] in part
    # No username, no organisation slug, no English word of the demo's data anywhere.
    slugs = set(User.objects.values_list("username", flat=True)) | set(
        Organisation.objects.values_list("code", flat=True)
    )
    assert not [s for s in slugs if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", text)]
    assert set(re.findall(r"[A-Za-z]{3,}", text)) <= {"Excel"}, set(
        re.findall(r"[A-Za-z]{3,}", text)
    )

    # The quarterly review of the last complete quarter with data, for the screenshots.
    quarter = previous(containing(Kind.QUARTERLY, timezone.now()))
    review = jobs.publish(
        draft_of(quarter),
        by=leader,
        review="本季度案件总量平稳，超期案件集中在少数处置单位，下季度重点督办。",
    )
    assert review.state == State.PUBLISHED, review.error
    quarterly = pdf_pages(review)
    assert "季度讲评" in text_of(quarterly)
    folder = SCREENSHOTS if os.environ.get("GRIDCASE_SCREENSHOTS") == "1" else tmp_path
    map_page = next(
        i for i in range(len(pdf)) if "各街道结案率" in pdf[i].get_textpage().get_text_range()
    )
    section = next(
        i
        for i in range(len(quarterly))
        if "各街道周综合指标值" in quarterly[i].get_textpage().get_text_range()
    )
    written = shoot(
        pdf, {"report-pdf-page1": 0, "report-pdf-map": map_page, "report-pdf-last": -1}, folder
    )
    written += shoot(
        quarterly, {"report-quarterly-page1": 0, "report-quarterly-review": section}, folder
    )
    assert all(p.stat().st_size > 10_000 for p in written)
