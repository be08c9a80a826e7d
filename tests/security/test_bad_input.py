"""Inputs from the audit (issue 10 item 5) that answered 500: each now gets a clear 4xx or
an empty result."""

import datetime
import json

import pytest
from django.contrib.gis.geos import Point

from tests.factories import (
    AreaFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    square,
)

pytestmark = pytest.mark.django_db

NO_WORD_QUERIES = ["-", "…", "\ufeff", "!!!", "  ", "\u200b", "--", "'", "%"]


@pytest.fixture
def data():
    layer = LayerFactory(slug="bezirke", valid_from=datetime.date(2021, 1, 1))
    AreaFactory(layer=layer, code="01", geometry=square(13.3, 52.45, 0.2))
    ServiceFactory(name="Familienzentrum", locations=[LocationFactory(point=Point(13.4, 52.5))])


@pytest.mark.parametrize("q", NO_WORD_QUERIES)
def test_list_page_answers_a_search_without_word_characters(client, data, q):
    response = client.get("/liste/", {"q": q})
    assert response.status_code == 200


@pytest.mark.parametrize("q", NO_WORD_QUERIES)
def test_api_treats_a_search_without_word_characters_as_no_search(client, data, q):
    response = client.get("/api/v1/services/", {"q": q})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == 1  # like an empty search box


@pytest.mark.parametrize("q", NO_WORD_QUERIES)
def test_api_csv_export_answers_a_search_without_word_characters(client, data, q):
    response = client.get("/api/v1/services/export.csv", {"q": q})
    assert response.status_code == 200
    b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "url",
    [
        "/gebiete/bezirke/%00/",
        "/gebiete/bezirke/01%00/",
        "/karte/gebiete/bezirke.json?code=%00",
        "/api/v1/layers/bezirke/areas/%00/",
        "/api/v1/services/?area=bezirke:%00",
        "/liste/?area=bezirke:%00",
        "/karte/anzahl.json?area=bezirke:%00",
        "/karte/kacheln/10/550/335.json?area=bezirke:%00",
    ],
)
def test_a_nul_byte_in_an_area_code_is_a_client_error(client, data, url):
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_the_map_page_with_a_nul_byte_area_still_loads(client, data):
    # The page itself does not filter; its points request answers 400 (above).
    response = client.get("/", {"area": "bezirke:\x00"})
    assert response.status_code == 200


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "url", ["/api/v1/services/", "/api/v1/organizations/", "/api/v1/locations/"]
)
def test_deeply_nested_json_in_a_write_is_a_400(admin_client, url):
    body = '{"name": ' + nested(100_000) + "}"
    response = admin_client.post(
        url, body, content_type="application/json", headers={"accept-language": "en"}
    )
    assert response.status_code == 400
    assert "nest" in json.dumps(response.json()).lower()


def test_json_33_levels_deep_is_refused(admin_client):
    body = '{"name": "x", "extra": ' + nested(32) + "}"
    response = admin_client.post(
        "/api/v1/organizations/",
        body,
        content_type="application/json",
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400
    assert "nest" in response.content.decode().lower()


def test_json_32_levels_deep_is_parsed(admin_client):
    body = '{"name": "Träger X", "extra": ' + nested(31) + "}"
    response = admin_client.post("/api/v1/organizations/", body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]
