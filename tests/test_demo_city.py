"""The demo city's history (issue 18): a small version (2 weeks × 50 cases) loaded through
`load_demo`, the same code path as `make run`, shows every path of docs/domain.md §4, and its metrics
recompute exactly from the events; no two areas of a level share a name."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from grids.area_names import read_csv, sip_area_names

pytestmark = pytest.mark.django_db

SIP = settings.BASE_DIR / "fixtures" / "sip"
EVERY_ACTION = {
    "report", "send_verify", "verify", "accept", "reject", "merge", "register", "decline", "dispatch",
    "request_return", "approve_return", "deny_return", "request_extension", "approve_extension", "deny_extension",
    "request_suspension", "approve_suspension", "deny_suspension", "resume", "feedback", "check", "self_handle",
    "close", "void", "supervise",
}


def test_the_area_names_file_is_what_the_layers_give():
    """fixtures/sip/area_names.csv never drifts from grids/area_names.py (`manage.py sip_area_names`)."""
    names = sip_area_names([SIP / "sip_grid_comprehensive_826.geojson", SIP / "sip_grid_dedicated_475.geojson"])
    assert read_csv(SIP / "area_names.csv") == names
    for length in (6, 9, 12):
        level = [name for code, name in names.items() if len(code) == length]
        assert len(level) == len(set(level)), Counter(level).most_common(3)
    assert names["320506010"] == "胜浦街道"  # 178 of its rows say so, 2 say 唯亭街道
    assert names["320591010"] == "胜浦街道（320591010）"
    assert names["320505"] == "苏州工业园区（斜塘、娄葑片区）"


def test_a_small_demo_shows_every_path_and_its_metrics_recompute_from_the_events():
    from cases.models import Case, CaseEvent, Status
    from grids.models import Area
    from metrics.reports import CITY, figures_by_level, period_of
    from people.models import Role, User

    out = io.StringIO()
    with override_settings(DEMO=True):
        call_command("load_demo", weeks=2, per_week=50, stdout=out, stderr=io.StringIO())
    assert "Demo city ready: loaded in" in out.getvalue()
    now = timezone.now()

    # every path of docs/domain.md §4, both outcomes of verify and check, open and overdue cases at the end
    events = list(CaseEvent.objects.select_related("case").order_by("case_id", "seq"))
    assert EVERY_ACTION <= {e.action for e in events}, EVERY_ACTION - {e.action for e in events}
    assert {e.data.get("outcome") for e in events if e.action == "verify"} == {"confirmed", "not_confirmed"}
    assert {e.data.get("outcome") for e in events if e.action == "check"} == {"pass", "fail"}
    redispatched = {e.case_id for e in events if e.action == "approve_return"}
    assert any(e.action == "dispatch" and e.case_id in redispatched and not e.data["first"] for e in events)
    assert Case.objects.open().exists() and Case.objects.filter(status=Status.CLOSED).exists()
    assert Case.objects.filter(status=Status.HANDLING, deadline__lt=now).exists()  # overdue

    # history: the weeks before this one, up to yesterday; the mix the issue asks for
    first_day = min(timezone.localdate(e.at) for e in events)
    today = timezone.localdate(now)
    assert first_day == today - dt.timedelta(days=today.weekday() + 14)
    assert max(e.at for e in events) < now
    cases = list(Case.objects.select_related("category__big_class"))
    sources = Counter(c.source for c in cases)
    assert 0.55 <= sources["patrol"] / len(cases) <= 0.85, sources
    assert {"hotline_12345", "public"} <= set(sources)
    big = Counter(c.category.big_class.code for c in cases)
    assert {code for code, _n in big.most_common(2)} == {"06", "09"}, big
    assert {"07", "08"} <= set(big)
    patrol_days = {timezone.localtime(c.reported_at) for c in cases if c.source == "patrol"}
    assert all(dt.time(8, 30) <= t.time() <= dt.time(17, 30) for t in patrol_days)

    # the metrics of each full week recompute exactly from the events
    monday = today - dt.timedelta(days=today.weekday())
    for weeks_back in (2, 1):
        start = monday - dt.timedelta(days=7 * weeks_back)
        period = period_of(start, start + dt.timedelta(days=7), now=now)
        city = figures_by_level(CITY, period)[1]
        inside = [e for e in events if period.start <= e.at < period.end]
        first_dispatch = {}
        for e in events:
            if e.action == "dispatch":
                first_dispatch.setdefault(e.case_id, e.at)
        expected = {
            "accepted": sum(e.action in ("accept", "self_handle") for e in inside),
            "registered": sum(e.action in ("register", "self_handle") for e in inside),
            "dispatched": sum(period.start <= at < period.end for at in first_dispatch.values()),
            "closed": sum(e.action == "close" for e in inside),
            "rework": sum(e.action == "check" and e.data.get("outcome") == "fail" for e in inside),
            "returns": sum(e.action == "approve_return" for e in inside),
            "extensions": sum(e.action == "approve_extension" for e in inside),
            "voided": sum(e.action == "void" for e in inside),
        }
        assert {name: getattr(city, name) for name in expected} == expected
        assert expected["registered"] >= 25  # about 50 a week, less the noise
        by_street = figures_by_level("street", period)
        registered = defaultdict(int)
        for e in inside:
            if e.action in ("register", "self_handle") and e.case.grid_id:
                registered[e.case.grid.code[:9]] += 1
        assert {code: f.registered for code, f in by_street.items() if f.registered} == dict(registered)

    # no two areas of a level share a name; people have Chinese names
    for level in ("district", "street", "community"):
        names = list(Area.objects.current().filter(level=level).values_list("name", flat=True))
        assert len(names) == len(set(names)), Counter(names).most_common(3)
    officers = User.objects.filter(role=Role.OFFICER)
    assert officers.exists() and not officers.filter(first_name="").exists()
    assert not officers.filter(first_name__endswith="网格员").exists()
    assert User.objects.get(username="officer").first_name == "王建国"
