"""The production configuration in a browser: gunicorn, DJANGO_DEBUG=false, collected static
files with hashed names. No request fails and no image (marker, tile) is broken."""

import pytest
from django.contrib.gis.geos import Point

from tests.factories import (
    AreaFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    UserFactory,
    square,
)
from tests.production import collect_static, gunicorn, production_environment

from .support import STUB_TILE_URL, isolate

pytestmark = [pytest.mark.browser, pytest.mark.production, pytest.mark.django_db(transaction=True)]

BROKEN_IMAGES = """() => Array.from(document.images)
    .filter((image) => !image.complete || image.naturalWidth === 0)
    .map((image) => image.src)"""


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    collect_static(production_environment(root))
    return root


@pytest.fixture
def location():
    layer = LayerFactory(slug="bezirke", source="Stadt Musterstadt", licence="CC BY 4.0")
    AreaFactory(layer=layer, code="01", name="Altstadt", geometry=square(8.40, 48.95, 0.05))
    location = LocationFactory(point=Point(8.42, 48.97, srid=4326))
    ServiceFactory(locations=[location])
    UserFactory(username="chefin", is_staff=True, is_superuser=True, groups=["caseworker"])
    return location


@pytest.fixture
def browser(chromium, static_root, location):
    env = production_environment(static_root, ATLAS_TILE_URL=STUB_TILE_URL)
    with gunicorn(env) as base:
        context = chromium.new_context(base_url=base, locale="de-DE")
        context.set_default_timeout(15_000)
        isolate(context, base)
        page = context.new_page()
        problems = []
        page.on("requestfailed", lambda request: _failed(request, problems))
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and problems.append((response.status, response.url))
            ),
        )
        page.on("pageerror", lambda error: problems.append(("javascript", str(error))))
        yield page, problems
        context.close()


def _failed(request, problems: list) -> None:
    # Leaflet cancels the tiles of a view it leaves at once (fitting a geometry); that is
    # not a failure. Anything else is, including requests to other hosts (refused).
    cancelled = request.failure == "net::ERR_ABORTED" and request.url.startswith(
        STUB_TILE_URL.split("{")[0]
    )
    if not cancelled:
        problems.append(("failed", request.url, request.failure))


def _log_in(page):
    page.goto("/admin/login/")
    page.fill("#id_username", "chefin")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_the_public_map_loads_everything_under_gunicorn(browser):
    page, problems = browser
    page.goto("/")
    page.wait_for_selector("#map .leaflet-marker-icon")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(BROKEN_IMAGES) == []
    assert problems == []


def test_the_admin_map_widget_shows_its_marker_image(browser, location):
    page, problems = browser
    _log_in(page)
    page.goto(f"/admin/providers/location/{location.pk}/change/")
    marker = page.wait_for_selector("img.leaflet-marker-icon")
    page.wait_for_load_state("networkidle")
    assert "/static/leaflet/images/marker-icon" in marker.get_attribute("src")
    assert page.evaluate("(image) => image.naturalWidth", marker) > 0
    assert page.evaluate(BROKEN_IMAGES) == []
    assert problems == []


def test_the_lookup_page_loads_everything_under_gunicorn(browser):
    page, problems = browser
    _log_in(page)
    page.goto("/lookup/")
    page.wait_for_selector("#lookup-map .leaflet-tile-loaded")
    page.click("#lookup-map")
    page.wait_for_selector("#lookup-areas")
    page.wait_for_load_state("networkidle")
    assert "Altstadt" in page.inner_text("#lookup-areas")
    assert page.evaluate(BROKEN_IMAGES) == []
    assert problems == []
