"""The public site's pages and map data, through Django's test client (no browser)."""

import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.urls import NoReverseMatch, reverse

from providers.models import Contact, Service
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    square,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    return CategoryFactory(slug="familie", name="Familie", colour="#e31a1c")


@pytest.fixture
def centre(family):
    child = CategoryFactory(slug="familienzentrum", name="Familienzentren", parent=family)
    location = LocationFactory(
        name="Haus am Park", street="Parkweg", house_number="3", point=Point(13.40, 52.52)
    )
    service = ServiceFactory(
        name="Familienzentrum am Park",
        description="Beratung und Eltern-Kind-Gruppen.",
        locations=[location],
        categories=[family, child],
        opening_hours="Mo-Fr 09:00-17:00",
        phone="030 1234",
    )
    return service


def jsonld(response) -> dict:
    match = re.search(
        r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def test_map_page_passes_tile_settings_and_urls_through_json_script(client, settings, centre):
    settings.ATLAS_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    response = client.get(reverse("atlas:map"), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    config = json.loads(
        re.search(
            r'<script id="map-config" type="application/json">(.*?)</script>',
            response.content.decode(),
            re.S,
        ).group(1)
    )
    assert config["tiles"]["url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert config["urls"]["count"] == reverse("atlas:map_count")
    assert config["urls"]["tile"] == "/karte/kacheln/{z}/{x}/{y}.json"
    assert {c["slug"] for c in config["categories"]} == {"familie", "familienzentrum"}
    assert 'href="/liste/"' in response.content.decode()
    assert ">Liste</a>" in response.content.decode()


def test_only_the_embed_view_may_be_framed(client):
    assert client.get(reverse("atlas:map"))["X-Frame-Options"] == "DENY"
    assert client.get(reverse("atlas:list"))["X-Frame-Options"] == "DENY"
    embedded = client.get(reverse("atlas:embed") + "?category=familie")
    assert embedded.status_code == 200
    assert "X-Frame-Options" not in embedded
    assert 'class="site-header"' not in embedded.content.decode()


def test_map_count_covers_published_services_only(client, centre, family):
    ServiceFactory(status=Service.Status.DRAFT, locations=[LocationFactory()], categories=[family])
    ServiceFactory(valid_until="2000-01-01", locations=[LocationFactory()])
    ServiceFactory(name="Ohne Standort", categories=[family])  # no marker, so not counted
    assert client.get(reverse("atlas:map_count")).json() == {"count": 1}


def test_map_count_applies_the_api_filters(client, centre, family):
    youth = CategoryFactory(slug="jugend")
    ServiceFactory(name="Jugendclub", locations=[LocationFactory()], categories=[youth])
    assert client.get(reverse("atlas:map_count") + "?category=jugend").json()["count"] == 1
    both = client.get(reverse("atlas:map_count") + "?category=jugend&category=familie")
    assert both.json()["count"] == 2
    assert client.get(reverse("atlas:map_count") + "?q=Familienzentrum").json()["count"] == 1


def test_map_count_counts_a_service_at_two_matching_locations_once(client, family):
    ServiceFactory(
        locations=[
            LocationFactory(point=Point(13.40, 52.52)),
            LocationFactory(point=Point(13.1, 52.4)),
        ],
        categories=[family],
    )
    assert client.get(reverse("atlas:map_count")).json()["count"] == 1
    nearby = client.get(reverse("atlas:map_count") + "?near=13.10,52.40&radius=500")
    assert nearby.json()["count"] == 1
    nowhere = client.get(reverse("atlas:map_count") + "?near=13.70,52.40&radius=500")
    assert nowhere.json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("category=no-such-category", "category"),
        ("age=abc", "age"),
        ("radius=500", "radius"),
        ("near=200,100", "near"),
        ("free=maybe", "free"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(client, query, parameter):
    count = client.get(reverse("atlas:map_count") + f"?{query}")
    assert count.status_code == 400
    assert parameter in count.json()["errors"]
    page = client.get(reverse("atlas:list") + f"?{query}", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 400
    assert f"<strong>{parameter}</strong>" in page.content.decode()


def test_list_is_filtered_and_paginated_without_javascript(client, family):
    for i in range(30):
        ServiceFactory(name=f"Angebot {i:02d}", locations=[LocationFactory()], categories=[family])
    ServiceFactory(name="Ohne Kategorie", locations=[LocationFactory()])
    first = client.get(reverse("atlas:list") + "?category=familie", HTTP_ACCEPT_LANGUAGE="de")
    html = first.content.decode()
    assert "30 Angebote gefunden" in html
    assert html.count('class="service-item"') == 25
    assert 'href="?category=familie&amp;page=2"' in html
    second = client.get(reverse("atlas:list") + "?category=familie&page=2")
    assert second.content.decode().count('class="service-item"') == 5
    # A page number out of range shows the last page instead of failing.
    assert client.get(reverse("atlas:list") + "?page=999").status_code == 200
    assert client.get(reverse("atlas:list") + "?page=abc").status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [f"Angebot {i:02d}" for i in range(25, 30)]),
        # Nearest first: the order of the filter, not of the names, carries over.
        ("near=13.429,52.52&radius=5000", [f"Angebot {i:02d}" for i in range(4, -1, -1)]),
    ],
)
def test_a_list_page_shows_its_services_in_the_lists_order(client, query, expected):
    """The list pages the ids, then reads those services (atlas.site.views._list_page):
    the second page shows the right five, in order, with their organisations, categories
    and locations."""
    for i in range(30):
        ServiceFactory(
            name=f"Angebot {i:02d}",
            locations=[LocationFactory(point=Point(13.40 + i / 1000, 52.52, srid=4326))],
        )
    response = client.get(reverse("atlas:list") + f"?{query}&page=2")
    assert response.status_code == 200
    page = response.context["page_obj"]
    assert [service.name for service in page] == expected
    assert all(service.organization.name in response.content.decode() for service in page)
    assert all(len(service.locations.all()) == 1 for service in page)


def test_detail_page_shows_what_a_resident_needs(client, centre, family):
    location = centre.locations.get()
    neighbour = ServiceFactory(name="Elterncafé", locations=[location], categories=[family])
    public = ContactFactory(
        organization=centre.organization,
        service=centre,
        name="Frau Beispiel",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2025-01-01",
        phone="030 555",
        internal_phone="030 999-77",
    )
    ContactFactory(organization=centre.organization, service=centre, name="Herr Intern")
    response = client.get(
        reverse("atlas:service_detail", args=[centre.pk]), HTTP_ACCEPT_LANGUAGE="de"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Parkweg 3" in html and "Beratung und Eltern-Kind-Gruppen." in html
    assert public.name in html and "030 555" in html
    assert "Herr Intern" not in html and "030 999-77" not in html
    assert f'href="{reverse("atlas:service_detail", args=[neighbour.pk])}"' in html
    assert "09:00–17:00" in html
    assert centre.organization.name in html
    data = jsonld(response)
    assert data["@type"] == "Service"
    assert data["name"] == "Familienzentrum am Park"
    assert data["provider"]["name"] == centre.organization.name
    place = data["availableChannel"][0]["serviceLocation"]
    assert place["address"]["streetAddress"] == "Parkweg 3"
    assert place["geo"] == {"@type": "GeoCoordinates", "latitude": 52.52, "longitude": 13.4}


def test_detail_page_of_unpublished_service_is_not_found(client, family):
    draft = ServiceFactory(status=Service.Status.DRAFT, locations=[LocationFactory()])
    assert client.get(reverse("atlas:service_detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("atlas:service_popup", args=[draft.pk])).status_code == 404
    assert client.get("/angebote/abc/").status_code == 404


def test_popup_links_to_the_detail_page(client, centre):
    response = client.get(reverse("atlas:service_popup", args=[centre.pk]))
    assert reverse("atlas:service_detail", args=[centre.pk]) in response.content.decode()
    assert "Parkweg 3" in response.content.decode()


def test_area_page_lists_services_by_category_with_counts(client, family):
    layer = LayerFactory(slug="bezirke", name="Bezirke")
    area = AreaFactory(layer=layer, code="01", name="Mitte", geometry=square(13.3, 52.4, 0.3))
    AreaFactory(layer=layer, code="02", name="Anderswo", geometry=square(14.0, 53.0, 0.1))
    youth = CategoryFactory(slug="jugend", name="Jugend")
    for _ in range(3):
        ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))], categories=[family])
    ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))], categories=[youth])
    ServiceFactory(locations=[LocationFactory(point=Point(14.05, 53.05))], categories=[youth])
    response = client.get(
        reverse("atlas:area_detail", args=["bezirke", "01"]), HTTP_ACCEPT_LANGUAGE="de"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 Angebote in diesem Gebiet" in html
    counts = dict(
        re.findall(r'<th scope="row"><a href="#category-\d+">([^<]+)</a></th><td[^>]*>(\d+)', html)
    )
    assert counts == {"Familie": "3", "Jugend": "1"}
    assert f"?area={area.pk}" in html
    assert client.get(reverse("atlas:area_detail", args=["bezirke", "99"])).status_code == 404
    assert client.get(reverse("atlas:area_detail", args=["nope", "01"])).status_code == 404


def test_area_outlines_are_geojson_with_service_counts(client, family):
    layer = LayerFactory(slug="bezirke")
    AreaFactory(layer=layer, code="01", name="Mitte", geometry=square(13.3, 52.4, 0.3))
    ServiceFactory(locations=[LocationFactory(point=Point(13.4, 52.5))], categories=[family])
    data = client.get(reverse("atlas:area_outlines", args=["bezirke"])).json()
    [feature] = data["features"]
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert feature["geometry"]["coordinates"]
    assert feature["properties"]["services"] == 1
    assert feature["properties"]["url"] == reverse("atlas:area_detail", args=["bezirke", "01"])
    assert client.get(reverse("atlas:area_outlines", args=["nope"])).status_code == 404


def test_language_switch_translates_the_page(client):
    german = client.get(reverse("atlas:list"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ergebnisse anzeigen" in german
    client.post(reverse("set_language"), {"language": "en", "next": "/liste/"})
    english = client.get(reverse("atlas:list")).content.decode()
    assert "Show results" in english and 'lang="en"' in english


def test_report_link_appears_only_where_the_report_form_exists(client, centre):
    html = client.get(
        reverse("atlas:service_detail", args=[centre.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    try:
        url = reverse("providers:report_problem", kwargs={"pk": centre.pk})
    except NoReverseMatch:
        assert "Fehler in diesem Eintrag melden" not in html
    else:
        assert f'href="{url}"' in html


def test_map_count_reflects_a_new_service_at_once_despite_the_cache(client, centre, family):
    assert client.get(reverse("atlas:map_count")).json()["count"] == 1
    ServiceFactory(locations=[LocationFactory()], categories=[family])
    assert client.get(reverse("atlas:map_count")).json()["count"] == 2
    centre.status = Service.Status.ARCHIVED
    centre.save()
    assert client.get(reverse("atlas:map_count")).json()["count"] == 1
