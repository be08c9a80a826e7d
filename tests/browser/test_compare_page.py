"""The compare page in headless Chromium: both layers drawn, the table, axe, no third party."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from tests.factories import AreaFactory, LayerFactory, UserFactory

from .support import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def box(x0: float, x1: float) -> MultiPolygon:
    return MultiPolygon(
        Polygon(((x0, 52.5), (x1, 52.5), (x1, 52.51), (x0, 52.51), (x0, 52.5)), srid=4326),
        srid=4326,
    )


@pytest.fixture
def two_layers():
    units = LayerFactory(slug="einheiten", name="Einheiten", level=2)
    other = LayerFactory(slug="plz", name="Postleitzahlen", level=1)
    AreaFactory(
        layer=units, code="u1", name="<img src=x onerror=alert(1)>", geometry=box(13.40, 13.42)
    )
    AreaFactory(layer=units, code="u2", name="Süd", geometry=box(13.42, 13.44))
    AreaFactory(layer=other, code="p1", name="10115", geometry=box(13.40, 13.41))
    AreaFactory(layer=other, code="p2", name="10117", geometry=box(13.41, 13.44))


def test_compare_page_draws_both_layers_lists_shares_and_passes_axe(page, live_server, two_layers):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    UserFactory(username="sachbearbeitung", groups=["caseworker"])
    page.goto(f"{live_server.url}/vergleich/?first=einheiten&second=plz&area=u1")
    page.fill("#id_username", "sachbearbeitung")
    page.fill("#id_password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_selector(".compare-result table")
    table = page.inner_text(".compare-result table")
    assert "p1" in table and "p2" in table and "50,0 %" in table  # a German page
    # Four outlines: two of each layer.
    page.wait_for_function(
        "document.querySelectorAll('#compare-map .leaflet-overlay-pane path').length === 4"
    )
    assert page.locator("#compare-map .leaflet-overlay-pane path[stroke-dasharray]").count() == 2
    # The hostile name shows as text in its tooltip, never as markup.
    # The dashed layer lies on top of the first one, so a real pointer over u1 would reach a
    # postcode area; the event goes to u1's own outline instead.
    page.locator(
        "#compare-map .leaflet-overlay-pane path:not([stroke-dasharray]) >> nth=0"
    ).dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert "<img src=x" in tooltip.inner_text()
    assert page.locator(".leaflet-tooltip img").count() == 0
    assert axe_violations(page) == []
    outside = [
        url
        for url in requests
        if not url.startswith(live_server.url) and not url.startswith("https://tiles.invalid/")
    ]
    assert outside == []


def test_admin_compose_preview_draws_the_composed_areas_as_text_tooltips(
    page, live_server, two_layers, tmp_path
):
    UserFactory(username="planung", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/planning_areas/layer/compose/")
    page.fill("#id_username", "planung")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit], button[type=submit]")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(
        "base_code,code,name\nu1,N,<b>Nord</b>\nu2,N,<b>Nord</b>\n", encoding="utf-8"
    )
    page.set_input_files("#id_file", str(mapping))
    page.select_option("#id_base_layer", "einheiten")
    page.fill("#id_layer", "sozialraeume")
    page.fill("#id_layer_name", "Sozialräume")
    page.click("form[data-upload-progress] button[type=submit]")
    page.wait_for_selector(".errornote")
    assert "reiner Text" in page.inner_text(".errornote")  # a German page
    mapping.write_text("base_code,code,name\nu1,N,Nord\nu2,N,Nord\n", encoding="utf-8")
    page.set_input_files("#id_file", str(mapping))
    page.select_option("#id_base_layer", "einheiten")
    page.fill("#id_layer", "sozialraeume")
    page.fill("#id_layer_name", "Sozialräume")
    page.click("form[data-upload-progress] >> nth=-1 >> button[type=submit]")
    page.wait_for_selector("#import-report")
    page.wait_for_function(
        "document.querySelectorAll('#compose-preview-map .leaflet-overlay-pane path').length === 1"
    )
