"""Open311 GeoReport v2 (/open311/v2/), tested from the spec's text as a third-party client would
use it: every resource in .json and .xml, the error format and codes, the filters of GET requests
and the common extensions, POST with api keys and repeats, and the end-to-end path of a public
report through the workflow; plus the public status page (/status/<number>)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.utils import timezone

from cases import workflow
from cases.models import Case, Source, Status
from open311.demo import DEMO_KEY, ensure_demo_key
from open311.models import ApiClient, Submission, issue_key
from tests.cast import IN_A, act, make_cast, path_to, photo_record, report
from tests.factories import make_admin_user, make_big_class, make_small_class, make_standard

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
SCHEMA = {
    "type": "object",
    "properties": {
        "area_m2": {"type": "number", "exclusiveMinimum": 0, "title": "面积（m²）"},
        "permanence": {
            "type": "string",
            "enum": ["permanent", "temporary"],
            "x-enumNames": ["永久", "临时"],
            "title": "永久/临时",
        },
        "materials": {"type": "array", "items": {"enum": ["steel", "brick"]}, "title": "材料"},
        "noticed_at": {"type": "string", "format": "date-time", "title": "发现时间"},
        "details": {"type": "string", "maxLength": 1000, "title": "详细情况"},
        "owner": {"type": "string", "maxLength": 50, "title": "业主"},
        "floors": {"type": "integer", "minimum": 1, "title": "层数"},
        "lit": {"type": "boolean", "title": "是否亮灯"},
    },
    "required": ["permanence", "area_m2"],
    "additionalProperties": False,
}
FAR = (120.900, 31.500)  # outside both test grids, ~25 km away


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cast():
    return make_cast()


@pytest.fixture
def api_key(cast) -> str:
    return issue_key(name="测试应用")[1]


@pytest.fixture
def schema_class(cast):
    return make_small_class(
        big_class=cast.category.big_class, name="违法建设", attribute_schema=SCHEMA
    )


# --- helpers ------------------------------------------------------------------------------------


def post(client, params: dict, fmt: str = "json", **extra):
    """A POST as the spec sends it: application/x-www-form-urlencoded."""
    return client.post(
        f"{BASE}/requests.{fmt}",
        urlencode(params, doseq=True),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        **extra,
    )


def report_params(cast, key: str, **overrides) -> dict:
    return {
        "api_key": key,
        "service_code": str(cast.category.pk),
        "lat": IN_A[1],
        "long": IN_A[0],
        "description": "人行道上私搭乱建彩钢棚",
        **overrides,
    }


def schema_params(cast, key: str, schema_class, **overrides) -> dict:
    return report_params(
        cast,
        key,
        service_code=str(schema_class.pk),
        **{"attribute[area_m2]": "12.5", "attribute[permanence]": "temporary", **overrides},
    )


def xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def as_json(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def errors(response) -> list[dict]:
    """The error list in either format, as dicts of strings."""
    if response["Content-Type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        return [{child.tag: child.text for child in error} for error in root.findall("error")]
    return as_json(response)


def assert_error(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.content
    found = errors(response)
    assert found and all(e["code"] == str(status) for e in found), found
    text = " ".join(e["description"] for e in found)
    for word in words:
        assert word in text, (word, text)


def public_case(
    cast,
    status: str = Status.REPORTED,
    *,
    at: dt.datetime | None = None,
    category=None,
    lonlat=IN_A,
    **fields,
) -> Case:
    """A public report (reporter None, source public) driven through the real workflow to `status`."""
    case = workflow.report_case(
        workflow.Report(
            category=category or cast.category,
            source=Source.PUBLIC,
            lon=lonlat[0],
            lat=lonlat[1],
            **fields,
        ),
        reporter=None,
        now=at,
    )
    for action, actor, inputs in path_to(cast, status):
        if action == "merge":
            inputs = {"duplicate_of": report(cast)}
        case = act(case, action, actor, **inputs)
    return case


def verified_to_handling(cast) -> list[tuple[str, object, dict]]:
    """docs/domain.md §4 for a public report: verified on site first, then accepted, registered, dispatched."""
    return [
        ("send_verify", cast.acceptor, {}),
        ("verify", cast.officer, {"outcome": "confirmed"}),
        ("accept", cast.acceptor, {}),
        ("register", cast.shift_leader, {}),
        ("dispatch", cast.dispatcher, {"unit": cast.unit}),
    ]


def get_requests(client, fmt: str = "json", **params):
    return client.get(f"{BASE}/requests.{fmt}", params)


def numbers(response) -> list[str]:
    return [r["service_request_id"] for r in as_json(response)]


# --- discovery and services ---------------------------------------------------------------------


def test_discovery_names_the_v2_endpoint_and_both_formats(client):
    body = as_json(client.get(f"{BASE}/discovery.json"))
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert (
        endpoint["formats"] == ["text/xml", "application/json"] and endpoint["type"] == "production"
    )
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"


def test_services_are_the_available_small_classes_with_string_codes(client, cast, schema_class):
    retired = make_small_class(big_class=cast.category.big_class, name="已停用", active=False)
    elsewhere = make_small_class(
        big_class=make_big_class(standard=make_standard()), name="别的标准"
    )
    body = as_json(client.get(f"{BASE}/services.json"))
    by_code = {s["service_code"]: s for s in body}
    assert set(by_code) == {str(cast.category.pk), str(schema_class.pk)}
    assert str(retired.pk) not in by_code and str(elsewhere.pk) not in by_code
    plain, rich = by_code[str(cast.category.pk)], by_code[str(schema_class.pk)]
    assert plain == {
        "service_code": str(cast.category.pk),
        "service_name": "私搭乱建",
        "description": plain["description"],
        "metadata": False,
        "type": "realtime",
        "keywords": plain["keywords"],
        "group": "测试大类",
    }
    assert rich["metadata"] is True and rich["keywords"].startswith(schema_class.code)
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == 2
    service = next(
        s for s in root.findall("service") if s.findtext("service_code") == str(schema_class.pk)
    )
    assert service.findtext("metadata") == "true" and service.findtext("type") == "realtime"
    assert (
        service.findtext("group") == "测试大类" and service.findtext("service_name") == "违法建设"
    )


def test_a_service_definition_is_derived_from_the_attribute_schema(client, schema_class):
    body = as_json(client.get(f"{BASE}/services/{schema_class.pk}.json"))
    assert body["service_code"] == str(schema_class.pk)
    attributes = {a["code"]: a for a in body["attributes"]}
    assert [a["code"] for a in body["attributes"]] == [
        "area_m2",
        "permanence",
        "details",
        "floors",
        "lit",
        "materials",
        "noticed_at",
        "owner",
    ]
    assert [a["order"] for a in body["attributes"]] == list(range(1, 9))
    assert {code: a["datatype"] for code, a in attributes.items()} == {
        "area_m2": "number",
        "permanence": "singlevaluelist",
        "materials": "multivaluelist",
        "noticed_at": "datetime",
        "details": "text",
        "owner": "string",
        "floors": "number",
        "lit": "singlevaluelist",
    }
    assert attributes["area_m2"]["required"] is True and attributes["owner"]["required"] is False
    assert (
        attributes["area_m2"]["description"] == "面积（m²）"
        and attributes["area_m2"]["variable"] is True
    )
    assert attributes["area_m2"]["datatype_description"] == "number > 0"
    assert attributes["permanence"]["values"] == [
        {"key": "permanent", "name": "永久"},
        {"key": "temporary", "name": "临时"},
    ]
    assert [v["key"] for v in attributes["materials"]["values"]] == ["steel", "brick"]
    assert [v["key"] for v in attributes["lit"]["values"]] == ["true", "false"]
    assert "values" not in attributes["owner"]


def test_a_service_definition_in_xml_and_unknown_codes_are_404_in_both_formats(
    client, cast, schema_class
):
    root = xml(client.get(f"{BASE}/services/{schema_class.pk}.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == str(
        schema_class.pk
    )
    permanence = next(
        a for a in root.findall("attributes/attribute") if a.findtext("code") == "permanence"
    )
    assert permanence.findtext("required") == "true" and permanence.findtext("order") == "2"
    assert [v.findtext("key") for v in permanence.findall("values/value")] == [
        "permanent",
        "temporary",
    ]
    plain = as_json(client.get(f"{BASE}/services/{cast.category.pk}.json"))
    assert plain == {"service_code": str(cast.category.pk), "attributes": []}
    retired = make_small_class(big_class=cast.category.big_class, active=False)
    for code in ("999999", "abc", str(retired.pk)):
        assert_error(client.get(f"{BASE}/services/{code}.json"), 404, "service_code")
        assert_error(client.get(f"{BASE}/services/{code}.xml"), 404, "service_code")


# --- POST requests ------------------------------------------------------------------------------


def test_a_post_makes_a_public_report_waiting_for_the_acceptor(
    client, cast, api_key, schema_class, monkeypatch
):
    def no_network(*args, **kwargs):
        raise AssertionError("media_url must never be fetched")

    monkeypatch.setattr(socket, "create_connection", no_network)
    response = post(
        client,
        schema_params(
            cast,
            api_key,
            schema_class,
            email="li.lei@example.cn",
            phone="13800000000",
            first_name="雷",
            last_name="李",
            device_id="dev-1",
            account_id="acc-9",
            address_string="星湖街 328 号",
            media_url=["https://img.example.cn/1.jpg", "https://img.example.cn/2.jpg"],
            **{
                "attribute[materials][]": ["steel", "brick"],
                "attribute[noticed_at]": "2026-11-28T09:30:00Z",
                "attribute[floors]": "2",
                "attribute[lit]": "false",
                "attribute[unknown]": "ignored",
            },
        ),
    )
    assert response.status_code == 200, response.content
    [body] = as_json(response)
    assert set(body) == {"service_request_id", "service_notice", "account_id"}
    assert isinstance(body["service_request_id"], str) and re.fullmatch(
        r"\d{13}", body["service_request_id"]
    )
    assert (
        body["account_id"] == "acc-9"
        and f"/status/{body['service_request_id']}" in body["service_notice"]
    )
    case = Case.objects.get(number=body["service_request_id"])
    assert (case.source, case.status, case.reporter, case.grid) == (
        Source.PUBLIC,
        Status.REPORTED,
        None,
        cast.grid,
    )
    assert case.address == "星湖街 328 号" and case.description == "人行道上私搭乱建彩钢棚"
    assert case.attributes == {
        "area_m2": 12.5,
        "permanence": "temporary",
        "materials": ["steel", "brick"],
        "noticed_at": "2026-11-28T17:30:00+08:00",
        "floors": 2,
        "lit": False,
    }
    assert case.reporter_contact == {
        "email": "li.lei@example.cn",
        "phone": "13800000000",
        "first_name": "雷",
        "last_name": "李",
        "device_id": "dev-1",
        "account_id": "acc-9",
        "via": "测试应用",
        "media_url": "https://img.example.cn/1.jpg https://img.example.cn/2.jpg",
    }
    [event] = case.events.all()
    assert (event.action, event.actor, event.actor_role, event.to_status) == (
        "report",
        None,
        "public",
        "reported",
    )
    submission = Submission.objects.get(case=case)
    assert submission.media_urls == ["https://img.example.cn/1.jpg", "https://img.example.cn/2.jpg"]


def test_a_post_to_requests_xml_answers_in_xml(client, cast, api_key):
    root = xml(post(client, report_params(cast, api_key), fmt="xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert re.fullmatch(r"\d{13}", request.findtext("service_request_id"))
    assert request.find("account_id") is not None and request.findtext("account_id") == ""
    assert request.find("token") is None  # realtime: the id, never a token as well


def test_multipart_posts_work_too(client, cast, api_key):
    response = client.post(f"{BASE}/requests.json", report_params(cast, api_key))
    assert response.status_code == 200 and Case.objects.filter(source=Source.PUBLIC).count() == 1


def test_a_missing_unknown_or_revoked_api_key_is_403_in_both_formats(client, cast, api_key):
    for fmt in ("json", "xml"):
        assert_error(post(client, report_params(cast, ""), fmt=fmt), 403, "api_key")
        assert_error(post(client, report_params(cast, "not-a-key"), fmt=fmt), 403, "api_key")
    ApiClient.objects.get().revoke()
    for fmt in ("json", "xml"):
        assert_error(post(client, report_params(cast, api_key), fmt=fmt), 403, "api_key", "revoked")
    assert not Case.objects.exists()


def test_the_api_key_is_stored_only_as_a_hash(api_key):
    client = ApiClient.objects.get()
    assert api_key not in (client.key_hash, client.key_prefix) and len(api_key) >= 40
    assert ApiClient.objects.for_key(api_key) == client and client.key_prefix == api_key[:8]


def test_a_bad_location_is_400_naming_the_field(client, cast, api_key):
    assert_error(post(client, report_params(cast, api_key, lat="abc")), 400, "lat:")
    assert_error(post(client, report_params(cast, api_key, lat="95")), 400, "lat:")
    assert_error(post(client, report_params(cast, api_key, long="181"), fmt="xml"), 400, "long:")
    assert_error(
        post(client, report_params(cast, api_key, long="")), 400, "long: required with lat"
    )
    assert_error(
        post(client, report_params(cast, api_key, lat="", long="")),
        400,
        "address_string",
        "address_id",
    )
    assert not Case.objects.exists()


def test_address_string_or_address_id_is_location_enough(client, cast, api_key):
    by_address = post(
        client, report_params(cast, api_key, lat="", long="", address_string="金鸡湖大道 1 号")
    )
    by_id = post(client, report_params(cast, api_key, lat="", long="", address_id="A-1001"))
    first, second = (
        Case.objects.get(number=as_json(r)[0]["service_request_id"]) for r in (by_address, by_id)
    )
    assert (first.address, first.lon, first.outside_grid) == ("金鸡湖大道 1 号", None, True)
    assert second.address == "address_id A-1001"
    [shown] = as_json(client.get(f"{BASE}/requests/{second.number}.json"))
    assert shown["address_id"] == "A-1001" and shown["lat"] is None


def test_attributes_are_required_converted_and_checked(client, cast, api_key, schema_class):
    missing = post(client, schema_params(cast, api_key, schema_class, **{"attribute[area_m2]": ""}))
    assert_error(missing, 400, "attribute[area_m2]: required")
    assert_error(
        post(
            client,
            schema_params(cast, api_key, schema_class, **{"attribute[permanence]": "forever"}),
        ),
        400,
        "attribute[permanence]",
        "permanent, temporary",
    )
    assert_error(
        post(client, schema_params(cast, api_key, schema_class, **{"attribute[area_m2]": "-3"})),
        400,
        "attribute[area_m2]",
    )
    assert_error(
        post(client, schema_params(cast, api_key, schema_class, **{"attribute[area_m2]": "lots"})),
        400,
        "attribute[area_m2]",
        "not a number",
    )
    assert_error(
        post(client, schema_params(cast, api_key, schema_class, **{"attribute[floors]": "1.5"})),
        400,
        "attribute[floors]",
        "whole number",
    )
    assert_error(
        post(
            client,
            schema_params(cast, api_key, schema_class, **{"attribute[materials][]": ["gold"]}),
        ),
        400,
        "attribute[materials]",
    )
    assert_error(
        post(
            client,
            schema_params(cast, api_key, schema_class, **{"attribute[noticed_at]": "yesterday"}),
        ),
        400,
        "attribute[noticed_at]",
    )
    both = post(
        client,
        schema_params(cast, api_key, schema_class, lat="x", **{"attribute[area_m2]": ""}),
        fmt="xml",
    )
    assert_error(both, 400, "lat:", "attribute[area_m2]")  # every problem at once
    assert len(errors(both)) == 2 and not Case.objects.exists()


def test_service_code_and_description_are_checked(client, cast, api_key):
    assert_error(post(client, report_params(cast, api_key, service_code="")), 400, "service_code")
    assert_error(
        post(client, report_params(cast, api_key, service_code="424242")), 404, "service_code"
    )
    assert_error(
        post(client, report_params(cast, api_key, description="很" * 4001)),
        400,
        "description",
        "4000",
    )
    assert post(client, report_params(cast, api_key, description="很" * 4000)).status_code == 200


def test_an_identical_post_within_the_window_is_the_same_request(client, cast, api_key):
    first = post(client, report_params(cast, api_key))
    again = post(client, report_params(cast, api_key), fmt="xml")
    assert again["Idempotent-Replayed"] == "true"
    assert (
        xml(again).findtext("request/service_request_id") == as_json(first)[0]["service_request_id"]
    )
    assert Case.objects.count() == 1
    other = post(client, report_params(cast, api_key, description="另一处"))
    assert as_json(other)[0]["service_request_id"] != as_json(first)[0]["service_request_id"]
    Submission.objects.update(received_at=timezone.now() - dt.timedelta(hours=25))
    later = post(client, report_params(cast, api_key))
    assert as_json(later)[0]["service_request_id"] != as_json(first)[0]["service_request_id"]
    assert Case.objects.count() == 3


def test_repeats_are_per_client(client, cast, api_key):
    other_key = issue_key(name="另一个应用")[1]
    post(client, report_params(cast, api_key))
    post(client, report_params(cast, other_key))
    assert Case.objects.count() == 2


def test_an_idempotency_key_header_decides_and_refuses_other_parameters(client, cast, api_key):
    first = post(client, report_params(cast, api_key), HTTP_IDEMPOTENCY_KEY="k-1")
    Submission.objects.update(received_at=timezone.now() - dt.timedelta(days=30))
    again = post(client, report_params(cast, api_key), HTTP_IDEMPOTENCY_KEY="k-1")
    assert numbers(again) == numbers(first)
    assert_error(
        post(client, report_params(cast, api_key, description="改了"), HTTP_IDEMPOTENCY_KEY="k-1"),
        400,
        "Idempotency-Key",
    )
    fresh = post(client, report_params(cast, api_key), HTTP_IDEMPOTENCY_KEY="k-2")
    assert numbers(fresh) != numbers(first) and Case.objects.count() == 2


def _post_form(url: str, params: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=urlencode(params).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_identical_posts_make_one_case(live_server):
    cast = make_cast()
    key = issue_key(name="并发")[1]
    barrier = threading.Barrier(10)
    results: list = [None] * 10

    def run(i: int) -> None:
        barrier.wait()
        results[i] = _post_form(f"{live_server.url}{BASE}/requests.json", report_params(cast, key))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {code for code, _ in results} == {200}, results
    assert len({json.loads(body)[0]["service_request_id"] for _, body in results}) == 1
    assert Case.objects.count() == 1 and Submission.objects.count() == 1


def test_posts_are_rate_limited_per_key(client, cast, api_key, settings):
    settings.OPEN311_RATES = {**settings.OPEN311_RATES, "post": "2/min"}
    assert post(client, report_params(cast, api_key, description="一")).status_code == 200
    assert post(client, report_params(cast, api_key, description="二")).status_code == 200
    limited = post(client, report_params(cast, api_key, description="三"), fmt="xml")
    assert_error(limited, 429, "Too many requests")
    assert int(limited["Retry-After"]) > 0
    assert post(client, report_params(cast, issue_key(name="别人")[1])).status_code == 200


def test_text_is_escaped_in_xml_and_control_characters_are_dropped(client, cast, api_key):
    post(client, report_params(cast, api_key, description="<b>占道</b> & 乱堆\x00\x07\n第二行"))
    case = Case.objects.get()
    assert case.description == "<b>占道</b> & 乱堆\n第二行"
    root = xml(client.get(f"{BASE}/requests/{case.number}.xml"))
    assert root.findtext("request/description") == "<b>占道</b> & 乱堆\n第二行"


# --- GET requests -------------------------------------------------------------------------------


def test_empty_and_absent_optional_parameters_give_the_same_answer(client, cast):
    public_case(cast)
    public_case(cast, Status.CLOSED)
    empty = {
        name: ""
        for name in (
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
            "page",
            "page_size",
            "updated_after",
            "updated_before",
            "lat",
            "long",
            "radius",
            "bbox",
            "jurisdiction_id",
        )
    }
    for fmt in ("json", "xml"):
        absent = get_requests(client, fmt)
        assert absent.status_code == 200
        assert get_requests(client, fmt, **empty).content == absent.content
        assert (
            client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": ""}).content
            == client.get(f"{BASE}/services.{fmt}").content
        )
    assert len(as_json(get_requests(client))) == 2


def test_ids_are_strings_and_datetimes_carry_the_offset(client, cast):
    case = public_case(cast, Status.HANDLING)
    [body] = as_json(get_requests(client))
    assert body["service_request_id"] == case.number and body["service_code"] == str(
        cast.category.pk
    )
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(body[name]), (name, body[name])
    assert body["status"] == "open" and body["status_notes"] == "处置中 / being handled by 执法大队"
    assert body["agency_responsible"] == "执法大队" and body["service_name"] == "私搭乱建"
    assert (body["lat"], body["long"]) == (IN_A[1], IN_A[0])
    assert body["service_notice"] == "处置时限 1 工作日 / disposal time limit: 1 working day"
    request = xml(get_requests(client, "xml")).find("request")
    assert request.findtext("service_request_id") == case.number
    assert all(W3C.match(request.findtext(n)) for n in ("requested_datetime", "updated_datetime"))
    assert (
        request.findtext("description") == "" and body["description"] is None
    )  # empty: null / <description/>


def test_only_public_reports_are_service_requests(client, cast):
    internal = report(cast)
    assert as_json(get_requests(client)) == []
    assert_error(client.get(f"{BASE}/requests/{internal.number}.json"), 404, "service_request_id")
    assert client.get(f"/status/{internal.number}").status_code == 404


def test_requests_default_to_the_most_recent_90_days(client, cast):
    recent = public_case(cast, at=timezone.now() - dt.timedelta(days=89))
    old = public_case(cast, at=timezone.now() - dt.timedelta(days=91))
    assert numbers(get_requests(client)) == [recent.number]
    old_day = timezone.localdate(old.reported_at)
    assert numbers(
        get_requests(client, start_date=old_day.isoformat(), end_date=old_day.isoformat())
    ) == [old.number]
    assert numbers(
        get_requests(client, end_date=(old.reported_at + dt.timedelta(days=1)).isoformat())
    ) == [old.number]
    assert numbers(
        get_requests(client, start_date=(old.reported_at - dt.timedelta(days=1)).isoformat())
    ) == [recent.number, old.number]


def test_start_and_end_date_are_checked(client, cast):
    public_case(cast)
    assert_error(
        get_requests(client, start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z"),
        400,
        "start_date",
        "90 days",
    )
    assert_error(
        get_requests(client, "xml", start_date="2026-03-01", end_date="2026-02-01"), 400, "end_date"
    )
    assert_error(get_requests(client, start_date="last tuesday"), 400, "start_date")
    moment = timezone.now()
    window = {
        "start_date": (moment - dt.timedelta(hours=1)).isoformat(),
        "end_date": moment.isoformat(),
    }
    assert len(as_json(get_requests(client, **window))) == 1
    utc = {
        "start_date": (moment - dt.timedelta(hours=1))
        .astimezone(dt.UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    }
    assert len(as_json(get_requests(client, **utc))) == 1


def test_the_status_filter_maps_our_states_to_open_and_closed(client, cast):
    open_ones = [
        public_case(cast, s)
        for s in (
            Status.REPORTED,
            Status.VERIFYING,
            Status.HANDLING,
            Status.SUSPENDED,
            Status.CLOSING,
        )
    ]
    closed_ones = [
        public_case(cast, s) for s in (Status.CLOSED, Status.REJECTED, Status.VOIDED, Status.MERGED)
    ]
    assert set(numbers(get_requests(client, status="open"))) == {c.number for c in open_ones}
    assert set(numbers(get_requests(client, status="closed"))) == {c.number for c in closed_ones}
    assert len(numbers(get_requests(client, status="open,closed"))) == 9
    assert len(numbers(get_requests(client, status=["open", "closed"]))) == 9
    assert_error(get_requests(client, status="pending"), 400, "status")
    notes = {r["service_request_id"]: r["status_notes"] for r in as_json(get_requests(client))}
    merged = closed_ones[-1]
    merged.refresh_from_db()
    assert notes[merged.number] == f"已合并 / merged into request {merged.duplicate_of.number}"
    assert notes[closed_ones[1].number] == "不予受理 / not accepted for handling"


def test_service_request_id_overrides_every_other_argument(client, cast):
    old_closed = public_case(cast, Status.CLOSED, at=timezone.now() - dt.timedelta(days=200))
    fresh = public_case(cast)
    asked = f"{fresh.number},99999999999999,{old_closed.number}"
    response = get_requests(
        client,
        service_request_id=asked,
        status="open",
        service_code="1",
        start_date="2020-01-01",
        end_date="2020-01-02",
        page_size="1",
        page="7",
        bbox="garbage",
    )
    assert numbers(response) == [fresh.number, old_closed.number]


def test_service_code_filter_takes_a_list(client, cast, schema_class):
    plain = public_case(cast)
    rich = public_case(
        cast, category=schema_class, attributes={"area_m2": 3, "permanence": "permanent"}
    )
    assert numbers(get_requests(client, service_code=str(schema_class.pk))) == [rich.number]
    assert set(
        numbers(get_requests(client, service_code=f"{cast.category.pk},{schema_class.pk}"))
    ) == {plain.number, rich.number}
    assert numbers(get_requests(client, service_code="424242")) == []
    assert_error(get_requests(client, service_code="abc"), 400, "service_code")


def test_page_and_page_size_walk_every_request_once(client, cast):
    made = [public_case(cast).number for _ in range(5)]
    seen, page, pages = [], 1, 0
    while True:
        response = get_requests(client, page_size="2", page=str(page))
        seen += numbers(response)
        pages += 1
        if "Link" not in response:
            break
        assert 'rel="next"' in response["Link"] and f"page={page + 1}" in response["Link"]
        page += 1
    assert pages == 3 and seen == list(reversed(made))
    assert_error(get_requests(client, page_size="1001"), 400, "page_size")
    assert_error(get_requests(client, page="0"), 400, "page")


def test_updated_after_and_before_filter_updated_datetime(client, cast):
    stale = public_case(cast, at=timezone.now() - dt.timedelta(days=120))
    touched = public_case(cast, at=timezone.now() - dt.timedelta(days=120))
    Case.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - dt.timedelta(days=100))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    # Given alone, updated_after moves the default window to updated_datetime: old reports updated lately.
    assert numbers(get_requests(client, updated_after=since)) == [touched.number]
    before = (timezone.now() - dt.timedelta(days=99)).isoformat()
    assert numbers(get_requests(client, updated_before=before)) == [stale.number]
    assert_error(get_requests(client, updated_after="soon"), 400, "updated_after")


def test_lat_long_radius_and_bbox_select_nearby_requests(client, cast):
    here = public_case(cast)
    far = public_case(cast, lonlat=FAR)
    near = {"lat": IN_A[1], "long": IN_A[0]}
    assert numbers(get_requests(client, **near, radius="200")) == [here.number]
    assert numbers(get_requests(client, lat=FAR[1], long=FAR[0])) == [
        far.number
    ]  # default radius 1000 m
    assert set(numbers(get_requests(client, **near, radius="50000"))) == {here.number, far.number}
    # ~55 m east of the point: outside a 50 m radius, inside a 60 m one.
    east = {"lat": IN_A[1], "long": IN_A[0] + 55 / (111_320 * 0.8549)}
    assert numbers(get_requests(client, **east, radius="50")) == []
    assert numbers(get_requests(client, **east, radius="60")) == [here.number]
    assert numbers(get_requests(client, bbox="120.6,31.2,120.8,31.4")) == [here.number]
    assert_error(get_requests(client, bbox="1,2,3"), 400, "bbox")
    assert_error(get_requests(client, lat="31.3"), 400, "long: required")
    assert_error(get_requests(client, lat="91", long="120"), 400, "lat:")


def test_one_request_in_json_and_xml_and_unknown_ids_are_404(client, cast):
    case = public_case(cast, Status.CLOSED)
    [body] = as_json(client.get(f"{BASE}/requests/{case.number}.json"))
    assert body["service_request_id"] == case.number and body["status"] == "closed"
    assert body["status_notes"] == "已结案 / resolved and closed"
    root = xml(client.get(f"{BASE}/requests/{case.number}.xml"))
    assert root.tag == "service_requests" and root.findtext("request/status") == "closed"
    assert root.find("request/expected_datetime").text == body["expected_datetime"]
    for fmt in ("json", "xml"):
        assert_error(client.get(f"{BASE}/requests/2026010199999.{fmt}"), 404, "service_request_id")


def test_contact_data_never_leaves_through_get(client, cast, api_key):
    post(
        client,
        report_params(
            cast,
            api_key,
            email="li.lei@example.cn",
            phone="13800000000",
            first_name="雷",
            device_id="dev-secret",
            account_id="acc-secret",
        ),
    )
    for fmt in ("json", "xml"):
        content = get_requests(client, fmt).content.decode()
        for secret in (
            "li.lei@example.cn",
            "13800000000",
            "雷",
            "dev-secret",
            "acc-secret",
            "测试应用",
        ):
            assert secret not in content


def test_a_token_resolves_to_its_request(client, cast, api_key):
    post(client, report_params(cast, api_key))
    submission = Submission.objects.select_related("case").get()
    [body] = as_json(client.get(f"{BASE}/tokens/{submission.token}.json"))
    assert body == {"service_request_id": submission.case.number, "token": submission.token}
    root = xml(client.get(f"{BASE}/tokens/{submission.token}.xml"))
    assert root.findtext("request/service_request_id") == submission.case.number
    assert_error(client.get(f"{BASE}/tokens/nope.xml"), 404, "token")


def test_media_url_is_the_public_photo_copy_or_else_the_submitted_url(client, cast, api_key):
    post(client, report_params(cast, api_key, media_url="https://img.example.cn/a.jpg"))
    with_photo = public_case(cast, photos=[photo_record()], description="带照片")
    answers = {r["service_request_id"]: r["media_url"] for r in as_json(get_requests(client))}
    submitted = Case.objects.exclude(pk=with_photo.pk).get().number
    assert answers[submitted] == "https://img.example.cn/a.jpg"
    photo = with_photo.photos.get()
    assert answers[with_photo.number] == f"http://testserver{BASE}/photos/{photo.pk}.jpg"
    served = client.get(f"{BASE}/photos/{photo.pk}.jpg")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    content = b"".join(served.streaming_content)
    assert content[:2] == b"\xff\xd8" and b"Exif" not in content
    internal_photo = report(cast, photos=[photo_record()]).photos.get()
    assert client.get(f"{BASE}/photos/{internal_photo.pk}.jpg").status_code == 404


# --- errors and formats -------------------------------------------------------------------------


def test_unknown_resources_formats_and_methods_answer_in_the_error_format(client):
    assert_error(client.get(f"{BASE}/nothing.json"), 404, "nothing.json")
    assert_error(client.get(f"{BASE}/nothing.xml"), 404)
    assert_error(client.get(f"{BASE}/services.csv"), 400, "format")  # in XML, the required format
    assert_error(client.get(f"{BASE}/services"), 404, ".xml or .json")
    response = client.put(f"{BASE}/requests.json")
    assert_error(response, 405, "PUT")
    assert response["Allow"] == "GET, POST"
    assert_error(client.post(f"{BASE}/services.xml"), 405)


def test_a_configured_jurisdiction_refuses_another_one(client, settings):
    settings.OPEN311_JURISDICTION_ID = "sipac.gov.cn"
    assert (
        client.get(f"{BASE}/services.json", {"jurisdiction_id": "sipac.gov.cn"}).status_code == 200
    )
    assert client.get(f"{BASE}/services.json").status_code == 200
    assert_error(
        client.get(f"{BASE}/services.xml", {"jurisdiction_id": "sf.gov"}), 404, "jurisdiction_id"
    )


def test_reads_are_rate_limited_per_address(client, settings):
    settings.OPEN311_RATES = {**settings.OPEN311_RATES, "read": "3/min"}
    for _ in range(3):
        assert client.get(f"{BASE}/services.json").status_code == 200
    assert_error(client.get(f"{BASE}/services.json"), 429)


# --- end to end ---------------------------------------------------------------------------------


def test_a_public_report_goes_through_the_whole_workflow_and_its_status_follows(
    client, cast, api_key
):
    number = as_json(post(client, report_params(cast, api_key, email="li.lei@example.cn")))[0][
        "service_request_id"
    ]
    queue = cast.client(cast.acceptor).get("/api/cases/", {"status": "reported"}).json()["results"]
    [row] = [r for r in queue if r["number"] == number]
    assert row["source"] == "public" and row["grid"]["code"] == cast.grid.code
    case = Case.objects.get(number=number)
    steps = verified_to_handling(cast)
    case = act(case, "send_verify", cast.acceptor)
    assert (
        as_json(client.get(f"{BASE}/requests/{number}.json"))[0]["status_notes"]
        == "待核实 / a grid officer is verifying it on site"
    )
    for action, actor, inputs in steps[1:]:
        case = act(case, action, actor, **inputs)
    [handling] = as_json(client.get(f"{BASE}/requests/{number}.json"))
    assert (handling["status"], handling["agency_responsible"]) == ("open", "执法大队")
    assert handling["status_notes"] == "处置中 / being handled by 执法大队" and W3C.match(
        handling["expected_datetime"]
    )
    case = act(case, "feedback", cast.unit_member, photos=[photo_record()])
    case = act(case, "check", cast.officer, outcome="pass", photos=[photo_record()])
    case = act(case, "close", cast.shift_leader)
    [closed] = as_json(client.get(f"{BASE}/requests/{number}.json"))
    assert closed["status"] == "closed" and closed["status_notes"] == "已结案 / resolved and closed"
    assert closed["updated_datetime"] >= handling["updated_datetime"]
    assert numbers(get_requests(client, status="closed")) == [number]
    assert numbers(get_requests(client, status="open")) == []


# --- the public status page ---------------------------------------------------------------------


def test_the_status_page_shows_public_steps_and_no_contact_data(client, cast, api_key):
    number = as_json(
        post(
            client,
            report_params(
                cast,
                api_key,
                email="li.lei@example.cn",
                phone="13800000000",
                first_name="雷",
                last_name="李",
                media_url="https://img.example.cn/private.jpg",
            ),
        )
    )[0]["service_request_id"]
    case = Case.objects.get(number=number)
    for action, actor, inputs in verified_to_handling(cast):
        case = act(case, action, actor, **inputs)
    page = client.get(f"/status/{number}")
    assert page.status_code == 200
    html = page.content.decode()
    for shown in (
        number,
        "私搭乱建",
        "处置中",
        "执法大队正在处置",
        "收到上报",
        "派网格监督员现场核实",
        "现场核实属实",
        "已受理",
        "已立案",
        "派遣至执法大队",
        "预计办结",
        timezone.localtime(case.deadline).strftime("%Y年%-m月%-d日"),
    ):
        assert shown in html, shown
    for hidden in (
        "li.lei@example.cn",
        "13800000000",
        "雷",
        "李",
        "测试应用",
        "private.jpg",
        "acceptor",
        "officer",
        "dispatcher",
        "shiftleader",
    ):
        assert hidden not in html, hidden
    assert 'href="/static/open311/status.css"' in html and "gc-card" in html


def test_the_status_page_shows_only_the_public_copy_of_the_report_photo(client, cast):
    case = public_case(cast, Status.HANDLING, photos=[photo_record()])
    html = client.get(f"/status/{case.number}").content.decode()
    photo = case.photos.get()
    assert (
        f"{BASE}/photos/{photo.pk}.jpg" in html
        and photo.original not in html
        and photo.public not in html
    )
    assert client.get("/status/2026010199999").status_code == 404


def test_a_rejected_report_is_withdrawn_but_its_status_stays_visible(client, cast):
    rejected = public_case(
        cast, Status.REJECTED, photos=[photo_record()], description="隔壁张三家违建"
    )
    photo = rejected.photos.get()
    [body] = as_json(client.get(f"{BASE}/requests/{rejected.number}.json"))
    assert (body["status"], body["description"], body["media_url"]) == ("closed", None, None)
    assert client.get(f"{BASE}/photos/{photo.pk}.jpg").status_code == 404
    html = client.get(f"/status/{rejected.number}").content.decode()
    assert "不予受理" in html and "不属实" not in html  # the acceptor's reason stays internal
    assert "张三" not in html and f"photos/{photo.pk}" not in html


# --- keys: demo and admin -----------------------------------------------------------------------


def test_the_demo_key_exists_only_in_demo_mode(client, cast, settings):
    settings.DEMO = False
    assert ensure_demo_key() is None and not ApiClient.objects.exists()
    settings.DEMO = True
    first = ensure_demo_key()
    first.revoke()
    again = ensure_demo_key()
    assert again.pk == first.pk and again.active and ApiClient.objects.count() == 1
    assert post(client, report_params(cast, DEMO_KEY)).status_code == 200


def test_an_administrator_issues_a_key_once_and_revokes_it(client, cast):
    admin = make_admin_user()
    client.force_login(admin)
    response = client.post(
        "/admin/open311/apiclient/add/",
        {"name": "市民通", "contact": "ops@example.cn"},
        follow=True,
    )
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "API key" in str(m)]
    key = re.search(r" is (\S+) — ", message)[1]
    api = ApiClient.objects.get(name="市民通")
    assert ApiClient.objects.for_key(key) == api and key not in api.key_hash
    assert key not in client.get(f"/admin/open311/apiclient/{api.pk}/change/").content.decode()
    anonymous = type(client)()
    assert post(anonymous, report_params(cast, key)).status_code == 200
    client.post("/admin/open311/apiclient/", {"action": "revoke", "_selected_action": [api.pk]})
    api.refresh_from_db()
    assert not api.active and api.revoked_at is not None
    assert_error(post(anonymous, report_params(cast, key, description="再报")), 403, "api_key")
