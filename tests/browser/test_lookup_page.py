"""The lookup page in headless Chromium: type, pick a suggestion, see areas and contacts."""

import datetime
import json

import pytest
from django.contrib.gis.geos import Point

from providers.models import Contact
from tests.factories import (
    AddressFactory,
    AreaFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    ResponsibilityFactory,
    ServiceFactory,
    StreetFactory,
    UserFactory,
    square,
)

# The shared browser fixtures (tests/browser/conftest.py): one Chromium per session.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def berlin_block():
    districts = LayerFactory(slug="b-bezirke", name="Bezirke", level=1)
    blocks = LayerFactory(slug="b-plr", name="Planungsräume", level=2, parent=districts)
    district = AreaFactory(
        layer=districts, code="08", name="Neukölln", geometry=square(13.35, 52.44, 0.12)
    )
    block = AreaFactory(
        layer=blocks,
        code="08100206",
        name="Flughafenstraße",
        parent=district,
        geometry=square(13.42, 52.475, 0.02),
    )
    ResponsibilityFactory(
        contact=ContactFactory(name="RSD Neukölln Mitte", internal_phone="030 9997-0"), area=block
    )
    ResponsibilityFactory(
        contact=ContactFactory(
            name="Kinderschutz-Hotline Neukölln",
            visibility=Contact.Visibility.PUBLIC,
            publication_consent_date=datetime.date(2024, 1, 1),
            phone="030 9999-100",
        ),
        area=district,
    )
    street = StreetFactory(name="Karl-Marx-Straße")
    for suffix in ("", "A", "B"):
        AddressFactory(
            street=street,
            house_number=12,
            house_number_suffix=suffix,
            postcode="12043",
            district="Neukölln",
            area=block,
        )
    ServiceFactory(
        name="Kinderladen um die Ecke",
        locations=[LocationFactory(point=Point(13.4301, 52.4821, srid=4326))],
    )
    return block


def _log_in(page, live_server):
    UserFactory(username="sachbearbeitung", groups=["caseworker"])
    page.goto(f"{live_server.url}/lookup/")
    page.fill("#id_username", "sachbearbeitung")
    page.fill("#id_password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_selector("#lookup-address")


def test_type_pick_a_suggestion_and_see_areas_and_contacts(page, live_server, berlin_block):
    _log_in(page, live_server)
    page.type("#lookup-address", "karlmarx str 12a", delay=20)
    # Earlier keystrokes may still show street suggestions: wait for the address.
    suggestion = page.locator("#lookup-suggestions [role=option]", has_text="12A").first
    suggestion.wait_for()
    assert suggestion.inner_text() == "Karl-Marx-Straße 12A, 12043 Neukölln"
    suggestion.click()
    page.wait_for_selector("#lookup-areas")
    assert page.inner_text("#lookup-subject") == "Karl-Marx-Straße 12A, 12043 Neukölln"
    areas = page.inner_text("#lookup-areas")
    assert "08100206" in areas and "Flughafenstraße" in areas and "Neukölln" in areas
    contacts = page.inner_text("#lookup-contacts")
    assert "RSD Neukölln Mitte" in contacts
    assert "030 9997-0" in contacts
    assert "Kinderschutz-Hotline Neukölln" in contacts
    assert "Kinderladen um die Ecke" in page.inner_text("#lookup-services")


def test_typed_addresses_never_appear_in_a_url(page, live_server, berlin_block):
    requests = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    _log_in(page, live_server)
    page.type("#lookup-address", "karlmarx str 12a", delay=20)
    page.locator("#lookup-suggestions [role=option]", has_text="12A").first.wait_for()
    suggestions = [(m, u) for m, u in requests if "/api/v1/addresses/" in u]
    assert suggestions and all(method == "POST" for method, _ in suggestions)
    typed = ("karl", "marx", "12a", "12+a", "12%20a")
    assert not [u for _, u in requests if any(t in u.lower() for t in typed)]


def test_the_print_sheet_shows_public_parts_only(page, live_server, berlin_block):
    _log_in(page, live_server)
    page.fill("#lookup-address", "Karl-Marx-Straße 12")
    page.press("#lookup-address", "Escape")
    page.click("#lookup-form button[type=submit]")
    page.wait_for_selector("#lookup-contacts")
    page.emulate_media(media="print")
    assert not page.is_visible("text=RSD Neukölln Mitte")
    assert page.is_visible("text=Kinderschutz-Hotline Neukölln")
    assert not page.is_visible("#lookup-form")


def test_clicking_the_map_gives_the_same_answer_as_the_api(page, live_server, berlin_block):
    _log_in(page, live_server)
    page.wait_for_selector("#lookup-map .leaflet-tile-pane", state="attached")
    # The empty map shows the layers' extent; its centre lies in the district, not the block.
    page.click("#lookup-map")
    page.wait_for_selector("#lookup-areas")
    result = json.loads(page.inner_text("#lookup-result"))
    assert result["match"] == "point"
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    api = page.request.post(
        f"{live_server.url}/api/v1/lookup/",
        form={"lat": result["point"]["lat"], "lon": result["point"]["lon"]},
        headers={"X-CSRFToken": token, "Referer": live_server.url + "/lookup/"},
    ).json()
    areas = page.inner_text("#lookup-areas")
    assert [a["code"] for a in api["areas"]] == ["08"]
    assert "08" in areas and "Neukölln" in areas
    contacts = page.inner_text("#lookup-contacts")
    for contact in api["contacts"]:
        assert contact["name"] in contacts
    assert "Kinderschutz-Hotline Neukölln" in contacts
