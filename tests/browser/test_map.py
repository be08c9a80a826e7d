"""The public map, list, detail and area pages as a person sees them in Chromium."""

import re

import pytest
from django.http import QueryDict
from playwright.sync_api import expect

from atlas.site.filtering import api_parameters
from atlas.site.warm_up import first_view_tiles, warmed_filter_sets
from planning_areas.map_view import MapView

from .data import make_site_data
from .support import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(transactional_db):
    return make_site_data()


def wait_for_markers(page):
    page.wait_for_function("document.body.dataset.markers !== undefined")


def shown_service_count(page) -> int:
    """Services on the map as drawn: numbers on the clusters plus single markers."""
    clusters = page.locator(".cluster .cluster-count").all_inner_texts()
    singles = page.locator(".service-marker").count()
    return sum(int(n) for n in clusters) + singles


def test_map_shows_clustered_markers_for_every_published_service(page, site):
    page.goto("/")
    wait_for_markers(page)
    expect(page.locator(".cluster").first).to_be_visible()
    assert shown_service_count(page) == len(site.services)
    expect(page.locator("#map-status")).to_contain_text(str(len(site.services)))
    # Tiles come from the configured server (here the local stub), with its attribution.
    assert page.locator("img.leaflet-tile").count() > 0
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")


def test_category_filter_changes_markers_and_url(page, site):
    page.goto("/")
    wait_for_markers(page)
    page.get_by_label("Jugend", exact=True).check()
    page.wait_for_function("document.body.dataset.markers === '4'")
    assert shown_service_count(page) == 4
    expect(page).to_have_url(re.compile(r"\?category=jugend#\d+/"))


def test_search_changes_markers_and_url(page, site):
    page.goto("/")
    wait_for_markers(page)
    page.get_by_label("Suche").fill("Elterncafe")
    page.get_by_label("Suche").press("Enter")
    page.wait_for_function("document.body.dataset.markers === '1'")
    expect(page.get_by_role("button", name="Elterncafé Sonnenschein")).to_be_attached()
    expect(page).to_have_url(re.compile(r"\?q=Elterncafe#"))
    expect(page.locator("#map-status")).to_contain_text("1")


def test_shared_url_restores_filters_and_view(page, site):
    page.goto("/?category=jugend&areas=bezirke#14/52.55000/13.47000")
    wait_for_markers(page)
    expect(page.get_by_label("Jugend", exact=True)).to_be_checked()
    view = page.evaluate("location.hash")
    assert view.startswith("#14/52.55")
    assert page.locator("body").get_attribute("data-markers") == "4"
    expect(page.get_by_label("Bezirke")).to_be_checked()
    expect(page.locator("path.leaflet-interactive")).to_have_count(2)


def test_marker_popup_leads_to_detail_page(page, site):
    page.goto(f"/#17/{site.cafe.locations.get().point.y}/{site.cafe.locations.get().point.x}")
    wait_for_markers(page)
    marker = page.get_by_role("button", name="Elterncafé Sonnenschein")
    marker.focus()
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup .popup-link")
    expect(link).to_be_focused()
    link.click()
    expect(page).to_have_url(re.compile(rf"/angebote/{site.cafe.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Elterncafé Sonnenschein")


def test_list_works_without_javascript(make_context, site):
    page = make_context(java_script_enabled=False).new_page()
    page.goto("/")
    page.get_by_role("link", name="Liste", exact=True).click()
    expect(page.locator(".result-count")).to_contain_text(f"{len(site.services)} Angebote")
    page.get_by_label("Jugend", exact=True).check()
    page.get_by_role("button", name="Ergebnisse anzeigen").click()
    expect(page).to_have_url(re.compile(r"/liste/\?.*category=jugend"))
    expect(page.locator(".service-item")).to_have_count(4)
    page.get_by_role("link", name="Jugendclub 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jugendclub 1")


def test_phone_layout_shows_filters_in_a_drawer(make_context, site):
    context = make_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    page = context.new_page()
    page.goto("/")
    wait_for_markers(page)
    drawer = page.locator("#drawer")
    expect(drawer).not_to_be_visible()
    toggle = page.get_by_role("button", name="Filter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(drawer).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Suche")).to_be_focused()
    box = drawer.bounding_box()
    assert box["x"] >= 0 and box["width"] <= 360
    page.get_by_label("Jugend", exact=True).check()
    page.get_by_role("button", name="Ergebnisse anzeigen").click()
    expect(drawer).not_to_be_visible()
    page.wait_for_function("document.body.dataset.markers === '4'")
    # The list stays one tap away.
    expect(page.get_by_role("link", name="Liste", exact=True)).to_be_visible()


def test_switching_to_english_translates_the_interface(page, site):
    page.goto("/")
    expect(page.get_by_role("link", name="Liste", exact=True)).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="List", exact=True)).to_be_visible()
    expect(page.get_by_label("Search")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"/angebote/{site.cafe.pk}/")
    expect(page.get_by_role("heading", name="Opening hours")).to_be_visible()


@pytest.mark.parametrize("path", ["map", "list", "detail", "area"])
def test_pages_have_no_serious_accessibility_violations(page, site, path):
    url = {
        "map": "/",
        "list": "/liste/",
        "detail": f"/angebote/{site.cafe.pk}/",
        "area": "/gebiete/bezirke/01/",
    }[path]
    page.goto(url)
    if path == "map":
        wait_for_markers(page)
    else:
        page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []


def test_near_me_uses_the_browsers_location_and_radius(make_context, site):
    context = make_context(
        geolocation={"latitude": 52.55, "longitude": 13.47}, permissions=["geolocation"]
    )
    page = context.new_page()
    page.goto("/")
    wait_for_markers(page)
    page.get_by_role("button", name="Meinen Standort verwenden").click()
    page.wait_for_function("document.body.dataset.markers === '1'")
    expect(page).to_have_url(re.compile(r"near=13\.47000%2C52\.55000&radius=1000"))
    page.get_by_label("Umkreis").select_option("2000")
    page.wait_for_function("document.body.dataset.markers === '3'")
    expect(page).to_have_url(re.compile(r"radius=2000"))


def map_zoom(page) -> int:
    return int(page.evaluate("location.hash").split("/")[0].lstrip("#"))


def test_city_zoom_shows_server_clusters_named_for_screen_readers(page, site):
    page.goto("/#11/52.50000/13.35000")
    wait_for_markers(page)
    clusters = page.get_by_role("button", name=re.compile(r"^\d+ Angebote hier, hineinzoomen$"))
    expect(clusters.first).to_be_visible()
    named = [
        int(re.match(r"\d+", clusters.nth(i).inner_text(timeout=1000)).group())
        for i in range(clusters.count())
    ]
    assert sum(named) + page.locator(".service-marker").count() == len(site.services)
    # Coloured by category: a ring mixing Familie (red) and Jugend (blue) or a single colour.
    ring = page.locator(".cluster-ring").first.evaluate("e => e.style.background")
    assert "conic-gradient" in ring and ("227, 26, 28" in ring or "31, 120, 180" in ring)


def test_street_zoom_shows_single_markers_only(page, site):
    page.goto("/#17/52.55000/13.47000")
    wait_for_markers(page)
    expect(page.get_by_role("button", name="Jugendclub 2")).to_be_visible()
    expect(page.locator(".cluster")).to_have_count(0)
    # The status still counts every service the filters match, not only those in view.
    expect(page.locator("#map-status")).to_contain_text(str(len(site.services)))


def test_enter_on_a_cluster_zooms_in_until_single_markers(page, site):
    page.goto("/#11/52.55000/13.48000")
    wait_for_markers(page)
    clusters = page.get_by_role("button", name=re.compile(r"^\d+ Angebote hier, hineinzoomen$"))
    expect(clusters.first).to_be_visible()
    for _ in range(6):  # each Enter zooms at least one level, into the cluster's bounds
        if clusters.count() == 0:
            break
        before = map_zoom(page)
        clusters.first.focus()
        expect(clusters.first).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_function(f"Number(location.hash.split('/')[0].slice(1)) > {before}")
        expect(page.locator("#map")).to_have_attribute("data-tiles", "drawn")
    markers = page.locator(".service-marker[role=button]")
    expect(markers.first).to_be_visible()
    markers.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".leaflet-popup .popup-link")).to_be_focused()


def test_filters_apply_to_tiles_at_street_and_city_zoom(page, site):
    page.goto("/?category=jugend#15/52.50000/13.30000")
    wait_for_markers(page)
    # The café (Familie) lies in view, but the filter leaves only youth clubs, none here.
    expect(page.get_by_role("button", name="Elterncafé Sonnenschein")).to_have_count(0)
    expect(page.locator("#map-status")).to_contain_text("4")
    page.get_by_label("Jugend", exact=True).uncheck()
    expect(page.get_by_role("button", name="Elterncafé Sonnenschein")).to_be_visible()
    page.goto("/?category=jugend#10/52.50000/13.35000")
    wait_for_markers(page)
    assert shown_service_count(page) == 4


def test_street_zoom_has_no_serious_accessibility_violations(page, site):
    page.goto("/#17/52.55000/13.47000")
    wait_for_markers(page)
    expect(page.locator(".service-marker").first).to_be_visible()
    assert axe_violations(page) == []


def test_services_at_one_address_share_a_marker_whose_popup_lists_them(page, site):
    from providers.models import Service
    from tests.factories import ServiceFactory

    club = Service.objects.get(name="Jugendclub 2")
    hostile = '<img src=x onerror="document.title=1">Hausaufgaben & Co'
    other = ServiceFactory(name=hostile, locations=[club.locations.get()], categories=[site.youth])
    page.goto("/#18/52.55000/13.47000")
    wait_for_markers(page)
    place = page.get_by_role("button", name="2 Angebote an dieser Adresse")
    expect(place).to_be_visible()
    expect(page.get_by_role("button", name="Jugendclub 2")).to_have_count(0)
    place.focus()
    page.keyboard.press("Enter")
    links = page.locator(".leaflet-popup .popup-places a")
    expect(links).to_have_count(2)
    expect(links.first).to_be_focused()
    assert sorted(links.all_inner_texts()) == sorted(["Jugendclub 2", hostile])  # as text
    assert page.locator(".leaflet-popup img").count() == 0
    page.keyboard.press("Tab")
    second = links.nth(1)
    expect(second).to_be_focused()
    target = club if second.inner_text() == "Jugendclub 2" else other
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/angebote/{target.pk}/$"))
    expect(page.locator("h1")).to_have_text(target.name)


def test_warm_map_builds_every_tile_a_first_view_asks_for_on_any_screen(
    make_context, site, settings
):
    """``manage.py warm_map`` models Leaflet's fitBounds and the marker layer's tile
    choice (atlas.site.warm_up): what it builds must be what the browser then asks for."""
    settings.ATLAS_MAP_BOUNDS = [13.088346, 52.338242, 13.761159, 52.675508]
    warmed = {
        f"{t.z}/{t.x}/{t.y}"
        for t in first_view_tiles(
            MapView(tuple(settings.ATLAS_MAP_BOUNDS)), settings.ATLAS_MAP_MIN_ZOOM
        )
    }
    zooms = set()
    for width, height in [(360, 740), (768, 1024), (1280, 800), (1920, 1080), (2560, 1440)]:
        page = make_context(viewport={"width": width, "height": height}).new_page()
        asked = []
        page.on(
            "request",
            lambda request, asked=asked: asked.extend(
                re.findall(r"/(\d+/\d+/\d+)\.json(?:\?|$)", request.url)
            ),
        )
        page.goto("/")
        wait_for_markers(page)
        assert asked, (width, height)
        assert set(asked) <= warmed, (width, height, sorted(set(asked) - warmed))
        zooms |= {key.split("/")[0] for key in asked}
    assert len(zooms) > 1  # the screens open at different zooms


def test_warm_map_builds_the_filter_set_a_ticked_category_asks_for(page, site):
    """The tiles of a category's first view, by link or by ticking its check box, are asked
    for with the filter set ``warm_map`` builds for that category (the same cache key)."""
    warmed = {api_parameters(filters).urlencode() for filters in warmed_filter_sets()}
    asked = []
    page.on(
        "request",
        lambda request: asked.extend(
            re.findall(r"/karte/kacheln/\d+/\d+/\d+\.json\??([^#]*)", request.url)
        ),
    )

    def filter_sets() -> set[str]:
        return {api_parameters(QueryDict(query)).urlencode() for query in asked}

    page.goto("/?category=jugend")
    page.wait_for_function("document.body.dataset.markers === '4'")
    assert filter_sets() == {"category=jugend"}
    assert filter_sets() <= warmed
    asked.clear()
    page.goto("/")
    wait_for_markers(page)
    assert filter_sets() == {""}
    asked.clear()
    page.get_by_label("Jugend", exact=True).check()
    page.wait_for_function("document.body.dataset.markers === '4'")
    assert filter_sets() == {"category=jugend"}
    assert filter_sets() <= warmed
