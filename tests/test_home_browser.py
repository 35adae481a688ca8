"""The home map: the page shell over HTTP, and the map itself in Debian's Chromium (Playwright).

Browser tests build their data before starting Playwright and check the database after it stops:
Playwright's sync API runs an event loop, inside which Django refuses synchronous ORM calls.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import shapely
from django.test import override_settings
from django.utils import translation
from playwright.sync_api import Page, expect, sync_playwright

from grids.models import Grid
from tests.conftest import screenshot_path
from tests.factories import make_area, make_grid, make_user

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
STREET, WEST, EAST = "320505006", "320505006001", "320505006002"
# One popup left, fully faded in: what a screenshot should show.
SETTLED_POPUP = """() => {
    const popups = document.querySelectorAll(".leaflet-popup");
    return popups.length === 1 && getComputedStyle(popups[0]).opacity === "1";
}"""
CELL = 0.001  # degrees: about 95 m east-west and 111 m north-south here


def make_city() -> list[Grid]:
    """A street with two communities: 3 × 2 grids in the west one, a single grid in the east one.

    The gap between them (0.0025°, ~240 m) is wider than twice the 50 m snap distance, so its
    middle is outside every grid.
    """
    make_area(
        code=STREET, name="金鸡湖街道", geometry=shapely.box(120.6992, 31.2993, 120.7073, 31.3027)
    )
    make_area(
        code=WEST, name="湖西社区", geometry=shapely.box(120.6996, 31.2996, 120.7034, 31.3024)
    )
    make_area(
        code=EAST, name="湖东社区", geometry=shapely.box(120.7051, 31.2996, 120.7069, 31.3024)
    )
    grids = []
    for row in range(2):  # serials run west → east, north → south (docs/domain.md §1)
        for col in range(3):
            serial = row * 3 + col + 1
            x0, y0 = 120.700 + col * CELL, 31.301 - row * CELL
            grids.append(
                make_grid(
                    code=f"{WEST}{serial:03d}",
                    name=f"湖西{serial}号网格",
                    bounds=(x0, y0, x0 + CELL, y0 + CELL),
                    region_class=1 + serial % 3,
                )
            )
    grids.append(
        make_grid(
            code=f"{EAST}001", name="湖东1号网格", bounds=(120.7055, 31.301, 120.7065, 31.302)
        )
    )
    return grids


@contextlib.contextmanager
def chromium_page(
    chromium_path: str, *, width: int, height: int
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a zh-CN browser (as a city's staff would have it) and the URLs it requested."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            yield page, requested
        finally:
            browser.close()


def remote_requests(urls: list[str]) -> list[str]:
    return [
        url
        for url in urls
        if urlparse(url).scheme not in ("data", "blob")
        and urlparse(url).hostname not in LOCAL_HOSTS
    ]


def open_map(page: Page, url: str) -> None:
    page.goto(url)
    # home.js sets data-state to "ready" once every layer request for the view has answered.
    page.wait_for_selector("#map[data-state=ready]")


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def map_config(response) -> dict:
    found = re.search(
        r'<script id="map-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(found.group(1))


# --- The page shell, through the test client (also runs on PostgreSQL) -------------------------


@pytest.mark.django_db
def test_home_page_loads_every_script_and_style_from_this_site(client):
    make_city()
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert "/static/leaflet/leaflet.js" in assets and "/static/frontend/js/home.js" in assets
    assert [a for a in assets if a.startswith(("http:", "https:", "//"))] == []


@pytest.mark.django_db
def test_home_map_starts_on_the_grids_with_no_tile_layer_by_default(client):
    make_city()
    config = map_config(client.get("/"))
    assert config["tilesUrl"] == ""
    assert config["extent"] == [[31.3, 120.7], [31.302, 120.7065]]
    assert config["urls"] == {
        "grids": "/api/grids/",
        "areas": "/api/areas/",
        "locate": "/api/grids/locate",
    }


@pytest.mark.django_db
@override_settings(TILES_URL="http://tiles.city.local/{z}/{x}/{y}.png")
def test_home_map_uses_the_configured_intranet_tile_server(client):
    assert map_config(client.get("/"))["tilesUrl"] == "http://tiles.city.local/{z}/{x}/{y}.png"


@pytest.mark.django_db
@pytest.mark.chinese
def test_home_page_is_chinese_by_default_and_switches_to_english(client):
    response = client.get("/")
    assert (
        '<html lang="zh-hans">' in response.content.decode() and "登录" in response.content.decode()
    )
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert switched.status_code == 302
    assert '<html lang="en">' in client.get("/").content.decode()


@pytest.mark.django_db
def test_signed_in_user_signs_out_with_a_post_form(client):
    user = make_user(username="wang")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert re.search(r'<form[^>]*method="post"[^>]*action="/accounts/logout/"', html)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_page_signs_a_person_in_and_returns_to_the_map(client):
    make_user(username="li", password="pw-for-tests-1")
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "li", "password": "pw-for-tests-1", "next": "/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"]


# --- The map in Chromium -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.chinese
def test_home_map_draws_every_grid_and_a_click_finds_the_grid(live_server, chromium_path):
    grids = make_city()
    target = grids[4]  # 320505006001005: second row, middle
    with translation.override("zh-hans"):
        outside_text = translation.gettext("Outside grid")

    with chromium_page(chromium_path, width=1280, height=800) as (page, requested):
        open_map(page, live_server.url + "/")
        grid_paths = page.locator("path.gc-grid").count()
        label = {grid.code: page.locator(".gc-grid-label", has_text=grid.code) for grid in grids}
        # Permanent labels sit at the grid's centre and let clicks through to the map.
        page.mouse.click(*centre(label[grids[2].code]))
        # The newest popup is the last one: a closed popup fades out for 200 ms before it goes.
        popup = page.locator(".leaflet-popup-content .gc-popup").last
        expect(popup).to_contain_text(grids[2].code)
        page.mouse.click(*centre(label[target.code]))
        expect(popup).to_contain_text(target.code)
        expect(popup).to_contain_text(target.name)
        expect(popup).to_contain_text("湖西社区")
        page.wait_for_function(SETTLED_POPUP)
        page.screenshot(path=screenshot_path("home.png"))
        (west_x, y), (east_x, _y) = centre(label[grids[2].code]), centre(label[grids[6].code])
        page.mouse.click((west_x + east_x) / 2, y)  # the gap between the two communities
        expect(popup).to_contain_text(outside_text)

    assert grid_paths == len(grids) == Grid.objects.count()
    assert remote_requests(requested) == []


@pytest.mark.browser
def test_home_map_fits_a_phone_screen(live_server, chromium_path):
    grids = make_city()

    with chromium_page(chromium_path, width=360, height=740) as (page, requested):
        open_map(page, live_server.url + "/")
        grid_paths = page.locator("path.gc-grid").count()
        legend_open = page.locator("#map-legend").evaluate("legend => legend.open")
        map_box = page.locator("#map").bounding_box()
        header_box = page.locator(".gc-header").bounding_box()
        page.screenshot(path=screenshot_path("home-mobile.png"))

    assert grid_paths == len(grids)
    assert legend_open is False  # folded on a phone, so it does not cover the map
    assert header_box["height"] < 80 and map_box["width"] == 360
    assert map_box["y"] + map_box["height"] == pytest.approx(740, abs=1)
    assert remote_requests(requested) == []


@pytest.mark.browser
def test_home_map_says_so_when_the_grid_layer_fails_to_load(live_server, chromium_path):
    make_city()

    with chromium_page(chromium_path, width=1280, height=800) as (page, _requested):
        page.route(re.compile(r"/api/grids/\?"), lambda route: route.fulfill(status=500))
        page.goto(live_server.url + "/")
        page.wait_for_selector("#map[data-state=error]")
        expect(page.locator(".gc-map-error")).to_be_visible()
        street_paths = page.locator(".leaflet-boundaries-pane path").count()

    assert street_paths == 3  # the street and both communities still drew
