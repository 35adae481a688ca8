"""One catalogue, one rule table (issue 22): the workflow as the API describes it, the zh-hans
catalogue's domain words, category search by everyday words, report alerts naming their period,
and the phone showing words — never a raw key — for every status and alert kind, in Chinese and in
English."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from alerts.models import Kind as AlertKind
from alerts.models import Notification, alert_title
from alerts.outbox import notify
from cases import workflow
from cases.categories import seed_categories
from cases.models import Status
from people.tokens import key_for
from tests.cast import case_in, make_cast
from tests.test_mobile import phone, sign_in

CJK = re.compile(r"[\u4e00-\u9fff]")


def _api(client, user, path, language="zh-hans"):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(path, HTTP_AUTHORIZATION=f"Token {key_for(user)}")


# --- the workflow through the API ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_workflow_api_describes_the_table_in_both_languages(client):
    cast = make_cast()
    body = _api(client, cast.officer, "/api/workflow").json()
    actions = body["actions"]
    assert {a for _s, a in workflow.TABLE} | {"report"} == set(actions)
    for (status, action), rule in workflow.TABLE.items():
        entry = actions[action]
        assert status in entry["from"] and set(entry["roles"]) == set(rule.roles), action
        assert entry["reason_required"] == ("reason" in rule.needs), action
        for need in rule.needs:
            assert entry["inputs"][workflow.INPUT_FIELDS.get(need, need)] != "optional", (
                action,
                need,
            )
    # docs/domain.md §4: a reason is required to reject, decline and void; not to verify or check.
    assert [
        actions[a]["reason_required"] for a in ("reject", "decline", "void", "verify", "check")
    ] == [True, True, True, False, False]
    check = {o["key"]: o for o in actions["check"]["outcomes"]}
    assert (check["pass"]["to"], check["pass"]["photos_required"]) == ("closing", True)
    assert (check["fail"]["to"], check["fail"]["photos_required"]) == ("handling", False)
    assert actions["feedback"]["photos_required"] and "disposition" in actions["feedback"]["inputs"]
    assert {s["key"] for s in body["statuses"]} == set(Status.values)
    zh = {s["key"]: s["label"] for s in body["statuses"]}
    en = {
        s["key"]: s["label"]
        for s in _api(client, cast.officer, "/api/workflow", "en").json()["statuses"]
    }
    assert zh["closed"] == "已结案" and en["closed"] == "Closed"
    en_actions = _api(client, cast.officer, "/api/workflow", "en").json()["actions"]
    for key in actions:
        assert CJK.search(actions[key]["label"]) and not CJK.search(en_actions[key]["label"]), key


@pytest.mark.django_db
def test_a_ledger_cases_feedback_names_its_entry_for_the_phone(client):
    cast = make_cast()
    case = case_in(cast, Status.HANDLING)
    body = _api(client, cast.unit_member, f"/api/cases/{case.pk}").json()
    assert "feedback" in body["allowed_actions"] and body["ledger_entry"] is None


# --- the catalogue's domain words ----------------------------------------------------------------

# (context, msgid) pairs that may be translated with a term; every other message must not.
ALLOWED = {
    "环比": {("period-on-period", "Change"), ("", "Classes that grew most: %(classes)s.")},
}
# Contexts and msgids whose translation must not contain a term.
NEVER = [
    ("上报", lambda ctx, msgid: ctx == "periodic report"),  # 通报, the centre's report
    ("上报", lambda ctx, msgid: msgid in ("Weekly report", "Monthly report", "Report published")),
    ("周报", lambda ctx, msgid: True),  # the product says 周通报
]


def _catalogue(domain: str) -> dict[tuple[str, str], str]:
    path = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.mo"
    with path.open("rb") as f:
        raw = gettext.GNUTranslations(f)._catalog
    out = {}
    for key, text in raw.items():
        if not isinstance(key, str) or not key:
            continue
        ctx, _sep, msgid = key.rpartition("\x04")
        out[(ctx, msgid)] = text
    return out


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogue_uses_domain_terms_only_where_they_belong(domain):
    catalogue = _catalogue(domain)
    for term, allowed in ALLOWED.items():
        wrong = {k: v for k, v in catalogue.items() if term in v and k not in allowed}
        assert not wrong, (term, wrong)
    for term, applies in NEVER:
        wrong = {k: v for k, v in catalogue.items() if term in v and applies(*k)}
        assert not wrong, (term, wrong)
    if domain == "django":
        assert catalogue[("", "Change")] == "修改"  # Django admin's "Change"
        assert catalogue[("period-on-period", "Change")] == "环比"
        assert catalogue[("periodic report", "Report")] == "通报"


@pytest.mark.django_db
def test_the_admin_and_the_reports_page_use_the_right_words(admin_client):
    from tests.factories import make_small_class

    small = make_small_class()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = admin_client.get("/admin/cases/smallclass/").content.decode()
    assert "环比" not in page and "修改" in page
    # The everyday words are the administrator's to edit.
    assert (
        'name="keywords"'
        in admin_client.get(f"/admin/cases/smallclass/{small.pk}/change/").content.decode()
    )
    reports = admin_client.get("/reports/").content.decode()
    assert "通报" in reports and "<th>上报</th>" not in reports


# --- category search by everyday words ---------------------------------------------------------


@pytest.mark.django_db
def test_category_search_finds_the_words_people_use(client):
    from tests.factories import make_user

    seed_categories()  # the seeded standards only: the first one is the active one
    officer = make_user(username="searcher")
    found = {}
    for word in ("乱倒垃圾", "违规广告", "占道经营", "违建", "私搭乱建", "乱贴", "渣土"):
        rows = _api(client, officer, f"/api/categories/?q={word}").json()
        found[word] = {r["name"] for r in rows}
    assert "暴露垃圾" in found["乱倒垃圾"] and "积存垃圾渣土" in found["乱倒垃圾"]
    assert "违规户外广告" in found["违规广告"] and "非法小广告" in found["乱贴"]
    assert "占道经营" in found["占道经营"] and "店外经营" in found["占道经营"]
    assert "私搭乱建" in found["违建"] and "私搭乱建" in found["私搭乱建"]
    assert any("道路遗撒" in name for name in found["渣土"])
    assert not _api(client, officer, "/api/categories/?q=不存在的词").json()


# --- report alerts name their period -----------------------------------------------------------


def test_a_report_alert_names_its_report_and_period():
    def title(key, language):
        with translation.override(language):
            return alert_title({"type": "report_published", "report": {"key": key}})

    assert title("2026-W47", "zh-hans") == "2026年第47周周通报已发布"
    assert title("2026-11", "zh-hans") == "2026年11月月报已发布"
    assert title("2026-Q4", "zh-hans") == "2026年第4季度讲评已发布"
    assert title("2026-W47", "en") == "2026 week 47: weekly report published"
    with translation.override("zh-hans"):
        assert alert_title({"type": "overdue"}) == str(AlertKind.OVERDUE.label) != "overdue"


# --- no raw key on the phone, in Chinese and in English ----------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_phone_shows_words_for_every_status_and_alert_kind(
    live_server, chromium_path, language
):
    cast = make_cast()
    cases = {status: case_in(cast, status) for status in Status.values}
    closed = cases[Status.CLOSED]
    for kind in AlertKind.values:
        extra = (
            {"report": {"kind": "weekly", "key": "2026-W47", "url": "/reports/"}}
            if kind == AlertKind.REPORT_PUBLISHED
            else None
        )
        notify([cast.officer], kind, case=None if extra else closed, extra=extra)
    keys = set(Status.values) | set(AlertKind.values) | set(workflow.ACTION_LABELS)
    # In English the words "accept", "close", "merge" are words: there a raw key is one with "_", or
    # a chip whose whole text is a key.
    shown = keys if language == "zh-hans" else {k for k in keys if "_" in k}
    raw = re.compile(r"\b(" + "|".join(sorted(shown, key=len, reverse=True)) + r")\b")
    events, photos = closed.events.count(), closed.photos.count()
    alerts = Notification.objects.filter(user=cast.officer).count()  # with those the cases made
    data = (closed.category.name, closed.grid.name)  # names from the database, in no language
    from cases.models import SmallClass
    from grids.models import Grid

    names = sorted(
        {
            *SmallClass.objects.values_list("name", flat=True),
            *Grid.objects.values_list("name", flat=True),
            *(c.big_class.name for c in SmallClass.objects.select_related("big_class")),
        },
        key=len,
        reverse=True,
    )
    with translation.override(language):
        status_words = {s: str(Status(s).label) for s in Status.values}
    base = live_server.url

    with phone(chromium_path) as (context, page, seen):
        context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
        )
        sign_in(page, base)
        page.goto(base + "/m/mine")
        rows = page.locator("#mine-list a[data-case-id]")
        expect(rows.first).to_be_visible()
        text = page.locator("#mine-list").inner_text()
        assert not raw.search(text), raw.search(text)
        for status, words in status_words.items():
            assert words in text, (status, words)
        assert not set(page.locator("#mine-list .m-chip").all_inner_texts()) & keys
        # A row opens the case read-only: its timeline and its photos with their stage.
        page.locator(f'#mine-list a[data-case-id="{closed.pk}"]').click()
        expect(page.locator("#case-events li")).to_have_count(events)
        expect(page.locator("#case-photos li")).to_have_count(photos)
        expect(page.locator("#action-done-title")).to_be_visible()
        expect(page.locator("#action-form")).to_be_hidden()
        body = page.locator("main").inner_text()
        assert not raw.search(body), raw.search(body)
        for name in data:
            body = body.replace(name, "")
        assert bool(CJK.search(body)) == (language == "zh-hans"), body

        page.goto(base + "/m/alerts")
        expect(page.locator("#alerts-list li")).to_have_count(alerts)
        text = page.locator("#alerts-list").inner_text()
        assert not raw.search(text), raw.search(text)
        if language == "zh-hans":  # every kind has its Chinese words: no English left over either
            assert not re.search(r"[A-Za-z]{3,}", text), text
        week = (
            "2026年第47周周通报已发布"
            if language == "zh-hans"
            else "2026 week 47: weekly report published"
        )
        assert week in text
        report_alert = page.locator("#alerts-list a", has_text=week)
        expect(report_alert).to_have_attribute("href", "/reports/")
        report_alert.click()
        expect(page).to_have_url(re.compile(r"/reports/"))

        # Every screen in the chosen language (the database's names aside).
        for path, ready in (
            ("/m/", "#home-tasks"),
            ("/m/tasks", "#check-list li"),
            ("/m/patrol", "#coverage-list li"),
            ("/m/queue", "#queue-summary"),
            ("/m/report", "#category-button"),
        ):
            page.goto(base + path)
            expect(page.locator(ready).first).not_to_have_text(
                re.compile(r"^(–|加载中…|Loading…)?$")
            )
            text = page.locator("body").inner_text()
            for name in names:
                text = text.replace(name, "")
            assert not raw.search(text), (path, raw.search(text))
            if language == "en":
                assert not CJK.search(text), (path, text)
    assert seen["errors"] == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_servers_own_words_cover_every_key(language):
    """What the server renders into the phone's pages (and serves at /api/workflow): every status,
    action, outcome, alert kind, photo stage, request and disposition has words, not its key."""
    from frontend.views import _mobile_labels

    with translation.override(language):
        described, labels = workflow.describe(), _mobile_labels()
        titles = {kind: alert_title({"type": kind}) for kind in AlertKind.values}
    words = {("status", s["key"]): s["label"] for s in described["statuses"]}
    for key, action in described["actions"].items():
        words[("action", key)] = action["label"]
        words.update({("outcome", o["key"]): o["label"] for o in action["outcomes"]})
    for group, table in labels.items():
        words.update({(group, key): text for key, text in table.items()})
    words.update({("title", kind): text for kind, text in titles.items()})
    assert len(labels["alerts"]) == len(AlertKind.values) and len(words) > 60
    for (group, key), text in words.items():
        assert text and text != key, (group, key)
        assert bool(CJK.search(text)) == (language == "zh-hans"), (group, key, text)


def test_every_word_of_the_phone_has_its_chinese():
    """Every t("…") of the mobile scripts is in the JS catalogue and every {% translate … context
    "mobile" %} of its templates in the server's, translated; the report titles are the server's."""
    from alerts.models import REPORT_TITLES

    root = Path(settings.BASE_DIR) / "frontend"
    js = _catalogue("djangojs")
    scripts = "".join(
        re.sub(r"^\s*//[^\n]*", "", p.read_text(), flags=re.M)
        for p in (root / "static/frontend/mobile").glob("*.js")
    )
    msgids = {
        m.encode().decode("unicode_escape") if "\\" in m else m
        for m in re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', scripts)
    }
    assert len(msgids) > 150
    msgids.update(words for _pattern, words in REPORT_TITLES)
    missing = {m for m in msgids if js.get(("", m), m) == m}  # "; " → "；" has no CJK, but changes
    assert not missing, missing
    server = _catalogue("django")
    templates = "".join(p.read_text() for p in (root / "templates/frontend/mobile").iterdir())
    tags = set(re.findall(r'\{% translate "((?:[^"\\]|\\.)*)" context "mobile" %\}', templates))
    assert len(tags) > 60
    missing = {m for m in tags if not CJK.search(server.get(("mobile", m), ""))}
    assert not missing, missing
    assert not CJK.search(re.sub(r"\{#.*?#\}|//[^\n]*", "", templates + scripts)), "a literal left"


def test_no_script_of_any_page_keeps_chinese_words():
    """The words of the console, the desk and the phone come from the catalogue (rendered into the
    page, or gettext through /jsi18n/): no script keeps a Chinese literal — the sign of a label
    table (the desk kept one for its alerts until the issue-22 review)."""
    root = Path(settings.BASE_DIR) / "frontend" / "static" / "frontend"
    scripts = [p for p in root.rglob("*.js")]
    assert len(scripts) > 10
    for path in scripts:
        code = re.sub(r"/\*.*?\*/", "", re.sub(r"//[^\n]*", "", path.read_text()), flags=re.S)
        assert not CJK.search(code), (
            f"{path.relative_to(root)} keeps Chinese words: {CJK.search(code)[0]}"
        )
