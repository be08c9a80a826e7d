"""The lookup: areas on every current layer, responsibility fallback, nearby services,
who sees internal contacts, and polite answers to bad input."""

import datetime
import logging

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from atlas.core.log_filters import RedactQueryStrings
from atlas.lookup.queries import lookup_address, lookup_point
from planning_areas.models import Layer
from providers.models import Contact
from tests.factories import (
    AddressFactory,
    AreaFactory,
    CategoryFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    ResponsibilityFactory,
    ServiceFactory,
    StreetFactory,
    UserFactory,
    square,
)

pytestmark = pytest.mark.django_db

INSIDE = Point(13.05, 52.05, srid=4326)


@pytest.fixture
def client(client, caseworker):
    """The lookup and its API are for caseworkers: tests call them as one unless they log in
    as someone else (force_login replaces the user)."""
    client.force_login(caseworker)
    return client


@pytest.fixture
def anonymous(db):
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def english(client):
    """Messages are asserted in the source language, whether or not German is compiled."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


CONSENT = datetime.date(2024, 1, 1)


@pytest.fixture
def areas():
    """District ⊃ region ⊃ block, on three layers, around (13.05, 52.05)."""
    districts = LayerFactory(slug="t-bezirke", name="Bezirke", level=1)
    regions = LayerFactory(slug="t-regionen", name="Regionen", level=2, parent=districts)
    blocks = LayerFactory(slug="t-plr", name="Planungsräume", level=3, parent=regions)
    district = AreaFactory(
        layer=districts, code="01", name="Bezirk", geometry=square(13.0, 52.0, 0.4)
    )
    region = AreaFactory(
        layer=regions, code="0101", name="Region", parent=district, geometry=square(13.0, 52.0, 0.2)
    )
    block = AreaFactory(
        layer=blocks, code="01010101", name="Block", parent=region, geometry=square(13.0, 52.0, 0.1)
    )
    return {"district": district, "region": region, "block": block}


@pytest.fixture
def contacts(areas):
    family = CategoryFactory(slug="familienberatung", name="Familienberatung")
    rsd = ContactFactory(name="RSD Region", internal_phone="030 111-1")
    hotline = ContactFactory(
        name="Hotline Bezirk",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date=CONSENT,
        phone="030 222",
        internal_phone="030 222-9",
    )
    counselling = ContactFactory(
        name="Beratung Region",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date=CONSENT,
        internal_phone="030 333-9",
    )
    ResponsibilityFactory(contact=rsd, area=areas["region"])
    ResponsibilityFactory(contact=hotline, area=areas["district"])
    ResponsibilityFactory(contact=counselling, area=areas["region"], category=family)
    return {"rsd": rsd, "hotline": hotline, "counselling": counselling, "family": family}


@pytest.fixture
def address(areas):
    return AddressFactory(
        street=StreetFactory(name="Karl-Marx-Straße"),
        house_number=12,
        house_number_suffix="A",
        postcode="12043",
        district="Neukölln",
        area=areas["block"],
    )


def _names(result):
    return [c.contact.name for c in result.contacts]


def test_a_point_gets_its_area_on_every_current_layer(areas, caseworker):
    result = lookup_point(INSIDE, user=caseworker)
    assert [(h.area.layer.slug, h.area.code) for h in result.areas] == [
        ("t-plr", "01010101"),
        ("t-regionen", "0101"),
        ("t-bezirke", "01"),
    ]
    assert result.missing_layers == []


def test_responsibility_falls_back_to_parent_areas(areas, contacts, caseworker):
    result = lookup_point(INSIDE, user=caseworker)
    assert _names(result) == ["Beratung Region", "RSD Region", "Hotline Bezirk"]
    assert all(c.inherited for c in result.contacts)
    assert [c.area.code for c in result.contacts] == ["0101", "0101", "01"]


def test_the_most_specific_responsibility_comes_first(areas, contacts, caseworker):
    own = ContactFactory(name="Schulsozialarbeit Block")
    ResponsibilityFactory(contact=own, area=areas["block"])
    result = lookup_point(INSIDE, user=caseworker)
    assert _names(result)[0] == "Schulsozialarbeit Block"
    assert result.contacts[0].inherited is False


def test_a_category_narrows_the_contacts(areas, contacts, caseworker):
    other = CategoryFactory(slug="senioren")
    senior = ContactFactory(name="Seniorenberatung")
    ResponsibilityFactory(contact=senior, area=areas["block"], category=other)
    result = lookup_point(INSIDE, user=caseworker, category=contacts["family"])
    assert "Seniorenberatung" not in _names(result)
    assert "Beratung Region" in _names(result)
    assert "Hotline Bezirk" in _names(result)  # responsible for everything


def test_expired_responsibilities_do_not_count(areas, contacts, caseworker):
    old = ContactFactory(name="Ehemals zuständig")
    ResponsibilityFactory(contact=old, area=areas["block"], valid_until=datetime.date(2020, 12, 31))
    assert "Ehemals zuständig" not in _names(lookup_point(INSIDE, user=caseworker))


def test_nearest_services_are_published_and_ordered_by_distance(areas):
    near = LocationFactory(point=Point(13.051, 52.05, srid=4326))
    far = LocationFactory(point=Point(13.08, 52.05, srid=4326))
    ServiceFactory(name="Fern", locations=[far])
    ServiceFactory(name="Nah", locations=[near])
    ServiceFactory(name="Entwurf", locations=[near], status="draft")
    result = lookup_point(INSIDE, user=None)
    assert [s.service.name for s in result.services] == ["Nah", "Fern"]
    assert 60 < result.services[0].distance_m < 75  # 0.001° of longitude at 52° N


def test_an_address_without_position_is_approximate(areas, contacts, address, caseworker):
    inside = LocationFactory(point=Point(13.02, 52.02, srid=4326))
    outside = LocationFactory(point=Point(13.15, 52.15, srid=4326))
    ServiceFactory(name="Im Planungsraum", locations=[inside])
    ServiceFactory(name="Anderswo", locations=[outside])
    result = lookup_address(address, user=caseworker)
    assert result.approximate is True
    assert [h.area.code for h in result.areas] == ["01010101", "0101", "01"]
    assert [s.service.name for s in result.services] == ["Im Planungsraum"]
    assert any("approximate" in m for m in result.messages)
    assert result.point is not None


def test_an_address_with_position_is_looked_up_by_its_point(areas, address, caseworker):
    address.point = INSIDE
    address.area = None
    address.save()
    result = lookup_address(address, user=caseworker)
    assert result.approximate is False
    assert result.areas[0].area.code == "01010101"


def test_a_retired_layer_derives_current_areas_from_a_point_inside(areas, address, caseworker):
    Layer.objects.filter(slug="t-plr").update(valid_until=datetime.date(2020, 12, 31))
    new_layer = LayerFactory(slug="t-plr-neu", level=3)
    AreaFactory(layer=new_layer, code="NEU1", geometry=square(13.0, 52.0, 0.1))
    result = lookup_address(address, user=caseworker)
    codes = {(h.area.code, h.approximate) for h in result.areas}
    assert ("NEU1", True) in codes
    assert ("01010101", False) not in codes
    assert any("no longer current" in m for m in result.messages)


# --- API -----------------------------------------------------------------------------


def _lookup(client, **params):
    return client.post(reverse("api:lookup"), params)


@pytest.fixture
def plain_user(db):
    return UserFactory(username="someone")


@pytest.mark.parametrize(
    ("who", "status"),
    [("caseworker", 200), ("editor", 200), ("admin_user_", 200)]
    + [("org_editor_a", 403), ("plain_user", 403)],
)
@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        ("get", "lookup:lookup", {}),
        ("post", "lookup:lookup", {"lat": "52.05", "lon": "13.05"}),
        ("post", "api:lookup", {"lat": "52.05", "lon": "13.05"}),
        ("post", "api:address-search", {"q": "Karl-Marx-Str"}),
    ],
)
def test_the_lookup_and_its_api_answer_only_caseworkers_editors_and_admins(
    request, client, areas, who, status, method, url, params
):
    client.force_login(request.getfixturevalue(who))
    response = getattr(client, method)(reverse(url), params)
    assert response.status_code == status
    assert ("Region" in response.content.decode()) is (status == 200 and "lat" in params)


@pytest.mark.parametrize("url", ["api:lookup", "api:address-search"])
def test_the_lookup_api_refuses_anonymous_callers(anonymous, areas, url):
    response = anonymous.post(reverse(url), {"lat": "52.05", "lon": "13.05", "q": "Karl"})
    assert response.status_code == 403
    assert "Region" not in response.content.decode()


@pytest.mark.parametrize("who", ["caseworker", "admin_user_", "editor"])
def test_internal_contacts_on_the_api_for_caseworkers_editors_and_admins(
    request, client, contacts, who
):
    client.force_login(request.getfixturevalue(who))
    data = _lookup(client, lat=52.05, lon=13.05).json()
    names = [c["name"] for c in data["contacts"]]
    assert "RSD Region" in names
    hotline = next(c for c in data["contacts"] if c["name"] == "Hotline Bezirk")
    assert hotline["internal_phone"] == "030 222-9"


def test_the_lookup_api_by_address_text(client, contacts, address):
    data = _lookup(client, address="Karl-Marx-Str. 12 a").json()
    assert data["match"] == "exact"
    assert data["address"]["label"] == "Karl-Marx-Straße 12A, 12043 Neukölln"
    assert data["approximate"] is True
    assert [a["code"] for a in data["areas"]] == ["01010101", "0101", "01"]


def test_a_misspelt_address_is_a_closest_match_that_says_so(client, areas, address):
    data = _lookup(client, address="Karl-Marx-Str. 14").json()
    assert data["match"] == "closest"
    assert "closest" in data["messages"][0]


def test_the_search_api_returns_suggestions(client, address):
    data = client.post(reverse("api:address-search"), {"q": "karlmarx str 12a"}).json()
    assert data["results"][0]["label"] == "Karl-Marx-Straße 12A, 12043 Neukölln"
    assert data["results"][0]["id"] == address.pk


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 500}, "q"),
        ({"q": "Karl", "limit": "0"}, "limit"),
        ({"q": "Karl", "limit": "abc"}, "limit"),
    ],
)
def test_bad_search_input_is_a_400_naming_the_parameter(client, params, parameter):
    response = client.post(reverse("api:address-search"), params)
    assert response.status_code == 400
    assert parameter in response.json()


def test_only_a_house_number_is_a_polite_empty_answer(client, address):
    for url, params in (
        (reverse("api:address-search"), {"q": "12"}),
        (reverse("api:lookup"), {"address": "12"}),
    ):
        response = client.post(url, params)
        assert response.status_code == 200
        assert "street" in str(response.json()["messages" if "lookup" in url else "message"])


def test_an_address_outside_the_city_is_a_polite_empty_answer(client, address):
    data = _lookup(client, address="Marienplatz 1, 80331 München").json()
    assert data["match"] == "none"
    assert data["address"] is None
    assert "80331" in data["messages"][0]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "address"),
        ({"address": ""}, "address"),
        ({"address": "x" * 500}, "address"),
        ({"lat": "52.5"}, "lon"),
        ({"lat": "abc", "lon": "13.4"}, "lat"),
        ({"lat": "95", "lon": "13.4"}, "lat"),
        ({"lat": "52.5", "lon": "200"}, "lon"),
        ({"lat": "52.5", "lon": "13.4", "address": "Karl-Marx-Str 1"}, "address"),
        ({"address_id": "999999"}, "address_id"),
        ({"address_id": "x"}, "address_id"),
        ({"lat": "52.5", "lon": "13.4", "category": "unbekannt"}, "category"),
        ({"lat": "52.5", "lon": "13.4", "limit": "1000"}, "limit"),
    ],
)
def test_bad_lookup_input_is_a_400_naming_the_parameter(client, params, parameter):
    response = _lookup(client, **params)
    assert response.status_code == 400
    assert parameter in response.json()


def test_a_point_in_the_sea_is_outside_every_area(client, areas):
    data = _lookup(client, lat=54.5, lon=2.0).json()
    assert data["areas"] == []
    assert {layer["slug"] for layer in data["missing_layers"]} == {
        "t-bezirke",
        "t-regionen",
        "t-plr",
    }
    assert any("outside every planning area" in m for m in data["messages"])
    assert data["services"] == []


def test_no_current_layer_is_a_polite_answer(client, areas, address):
    Layer.objects.update(valid_until=datetime.date(2020, 1, 1))
    for params in ({"lat": 52.05, "lon": 13.05}, {"address_id": address.pk}):
        response = _lookup(client, **params)
        assert response.status_code == 200
        data = response.json()
        assert data["areas"] == []
        assert any("No layer" in m for m in data["messages"])


def test_searches_and_lookups_write_nothing_to_the_database(client, caseworker, contacts, address):
    client.force_login(caseworker)
    with CaptureQueriesContext(connection) as captured:
        client.post(reverse("api:address-search"), {"q": "Karl-Marx-Str 12"})
        _lookup(client, address="Karl-Marx-Str 12")
        client.post(reverse("lookup:lookup"), {"address": "Karl-Marx-Str 12"})
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


@pytest.mark.parametrize("url", ["api:address-search", "api:lookup"])
def test_addresses_cannot_be_sent_in_a_url(client, address, url):
    response = client.get(reverse(url), {"q": "Karl-Marx-Str 12", "address": "Karl-Marx-Str 12"})
    assert response.status_code == 405


def test_typed_addresses_never_reach_the_log(client, contacts, address, caplog):
    secret = "Karl-Marx-Str 12"
    caplog.set_level(logging.DEBUG)
    client.post(reverse("api:address-search"), {"q": secret})
    client.post(reverse("api:address-search"), {"q": secret + "\x00"})  # a 400
    client.post(reverse("api:lookup"), {"address": secret})
    client.post(reverse("api:lookup"), {"address": secret, "lat": "x"})  # a 400
    client.get(reverse("api:address-search"), {"q": secret})  # a 405
    client.post(reverse("lookup:lookup"), {"address": secret})
    assert caplog.records, "the requests logged nothing: the test would prove nothing"
    assert "Karl" not in caplog.text


def test_request_log_lines_lose_their_query_string():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /api/v1/addresses/?q=Karl-Marx-Str%2012 HTTP/1.1", "200", "512"),
        None,
    )
    RedactQueryStrings().filter(record)
    assert "Karl" not in record.getMessage()
    assert "/api/v1/addresses/?…" in record.getMessage()


# --- page ----------------------------------------------------------------------------


def test_the_page_needs_a_login(anonymous):
    response = anonymous.get(reverse("lookup:lookup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "sees_internal"),
    [("caseworker", True), ("editor", True), ("admin_user_", True)],
)
def test_internal_contacts_on_the_page_only_for_those_allowed(
    request, client, contacts, who, sees_internal
):
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("lookup:lookup"), {"lat": "52.05", "lon": "13.05"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hotline Bezirk" in html
    assert ("RSD Region" in html) is sees_internal
    assert ("030 222-9" in html) is sees_internal
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_answers_a_typed_address(client, caseworker, contacts, address):
    client.force_login(caseworker)
    response = client.post(reverse("lookup:lookup"), {"address": "Karl Marx Str 12A"})
    html = response.content.decode()
    assert "Karl-Marx-Straße 12A, 12043 Neukölln" in html
    assert "01010101" in html
    assert "RSD Region" in html


def test_a_clicked_point_gives_the_same_answer_as_the_api(client, caseworker, contacts):
    client.force_login(caseworker)
    api = _lookup(client, lat=52.05, lon=13.05).json()
    html = client.post(reverse("lookup:lookup"), {"lat": "52.05", "lon": "13.05"}).content.decode()
    for area in api["areas"]:
        assert area["code"] in html
    for contact in api["contacts"]:
        assert contact["name"] in html


def test_bad_page_input_is_a_polite_400(client, caseworker, areas):
    client.force_login(caseworker)
    response = client.post(reverse("lookup:lookup"), {"address": "x" * 500})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_print_layout_hides_internal_parts(client, caseworker, contacts):
    client.force_login(caseworker)
    html = client.post(reverse("lookup:lookup"), {"lat": "52.05", "lon": "13.05"}).content.decode()
    assert 'class="contact internal"' in html
    assert '<span class="internal">' in html


@pytest.mark.parametrize("text", ["zz", "Xyzzy", "zz 12", "ö"])
def test_text_matching_no_street_is_an_empty_answer(client, address, text):
    response = client.post(reverse("api:address-search"), {"q": text})
    assert response.status_code == 200
    assert response.json()["results"] == []
