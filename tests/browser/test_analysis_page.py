"""/analyse/ and the Sozialraumprofil in headless Chromium: map, table, axe, phones, languages."""

import pytest
from playwright.sync_api import expect

from planning_areas.models import Area
from tests.monitoring.conftest import town  # noqa: F401  (the hand-made town fixture)

from .support import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/analyse/?layer=plr&measure=coverage&category=kita"


def test_choropleth_draws_every_area_and_the_page_is_axe_clean(page, live_server, town):  # noqa: F811
    page.goto(live_server.url + URL)
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() == 3
    assert page.locator("table.analysis-table tbody tr").count() == 3
    assert axe_violations(page) == []


def test_sorting_works_without_javascript(make_context, live_server, town):  # noqa: F811
    context = make_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + URL)
    page.locator("th[scope=col] a").nth(4).click()  # the per-1,000 column
    # expect waits for the sorted page: reading at once read the page being left (the
    # names came back empty in one CI run).
    expect(page.locator("tbody th[scope=row] a")).to_have_text(["Area C", "Area B", "Area A"])


def test_phone_width_has_no_horizontal_scroll_and_no_third_party_request(
    make_context,
    live_server,
    town,  # noqa: F811
):
    context = make_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    requests = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(live_server.url + URL)
    page.wait_for_selector("path.leaflet-interactive")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    foreign = [
        u
        for u in requests
        if not u.startswith(live_server.url) and not u.startswith("https://tiles.invalid/")
    ]
    assert foreign == []
    assert axe_violations(page) == []


@pytest.mark.parametrize(("locale", "heading"), [("de-DE", "Analyse"), ("en-GB", "Analysis")])
def test_page_speaks_german_and_english(make_context, live_server, town, locale, heading):  # noqa: F811
    context = make_context(locale=locale)
    page = context.new_page()
    page.goto(live_server.url + URL)
    assert page.locator("h1").inner_text() == heading


def test_tooltip_shows_markup_in_names_as_text(page, live_server, town):  # noqa: F811
    Area.objects.filter(code="A").update(name='<img src=x onerror="window.hacked=1">A')
    page.goto(live_server.url + URL)
    page.wait_for_selector("path.leaflet-interactive")
    page.locator("path.leaflet-interactive").first.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert "<img" in tooltip.inner_text()
    assert page.evaluate("window.hacked") is None


def test_area_page_profile_is_axe_clean(page, live_server, town):  # noqa: F811
    page.goto(live_server.url + "/gebiete/plr/C/")
    assert page.locator("#profile-title").inner_text() == "Sozialraumprofil"
    assert axe_violations(page) == []
