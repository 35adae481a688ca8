"""The console's server-rendered parts (frontend/console.py, frontend/views.py console_*, templates
frontend/console/_*.html): queues with a constant number of queries, forms built from the workflow
table, final actions confirmed first, search across every status, open by number, every status in
words, the alerts list. The browser tests drive the same pages in Debian's Chromium."""

from __future__ import annotations

import re

import pytest

from alerts.models import Notification
from cases import workflow
from cases.models import Case, Status
from frontend import console as centre
from tests.cast import case_in, make_cast, report

RAW_KEY = re.compile(r"\b(s|l|a|q|t|o|r|i|f)_[a-z_]+\b|\bl_null\b|\bundefined\b|\bnull\b")


def _text(html: str) -> str:
    """The visible words of an HTML fragment (tags and attributes dropped)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _panel(client, case: Case, lang: str = "zh-hans") -> str:
    response = client.get(
        f"/console/case/{case.pk}", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE=lang
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_queue_queries_do_not_grow_with_the_rows(rows, django_assert_max_num_queries):
    cast = make_cast()
    for _ in range(rows):
        report(cast)
    page, api = cast.client(cast.acceptor), cast.client(cast.acceptor)
    page.get("/console/queues"), api.get("/api/console/queues")  # the session is read once before
    with django_assert_max_num_queries(24):  # the same bound for 5 and 50 rows
        response = page.get("/console/queues")
    assert response.content.decode().count('class="gcc-row"') == rows
    with django_assert_max_num_queries(24):
        body = api.get("/api/console/queues").json()
    assert {q["key"]: q["count"] for q in body["queues"]}["accept"] == rows


def test_every_form_comes_from_the_workflow_table():
    for (status, action), rule in workflow.TABLE.items():
        form = centre.action_form(status, action)
        assert form.needs == rule.needs and form.reason_required == ("reason" in rule.needs)
        assert [o for o, _label in form.outcomes] == list(workflow.OUTCOMES.get(action, ()))
        assert str(form.label) and form.label != action  # every action has words
    assert set(workflow.ACTIONS) <= set(centre.ACTION_LABELS)
    assert (
        centre.action_form(Status.REPORTED, "merge").final
        and centre.action_form(Status.REPORTED, "reject").final
    )
    assert not centre.action_form(Status.CLOSING, "close").final  # the normal end asks nothing more
    assert not centre.action_form(Status.CHECKING, "check").final


@pytest.mark.django_db
def test_the_panel_shows_the_forms_the_workflow_allows_and_merge_asks_first():
    cast = make_cast()
    first, second = report(cast, description="占道经营 一"), report(cast, description="占道经营 二")
    client = cast.client(cast.acceptor)
    html = _panel(client, second)
    for action in workflow.allowed_actions(second, cast.acceptor):
        assert f'data-action="{action}"' in html
    assert re.search(
        r'form class="gcc-form" data-action="reject".*?<textarea name="reason"[^>]*required',
        html,
        re.DOTALL,
    )
    assert 'class="gcc-merge"' in html and 'name="confirm"' in html
    url = f"/console/case/{second.pk}/act"
    refused = client.post(
        url,
        {"action": "merge", "version": second.version, "duplicate_of": first.number},
        HTTP_HX_REQUEST="true",
    )
    assert (
        refused.status_code == 400
        and "confirm" in _text(refused.content.decode()).lower()
        or "确认" in refused.content.decode()
    )
    second.refresh_from_db()
    assert second.status == Status.REPORTED
    done = client.post(
        url,
        {
            "action": "merge",
            "version": second.version,
            "duplicate_of": first.number,
            "confirm": "yes",
        },
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 200 and done["HX-Trigger"] == "console-changed"
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.duplicate_of_id == first.pk


@pytest.mark.django_db
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing():
    cast = make_cast()
    case = case_in(cast, Status.DISPATCHING)
    client = cast.client(cast.dispatcher)
    response = client.post(
        f"/console/case/{case.pk}/act",
        {"action": "dispatch", "version": case.version, "unit": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "Handling unit" in _text(response.content.decode())
    stale = client.post(
        f"/console/case/{case.pk}/act",
        {"action": "dispatch", "version": case.version + 5, "unit": cast.unit.pk},
        HTTP_HX_REQUEST="true",
    )
    assert stale.status_code == 409
    case.refresh_from_db()
    assert case.status == Status.DISPATCHING and case.unit_id is None
    assert client.get(f"/console/case/{case.pk}/act").status_code == 405
    assert (
        cast.client(cast.officer)
        .post(f"/console/case/{case.pk}/act", {"action": "dispatch"})
        .status_code
        == 403
    )


@pytest.mark.chinese
@pytest.mark.django_db
def test_every_status_reads_in_words_and_a_finished_case_counts_nothing_down():
    cast = make_cast()
    client = cast.client(cast.shift_leader)
    for status in Status.values:
        case = case_in(cast, status)
        for lang in ("zh-hans", "en"):
            text = _text(_panel(client, case, lang))
            assert not RAW_KEY.search(text), (status, lang, RAW_KEY.search(text))
            label = str(Status(status).label) if lang == "en" else None
            if label:
                assert label in text, (status, text)
        zh = _text(_panel(client, case))
        if status in (Status.CLOSED, Status.REJECTED, Status.VOIDED, Status.MERGED):
            assert "剩" not in zh and "working hours left" not in _text(_panel(client, case, "en"))
            assert "本案已办结" in zh
        leftovers = re.findall(r"[A-Za-z_]{2,}", zh)
        assert set(leftovers) <= {
            "officer",
            "acceptor",
            "shiftleader",
            "dispatcher",
            "unit",
            "GPS",
        }, (status, leftovers)
    closed = Case.objects.filter(status=Status.CLOSED).first()
    zh = _text(_panel(client, closed))
    assert (
        "核查 : 通过 · 监督员 officer" in zh.replace(":", " :")
        or "核查: 通过 · 监督员 officer" in zh
        or re.search(r"核查\s*: ?通过\s*· 监督员 officer", zh)
    ), zh
    assert "officer → 执法大队" not in zh and "派遣 · 派遣员 dispatcher → 执法大队" in zh


@pytest.mark.django_db
def test_search_finds_a_case_in_any_status_by_number_address_or_description():
    cast = make_cast()
    closed = case_in(cast, Status.CLOSED)
    Case.objects.filter(pk=closed.pk).update(
        address="星湖街 328 号", description="人行道堆放建筑垃圾"
    )
    client = cast.client(cast.acceptor)
    for q in (closed.number, closed.number[-5:], "星湖街", "建筑垃圾"):
        html = client.get("/console/search", {"q": q}).content.decode()
        assert f'data-case="{closed.pk}"' in html, q
    assert (
        'data-case="' not in client.get("/console/search", {"q": "没有这样的案件"}).content.decode()
    )
    # Open by number: the page renders the panel; the partial finds it by number too.
    page = client.get("/console/", {"case": closed.number}).content.decode()
    assert f'id="gcc-panel" class="gcc-panel" aria-live="polite" data-case="{closed.pk}"' in page
    found = client.get("/console/case", {"ref": closed.number}, HTTP_HX_REQUEST="true")
    assert found.status_code == 200 and f'data-number="{closed.number}"' in found.content.decode()
    assert (
        client.get("/console/case", {"ref": "99999999999999"}, HTTP_HX_REQUEST="true").status_code
        == 404
    )


@pytest.mark.django_db
def test_queues_offer_newest_first():
    cast = make_cast()
    older, newer = report(cast), report(cast)
    client = cast.client(cast.acceptor)

    def rows(order: str) -> list[str]:
        return re.findall(
            r'class="gcc-row" data-case="(\d+)"',
            client.get("/console/queues", {"order": order}).content.decode(),
        )

    assert rows("oldest")[:2] == [str(older.pk), str(newer.pk)]
    assert rows("newest")[:2] == [str(newer.pk), str(older.pk)]


@pytest.mark.chinese
@pytest.mark.django_db
def test_the_alerts_list_opens_cases_and_marks_read_up_to_what_it_showed():
    cast = make_cast()
    case = report(cast)
    mine = Notification.objects.filter(user=cast.acceptor)
    assert mine.filter(read_at__isnull=True).exists(), "a new report alerts the acceptor"
    client = cast.client(cast.acceptor)
    html = client.get("/console/alerts", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'hx-get="/console/case/{case.pk}"' in html and "new_report" not in _text(html)
    top = mine.order_by("-seq").first().seq
    assert client.post("/console/alerts", {"up_to": "x"}).status_code == 400
    read = client.post("/console/alerts", {"up_to": top})
    assert read.status_code == 200 and 'data-unread="0"' in read.content.decode()
    assert not mine.filter(read_at__isnull=True).exists()
