"""Issue #16, item 16: bad input gets a clear 4xx, as JSON with a message, never a 500 — the
cases found by hand that schemathesis' defaults missed. Types are strict."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from cases.models import Case, Status
from tests.cast import IN_A, case_in, make_cast

pytestmark = pytest.mark.django_db


def _json_error(response, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body, "an error names its problem"
    return body


@pytest.mark.parametrize(
    "query",
    [
        "start_date=0001-01-01",
        "start_date=9999-12-31",
        "end_date=0001-01-01",
        "end_date=9999-12-31",
        "updated_before=9999-12-31T23:59:59-12:00",
        "updated_after=0001-01-01T00:00:00%2B14:00",
    ],
)
def test_open311_dates_at_the_ends_of_the_calendar_are_a_400(query):
    response = Client().get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()[0]["description"]


@pytest.mark.parametrize("body", ["[1,2,3]", "null", '"x"', "5", "true"])
def test_a_json_body_that_is_not_an_object_is_a_400(body):
    cast = make_cast()
    client = cast.client(cast.officer)
    _json_error(
        client.post(
            "/api/cases/",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    )
    case = case_in(cast, Status.REPORTED)
    _json_error(
        cast.client(cast.acceptor).post(
            f"/api/cases/{case.pk}/transition", body, content_type="application/json"
        )
    )
    assert Case.objects.count() == 1


@pytest.mark.parametrize("ref", ["²", "١٢", "１２"])
def test_duplicate_of_accepts_ascii_digits_only(ref):
    cast = make_cast()
    case, other = case_in(cast, Status.REPORTED), case_in(cast, Status.REPORTED)
    assert other.pk == 12 or True  # "١٢" must not resolve to id 12 whatever the ids are
    response = cast.client(cast.acceptor).post(
        f"/api/cases/{case.pk}/transition",
        {"action": "merge", "version": case.version, "duplicate_of": ref},
        content_type="application/json",
    )
    assert "duplicate_of" in _json_error(response)
    case.refresh_from_db()
    assert case.status == Status.REPORTED


@pytest.mark.parametrize("query", ["officer=²", "officer=١٢", "day=0001-01-01", "day=9999-12-31"])
def test_patrol_coverage_refuses_odd_officers_and_days_with_a_400_or_404(query):
    cast = make_cast()
    response = cast.client(cast.dispatcher).get(f"/api/patrol/coverage?{query}")
    assert response.status_code in (400, 404), response.content[:300]
    assert response.json()


def test_reports_for_the_year_one_are_a_clear_4xx():
    cast = make_cast()
    client = cast.client(cast.shift_leader)
    body = _json_error(
        client.post(
            "/api/reports/",
            {"kind": "weekly", "period": "0001-W01"},
            content_type="application/json",
        )
    )
    assert "period" in body
    for period in ("0001-W01", "9999-W52", "0001-01", "9999-Q4"):
        ext = "html" if period != "0001-01" else "pdf"
        kind = {"W": "weekly", "Q": "quarterly"}.get(period[5], "monthly")
        assert client.get(f"/api/reports/{kind}/{period}.{ext}").status_code == 404, period


def test_a_websocket_to_an_unknown_path_is_closed_not_crashed():
    from backend.asgi import application

    async def attempt():
        communicator = WebsocketCommunicator(
            application, "/ws/nothing-here/", headers=[(b"origin", b"http://testserver")]
        )
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(attempt)()
    assert connected is False and code == 4404


def test_an_empty_multipart_body_is_a_400_with_a_message():
    cast = make_cast()
    response = cast.client(cast.officer).post(
        "/api/cases/",
        b"",
        content_type="multipart/form-data; boundary=xyz",
        HTTP_IDEMPOTENCY_KEY="empty",
    )
    _json_error(response)


def test_a_body_over_the_limit_is_a_413_in_json(settings):
    cast = make_cast()
    big = json.dumps(
        {
            "category": cast.category.pk,
            "lon": IN_A[0],
            "lat": IN_A[1],
            "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10),
        }
    )
    response = cast.client(cast.officer).post(
        "/api/cases/", big, content_type="application/json", HTTP_IDEMPOTENCY_KEY="too-big"
    )
    assert "detail" in _json_error(response, 413)
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "field, value", [("lat", True), ("lon", False), ("lat", "31.3"), ("lon", [120.7])]
)
def test_coordinates_are_strictly_numbers(field, value):
    cast = make_cast()
    body = {"category": cast.category.pk, "lon": IN_A[0], "lat": IN_A[1], field: value}
    response = cast.client(cast.officer).post(
        "/api/cases/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    if value == "31.3":  # a numeric string is how forms send numbers: accepted
        assert response.status_code == 201, response.content
        return
    assert field in _json_error(response)
    assert not Case.objects.exists()


def test_a_date_filter_of_the_list_stays_a_200_at_the_ends():
    cast = make_cast()
    client = cast.client(cast.viewer)
    for day in (dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        assert client.get(f"/api/cases/?start={day}&end={day}").status_code == 200
        assert client.get(f"/api/cases/export.csv?start={day}").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/requests.json?service_request_id=%00",
        "/open311/v2/requests.json?service_request_id=ABC%00DEF&status=open",
        "/open311/v2/requests/A%00B.json",
        "/open311/v2/requests.xml?service_code=1%00",
    ],
)
def test_a_nul_in_an_open311_parameter_is_a_400_naming_it(url):
    """Found by the fuzzer on PostgreSQL (CI, 2026-12-03): a NUL in service_request_id reached the
    database, which refuses NUL in text parameters — a 500. SQLite quietly found nothing."""
    make_cast()
    response = Client().get(url)
    assert response.status_code == 400, response.content[:300]
    text = response.content.decode()
    assert "NUL" in text, text


@pytest.mark.parametrize(
    "url", ["/api/cases/?q=%00", "/api/cases/%00/", "/console/?q=a%00b", "/status/A%00"]
)
def test_a_nul_in_any_other_path_or_query_is_a_400_with_a_message(client, url):
    cast = make_cast()
    client.force_login(cast.shift_leader)
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code, response.content[:200])
    assert "NUL" in response.content.decode()
    if url.startswith("/api/"):
        assert response.json()["detail"]


@pytest.mark.parametrize(
    "field",
    [
        "api_key",
        "service_code",
        "jurisdiction_id",
        "email",
        "device_id",
        "account_id",
        "lat",
        "media_url",
    ],
)
def test_a_nul_in_an_open311_post_field_is_never_a_500(field):
    from open311.models import issue_key

    cast = make_cast()
    data = {
        "api_key": issue_key(name="fuzz")[1],
        "service_code": str(cast.category.pk),
        "lat": "31.3005",
        "long": "120.7005",
        "description": "占道",
        "email": "a@example.com",
    }
    data[field] = (data.get(field) or "v") + "\x00"
    response = Client().post("/open311/v2/requests.json", data)
    assert response.status_code < 500, response.content[:300]
