"""Markup typed by an organisation runs nowhere, and no page breaks its own CSP.

A service (and an area) named with an ``<img onerror>`` payload is shown on the lookup page,
the map, the list, the detail and the area page; the test hovers markers and outlines and opens
popups, then checks that the payload's script never ran and that the browser reported no
Content-Security-Policy violation on any page.
"""

import json
import re

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    UserFactory,
    square,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SERVICE_NAME = f"Kita{PAYLOAD}"
AREA_NAME = f"Kiez{PAYLOAD}"

# Registered before any page script: records CSP violations and console reports of them.
# The map opens on the extent of the areas, so the test's single area is centred here.
CENTRE = (52.5, 13.4)

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture
def hostile(transactional_db):
    lat, lon = CENTRE
    layer = LayerFactory(slug="bezirke", name="Bezirke", level=1)
    area = AreaFactory(
        layer=layer, code="01", name=AREA_NAME, geometry=square(lon - 0.05, lat - 0.05, 0.1)
    )
    category = CategoryFactory(slug="familie", name="Familie", colour="#e31a1c")
    location = LocationFactory(name="Haus", point=Point(lon + 0.001, lat + 0.001))
    service = ServiceFactory(name=SERVICE_NAME, locations=[location], categories=[category])
    return {"area": area, "service": service, "location": location}


@pytest.fixture
def watched(strict_context):
    """A page that enforces the CSP and records violations and console messages about them."""
    strict_context.add_init_script(WATCH_CSP)
    page = strict_context.new_page()
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.console_reports = console
    return page


def assert_clean(page):
    """No script from the payload ran and the page broke no CSP rule."""
    assert page.evaluate("window.__xss") is None, "the payload's onerror handler ran"
    assert page.evaluate("window.__csp") == [], page.evaluate("window.__csp")
    assert page.console_reports == []


def log_in(page, username, *, groups=(), superuser=False):
    user = UserFactory(username=username, groups=list(groups))
    if superuser:
        user.is_staff = user.is_superuser = True
        user.save()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_lookup_tooltips_show_a_hostile_service_name_as_text(watched, hostile):
    page = watched
    log_in(page, "sachbearbeitung", groups=["caseworker"])
    page.goto("/lookup/")
    page.wait_for_selector("#lookup-map .leaflet-tile-pane", state="attached")
    page.click("#lookup-map")  # the map opens on the layer's extent, centred next to the service
    page.wait_for_selector("#lookup-services")
    expect(page.locator("#lookup-services")).to_contain_text(SERVICE_NAME)
    markers = page.locator("#lookup-map path.leaflet-interactive")
    # The area's outline, the looked-up point and the service.
    expect(markers).to_have_count(3)
    for index in range(markers.count()):
        markers.nth(index).hover(force=True)
    tooltip = page.locator(".leaflet-tooltip", has_text="Kita")
    expect(tooltip).to_contain_text(SERVICE_NAME)
    expect(page.locator(".leaflet-tooltip img")).to_have_count(0)
    assert_clean(page)


def test_map_popup_and_area_tooltip_show_hostile_names_as_text(watched, hostile):
    page = watched
    point = hostile["location"].point
    page.goto(f"/?areas=bezirke#12/{point.y}/{point.x}")
    page.wait_for_selector("body[data-markers]", state="attached")
    page.wait_for_selector("path.leaflet-interactive")
    box = page.locator("#map").bounding_box()
    # Inside the area's outline, away from the service's marker in the map's centre.
    x, y = box["x"] + box["width"] / 2 - 120, box["y"] + box["height"] / 2 + 80
    page.mouse.move(x, y)
    expect(page.locator(".leaflet-tooltip")).to_contain_text(AREA_NAME)
    page.mouse.click(x, y)
    expect(page.locator(".leaflet-popup .popup-title")).to_have_text(AREA_NAME)
    expect(page.locator(".leaflet-popup img, .leaflet-tooltip img")).to_have_count(0)
    page.goto(f"/#17/{point.y}/{point.x}")
    page.wait_for_selector("body[data-markers]", state="attached")
    marker = page.get_by_role("button", name=SERVICE_NAME)
    marker.hover()
    marker.click()
    expect(page.locator(".leaflet-popup .popup-title")).to_have_text(SERVICE_NAME)
    expect(page.locator(".leaflet-popup img, .leaflet-tooltip img")).to_have_count(0)
    assert_clean(page)


def test_list_detail_and_area_pages_show_hostile_names_as_text(watched, hostile):
    page = watched
    for url in (
        "/liste/",
        f"/angebote/{hostile['service'].pk}/",
        "/gebiete/bezirke/01/",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        expect(page.locator("main")).to_contain_text(
            SERVICE_NAME if "gebiete" not in url else AREA_NAME
        )
        expect(page.locator("main img[src=x]")).to_have_count(0)
        assert_clean(page)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/embed/",
        "/liste/",
        "/liste/?q=Kita",
        "/gebiete/bezirke/01/",
        "/accounts/login/",
        "/api/v1/docs/",
    ],
)
def test_public_page_reports_no_csp_violation(watched, hostile, url):
    page = watched
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert_clean(page)


def test_service_page_reports_no_csp_violation(watched, hostile):
    watched.goto(f"/angebote/{hostile['service'].pk}/")
    watched.wait_for_load_state("networkidle")
    expect(watched.locator("#detail-map .leaflet-tile").first).to_be_attached()
    assert_clean(watched)


def test_lookup_page_reports_no_csp_violation(watched, hostile):
    log_in(watched, "sachbearbeitung", groups=["caseworker"])
    watched.goto("/lookup/")
    watched.wait_for_load_state("networkidle")
    expect(watched.locator("#lookup-map .leaflet-tile").first).to_be_attached()
    assert_clean(watched)


def test_admin_map_widget_works_under_the_csp(watched, hostile):
    page = watched
    log_in(page, "admin", superuser=True)
    page.goto(f"/admin/providers/location/{hostile['location'].pk}/change/")
    page.wait_for_load_state("networkidle")
    # The widget started from its json_script data (planning_areas/js/map-widget.js, no inline
    # script, no nonce): the stored point is drawn with Leaflet's marker image.
    marker = page.locator(".leaflet-container .leaflet-marker-icon").first
    expect(marker).to_be_attached()
    assert marker.evaluate("image => image.complete && image.naturalWidth > 0")
    # Drawing works: a point placed with the draw tool replaces the stored one in the form.
    field = page.locator("textarea#id_point")
    stored = field.input_value()
    page.click(".leaflet-draw-draw-marker")
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.move(box["x"] + 110, box["y"] + 110)
    page.mouse.click(box["x"] + 110, box["y"] + 110)
    expect(field).not_to_have_value(stored)
    expect(field).to_have_value(re.compile(r'"type":\s*"Point"'))
    lon, lat = json.loads(field.input_value())["coordinates"]
    assert (lon, lat) != pytest.approx(hostile["location"].point.coords)
    assert_clean(page)
    page.goto("/admin/")
    page.wait_for_load_state("networkidle")
    assert_clean(page)
