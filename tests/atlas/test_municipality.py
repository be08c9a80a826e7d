"""Another municipality's data: nothing it shows says Berlin, everything says its own name."""

import io
import json

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command

from providers.hsds import build
from providers.models import Location
from tests.factories import (
    AddressFactory,
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    StreetFactory,
    square,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def musterstadt(settings):
    settings.ATLAS_DEFAULT_CITY = "Musterstadt"
    settings.ATLAS_STATE = "Baden-Württemberg"
    layer = LayerFactory(
        slug="stadtbezirke", name="Stadtbezirke", source="Stadt Musterstadt", licence="CC BY 4.0"
    )
    AreaFactory(layer=layer, code="01", name="Altstadt", geometry=square(8.40, 48.95, 0.05))
    AddressFactory(
        street=StreetFactory(name="Marktplatz"),
        house_number=1,
        postcode="76131",
        district="Altstadt",
        point=Point(8.42, 48.97, srid=4326),
        source="Vermessungsamt Musterstadt",
    )
    location = LocationFactory(
        name="Haus am Markt",
        street="Marktplatz",
        house_number="1",
        postcode="76131",
        point=Point(8.42, 48.97, srid=4326),
    )
    return ServiceFactory(
        name="Familientreff",
        locations=[location],
        categories=[CategoryFactory(slug="familie", name="Familie")],
    )


def test_a_new_location_takes_the_municipalitys_name(musterstadt):
    assert Location.objects.get().city == "Musterstadt"


def test_imported_rows_take_the_municipalitys_name_and_the_mappings_source(musterstadt, tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\nexternal_id = "Nr"\nname = "Name"\norganization = "Träger"\n'
        'street = "Straße"\nhouse_number = "Nr_Haus"\nlatitude = "Breite"\n'
        'longitude = "Länge"\n[defaults]\nsource = "Jugendamt Musterstadt"\n'
        'licence = "CC BY 4.0"\n',
        encoding="utf-8",
    )
    rows = tmp_path / "angebote.csv"
    rows.write_text(
        "Nr,Name,Träger,Straße,Nr_Haus,Breite,Länge\n"
        "1,Jugendtreff Süd,Verein Süd,Marktplatz,2,48.971,8.421\n",
        encoding="utf-8",
    )
    call_command(
        "import_services", str(rows), mapping=str(mapping), commit=True, stdout=io.StringIO()
    )
    location = Location.objects.get(street="Marktplatz", house_number="2")
    assert location.city == "Musterstadt"
    service = location.services.get()
    assert (service.source, service.licence) == ("Jugendamt Musterstadt", "CC BY 4.0")


def test_pages_and_api_answers_never_say_berlin(musterstadt, client, caseworker):
    service = musterstadt
    urls = [
        "/",
        "/liste/",
        f"/angebote/{service.pk}/",
        "/gebiete/stadtbezirke/01/",
        "/api/v1/services/",
        "/api/v1/locations/",
        "/api/v1/layers/",
        "/api/v1/areas/?point=8.42,48.97",
        "/karte/anzahl.json",
        "/karte/kacheln/10/550/335.json",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Berlin" not in response.content.decode(), url
    client.force_login(caseworker)
    lookup = client.get("/lookup/").content.decode()
    assert "Berlin" not in lookup and "Neukölln" not in lookup
    assert "Marktplatz 1, 76131 Altstadt" in lookup  # the placeholder
    assert "Stadt Musterstadt (CC BY 4.0)" in client.get("/").content.decode()


def test_json_ld_names_the_locations_city(musterstadt, client):
    response = client.get(f"/angebote/{musterstadt.pk}/")
    script = response.content.decode().split('type="application/ld+json">')[1].split("</script>")
    data = json.loads(script[0])
    address = data["availableChannel"][0]["serviceLocation"]["address"]
    assert address["addressLocality"] == "Musterstadt"
    assert data["areaServed"] == "Musterstadt"


def test_hsds_addresses_carry_the_configured_state(musterstadt):
    tables = build()
    assert "Berlin" not in json.dumps(tables, default=str)
    [address] = tables["addresses"]
    assert (address["city"], address["state_province"]) == ("Musterstadt", "Baden-Württemberg")


def test_hsds_state_is_empty_when_not_configured(musterstadt, settings):
    settings.ATLAS_STATE = ""
    [address] = build()["addresses"]
    assert address["state_province"] == ""


def test_json_ld_leaves_out_a_city_nobody_configured(musterstadt, client, settings):
    settings.ATLAS_DEFAULT_CITY = ""
    location = LocationFactory(point=Point(8.43, 48.97, srid=4326))
    assert location.city == ""
    service = ServiceFactory(locations=[location])
    response = client.get(f"/angebote/{service.pk}/")
    script = response.content.decode().split('type="application/ld+json">')[1].split("</script>")
    data = json.loads(script[0])
    assert "addressLocality" not in data["availableChannel"][0]["serviceLocation"]["address"]
    assert "areaServed" not in data
