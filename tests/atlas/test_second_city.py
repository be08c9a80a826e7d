"""Auenstadt, a fictional second municipality, loaded end to end through its profile.

Its files are unlike Berlin's on purpose (see tests/fixtures/second_city/make_files.py):
EPSG:25832, 3D area geometries, a zipped address CSV with lower-case fields and no
postcodes, a service list without coordinates. Nothing the atlas shows may say Berlin.
"""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from planning_areas.address_search import district_names, search_addresses
from planning_areas.models import Address, Area, Layer
from providers.hsds import build
from providers.models import Location, Service

PROFILE = Path(__file__).resolve().parents[1] / "fixtures" / "second_city" / "profile.toml"
BERLIN = re.compile("berlin", re.IGNORECASE)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("auenstadt")]


@pytest.fixture(scope="module")
def auenstadt(django_db_setup, django_db_blocker):
    """Auenstadt committed once for the module, rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("load_profile", str(PROFILE), "--commit", stdout=out)
        district_names.clear()
        print(out.getvalue())  # the report with the time of each step (pytest -s shows it)
        yield out.getvalue()
        transaction.set_rollback(True)
    district_names.clear()


@pytest.fixture(autouse=True)
def municipality(settings):
    """The operator's settings for Auenstadt (README: the two lines a new city sets)."""
    settings.ATLAS_MUNICIPALITY_NAME = "Auenstadt"
    settings.ATLAS_STATE = "Niedersachsen"


def test_the_report_names_every_step_with_its_time(auenstadt):
    steps = re.findall(r"^== (.+) \((\d+\.\d) s\)$", auenstadt, re.MULTILINE)
    assert [name for name, _seconds in steps] == [
        "layer stadtbezirke",
        "layer stadtteile",
        "indicators einwohner.csv (stadtteile)",
        "categories and target groups",
        "addresses",
        "services angebote.csv",
        "statistics",
    ]
    assert "Committed" in auenstadt


def test_areas_in_utm32_with_3d_coordinates_are_stored_in_2d_wgs84_with_parents():
    quarters = Area.objects.filter(layer__slug="stadtteile").select_related("parent")
    assert {(a.code, a.parent.code) for a in quarters} == {
        ("101", "1"),
        ("102", "1"),
        ("201", "2"),
        ("202", "2"),
    }
    assert Layer.objects.get(slug="stadtteile").parent.slug == "stadtbezirke"
    for area in Area.objects.all():
        assert not area.geometry.hasz
        assert 9.7 < area.geometry.centroid.x < 9.8 and 52.3 < area.geometry.centroid.y < 52.4


def test_population_and_indicators_come_from_the_residents_table():
    quarter = Area.objects.get(layer__slug="stadtteile", code="201")
    assert quarter.population == 5120
    values = dict(quarter.indicator_values.values_list("indicator__slug", "value"))
    assert values == {"einwohner": 5120, "einwohner_unter_18": 1033}


def test_addresses_without_postcodes_are_named_after_their_stadtteil():
    assert Address.objects.count() == 10  # the street-only row and the repeat skipped
    assert not Address.objects.exclude(postcode="").exists()
    lindenallee = Address.objects.get(street__name="Lindenallee", house_number=20)
    assert lindenallee.district == "Mühlenviertel"
    assert Address.objects.get(street__name="Am Markt", house_number_suffix="A").district == "Markt"


def test_services_without_coordinates_are_geocoded_into_their_stadtteil():
    location = Location.objects.get(external_id="auen:2")
    assert location.city == "Auenstadt"
    quarter = location.areas.get(layer__slug="stadtteile")
    assert quarter.name == "Mühlenviertel"
    assert Service.objects.published().count() == 3


def test_a_typed_postcode_ranks_and_does_not_empty_the_search():
    result = search_addresses("Lindenallee 20, 31002 Auenstadt")
    best = result.suggestions[0]
    assert (best.street, best.house_number, best.district) == ("Lindenallee", 20, "Mühlenviertel")


def test_an_exact_number_outranks_the_district_typed_with_it():
    best = search_addresses("Auenstraße 1 Weidenkamp").suggestions[0]
    assert (best.street, best.house_number) == ("Auenstraße", 1)


def _pages(client) -> dict[str, str]:
    service = Service.objects.get(external_id="auen:1")
    urls = [
        "/",
        "/liste/",
        reverse("atlas:service_detail", args=[service.pk]),
        reverse("atlas:area_detail", args=["stadtteile", "101"]),
        "/api/v1/services/",
        f"/api/v1/services/{service.pk}/",
        "/api/v1/locations/",
        "/api/v1/organizations/",
        "/api/v1/layers/",
        "/api/v1/categories/",
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


def test_pages_and_api_answers_name_auenstadt_and_never_berlin(client):
    pages = _pages(client)
    for url, text in pages.items():
        assert not BERLIN.search(text), f"{url}: {BERLIN.search(text)}"
    detail = pages[
        reverse("atlas:service_detail", args=[Service.objects.get(external_id="auen:1").pk])
    ]
    assert "Familienzentrum Am Markt" in detail


def test_json_ld_names_the_city_of_the_profile(client):
    service = Service.objects.get(external_id="auen:1")
    html = client.get(reverse("atlas:service_detail", args=[service.pk])).content.decode()
    blocks = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    assert blocks
    text = " ".join(blocks)
    assert "Auenstadt" in text
    assert not BERLIN.search(text)


def test_hsds_export_names_the_state_and_never_berlin():
    tables = build()
    text = json.dumps(tables, ensure_ascii=False)
    assert not BERLIN.search(text)
    assert {a["state_province"] for a in tables["addresses"]} == {"Niedersachsen"}
    assert {a["city"] for a in tables["addresses"]} == {"Auenstadt"}
