"""Bring your own city (docs/onboarding.md), step by step, on a second small city made for the test:
grids from a Shapefile in CGCS2000 Gauss-Krüger, the directory workbook, the calendar, the category
standard, then the first case filed and dispatched through the API."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely
from django.core.management import call_command
from django.test import Client
from openpyxl import Workbook

from cases.models import AutoDispatch, CaseStandard, SmallClass
from grids.models import Grid
from worktime.models import WorkingDay

pytestmark = pytest.mark.django_db
# 合肥市瑶海区 (district 340102), one street, two communities of two 100 m × 100 m grids each.
GK_117 = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
STREET, EAST, WEST = "340102001", "340102001001", "340102001002"
ORIGIN = (117.300, 31.860)  # lon, lat of the south-west corner


def shapefile(folder: Path) -> Path:
    """The city's grid layer as a surveying office hands it over: a Shapefile in Gauss-Krüger metres."""
    x0, y0 = pyproj.Transformer.from_crs("EPSG:4490", GK_117, always_xy=True).transform(*ORIGIN)
    rows = []
    for i, (community, name) in enumerate(
        [(EAST, "东社区"), (EAST, "东社区"), (WEST, "西社区"), (WEST, "西社区")]
    ):
        serial = f"{i % 2 + 1:03d}"
        # Field names as surveying offices write them (a Shapefile keeps 10 characters): 网格编码 wgbm,
        # 网格名称 wgmc, 社区名称 sqmc, 街道名称 jdmc.
        rows.append(
            {
                "wgbm": community + serial,
                "wgmc": f"{name}网格{serial}",
                "sqmc": name,
                "jdmc": "测试街道",
                "geometry": shapely.box(x0 + 100 * i, y0, x0 + 100 * (i + 1), y0 + 100),
            }
        )
    target = folder / "grids"
    target.mkdir()
    gpd.GeoDataFrame(rows, crs=GK_117).to_file(
        target / "grids.shp", driver="ESRI Shapefile", encoding="utf-8"
    )
    return target


def centre_of(code: str) -> tuple[float, float]:
    grid = Grid.objects.get(code=code)
    return (grid.min_lon + grid.max_lon) / 2, (grid.min_lat + grid.max_lat) / 2


def directory_workbook(path: Path) -> Path:
    sheets = {
        "组织": [
            ["编码", "名称", "类型", "所属区域", "电话"],
            ["yh-centre", "瑶海区城市管理监督指挥中心", "监督中心", "340102", ""],
            ["yh-water", "瑶海区供水公司", "处置单位", "", ""],
            ["yh-street", "测试街道办事处", "处置单位", STREET, ""],
        ],
        "人员": [
            ["用户名", "姓名", "电话", "组织", "角色", "启用"],
            ["jdy01", "陈监督", "13900000001", "yh-centre", "监督员", "是"],
            ["sly01", "林受理", "", "yh-centre", "受理员", "是"],
            ["zbz01", "周值班", "", "yh-centre", "值班长", "是"],
            ["pqy01", "吴派遣", "", "yh-centre", "派遣员", "是"],
            ["water01", "郑供水", "", "yh-water", "处置单位人员", "是"],
            ["street01", "王街道", "", "yh-street", "处置单位人员", "是"],
        ],
        "网格分配": [
            ["网格编码", "监督员", "开始日期", "结束日期"],
            *[
                [code, "jdy01", "2026-01-01", None]
                for code in (EAST + "001", EAST + "002", WEST + "001", WEST + "002")
            ],
        ],
        "派遣规则": [
            ["类型", "类别编码", "区域编码前缀", "处置单位", "优先级"],
            ["部件", "01003", EAST, "yh-water", 1],  # 雨水井盖: the water company in the east
            ["部件", "01003", WEST, "yh-street", 1],  # and the street office in the west
            ["部件", "01", "", "yh-street", 9],
        ],  # any other 市政公用设施: the street office
    }
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def sign_in_with_link(link: str, password: str, username: str) -> Client:
    """What a new person does with the one-time link: choose a password, then get an API token."""
    browser = Client()
    form = browser.get(link, follow=True)
    done = browser.post(
        form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    assert done.status_code == 302, done.content[-500:]
    token = Client().post(
        "/api/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
    )
    assert token.status_code == 200, token.content
    api = Client(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return api


def act(api: Client, case_id: int, action: str, **fields) -> dict:
    version = api.get(f"/api/cases/{case_id}").json()["version"]
    answer = api.post(
        f"/api/cases/{case_id}/transition",
        {"action": action, "version": version, **fields},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_bring_your_own_city_from_an_empty_database_to_the_first_dispatched_case(tmp_path):
    assert not Grid.objects.exists()
    out = io.StringIO()

    # 1. Grids: a Shapefile in CGCS2000 Gauss-Krüger (its .prj names the CRS), checked, then written.
    layer = shapefile(tmp_path)
    fields = ["--community-name-field", "sqmc", "--street-name-field", "jdmc"]
    call_command("import_grids", str(layer), *fields, "--dry-run", stdout=out)
    assert (
        "4 features read" in out.getvalue()
        and "0 errors" in out.getvalue()
        and not Grid.objects.exists()
    )
    call_command("import_grids", str(layer), *fields, stdout=out)
    assert Grid.objects.current().count() == 4
    assert Grid.objects.get(code=WEST + "001").community.name == "西社区"
    west_lon, west_lat = centre_of(WEST + "001")
    assert (
        abs(west_lon - (ORIGIN[0] + 0.0026)) < 0.001
        and abs(west_lat - (ORIGIN[1] + 0.00045)) < 0.001
    )

    # 2. The working calendar (the statutory holidays of every year chinesecalendar covers).
    call_command("seed_calendar", stdout=out)
    assert WorkingDay.objects.filter(date__year=2026).count() >= 365

    # 3. The category standard: GB/T 47678.5-2026, its time limits, automatic dispatch for 雨水井盖.
    call_command("seed_categories", stdout=out)
    manhole = SmallClass.objects.available().get(code="01003", big_class__kind="component")
    CaseStandard.objects.filter(small_class=manhole).update(
        time_limit=2, time_limit_unit="work_days"
    )
    AutoDispatch.objects.create(small_class=manhole)
    lamp = SmallClass.objects.available().get(code="01006", big_class__kind="component")  # 路灯井盖

    # 4. The directory workbook: organisations, people, who patrols which grid, the responsibility list.
    out = io.StringIO()
    call_command(
        "import_directory",
        str(directory_workbook(tmp_path / "yaohai.xlsx")),
        "--base-url",
        "http://testserver",
        stdout=out,
    )
    links = {
        line.split("\t")[0]: line.split("\t")[2].removeprefix("http://testserver")
        for line in out.getvalue().splitlines()
        if "\thttp://testserver/accounts/reset/" in line
    }
    assert set(links) == {"jdy01", "sly01", "zbz01", "pqy01", "water01", "street01"}
    api = {
        name: sign_in_with_link(link, f"Yaohai-{name}-2026!", name) for name, link in links.items()
    }

    # 5. The first case: the officer reports a broken rain-water manhole cover in the west community.
    filed = api["jdy01"].post(
        "/api/cases/",
        {
            "category": manhole.pk,
            "lon": west_lon,
            "lat": west_lat,
            "description": "雨水井盖破损",
            "address": "测试路 1 号",
        },
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert filed.status_code == 201, filed.content
    case = filed.json()
    assert case["grid"]["code"] == WEST + "001"
    act(api["sly01"], case["id"], "accept")
    registered = act(api["zbz01"], case["id"], "register")
    # Automatic dispatch for 雨水井盖, to the unit the west community's rule names, by the system.
    assert registered["status"] == "handling" and registered["unit"]["name"] == "测试街道办事处"
    assert registered["events"][-1]["actor"]["username"] == "system"
    mine = api["street01"].get("/api/cases/").json()
    assert [row["id"] for row in mine["results"]] == [case["id"]]
    assert api["water01"].get(f"/api/cases/{case['id']}").status_code == 404

    # A second case, of a class dispatched by hand: the console suggests the unit, the dispatcher sends it.
    east_lon, east_lat = centre_of(EAST + "002")
    second = (
        api["jdy01"]
        .post(
            "/api/cases/",
            {"category": lamp.pk, "lon": east_lon, "lat": east_lat, "description": "路灯井盖缺失"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        .json()
    )
    act(api["sly01"], second["id"], "accept")
    assert act(api["zbz01"], second["id"], "register")["status"] == "dispatching"
    suggested = (
        api["pqy01"].get(f"/api/console/case/{second['id']}/suggestion").json()["suggested_unit"]
    )
    assert suggested["name"] == "测试街道办事处"  # the big class 01 rule
    dispatched = act(api["pqy01"], second["id"], "dispatch", unit=suggested["id"])
    assert dispatched["status"] == "handling" and dispatched["deadline"]
