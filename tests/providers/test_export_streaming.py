"""The API's downloads stream, gzip-compressed when (and only when) the client accepts it,
and the export reads the stored features in an order an index gives."""

import gzip
import json

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import RequestFactory
from rest_framework.test import APIClient

from atlas.core.compression import MAX_ACCEPT_ENCODING, accepts_gzip, gzip_chunks
from providers import features as service_features
from providers.filters import matched_locations, parse_service_query, service_queryset
from providers.models import Service, ServiceFeature
from tests.factories import LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db
GEOJSON = "/api/v1/services/export.geojson"
CSV = "/api/v1/services/export.csv"


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def services():
    # Names out of id order, one service at two locations: the order is name, service, offer.
    made = []
    for name in ["Zentrum Nord", "Ärztehaus", "Kita Sonnenschein", "Beratung Ost"]:
        made.append(ServiceFactory(name=name, locations=[LocationFactory(point=Point(13.4, 52.5))]))
    made[2].locations.add(LocationFactory(name="Zweithaus", point=Point(13.41, 52.51)))
    return made


def content(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def test_the_geojson_export_is_gzipped_for_a_client_that_accepts_it(client, services):
    plain = client.get(GEOJSON)
    packed = client.get(GEOJSON, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed.status_code == plain.status_code == 200
    assert packed["Content-Encoding"] == "gzip"
    assert not plain.has_header("Content-Encoding")
    unpacked = gzip.decompress(content(packed))
    assert unpacked == content(plain)
    assert len(json.loads(unpacked)["features"]) == 5


@pytest.mark.parametrize("url", [GEOJSON, CSV])
def test_both_exports_vary_on_accept_encoding(client, services, url):
    for encoding in ["", "gzip"]:
        response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
        assert "Accept-Encoding" in response["Vary"]
        assert response["Content-Disposition"].startswith("attachment;")


def test_the_csv_export_is_gzipped_too(client, services):
    plain = content(client.get(CSV))
    packed = client.get(CSV, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(content(packed)) == plain


@pytest.mark.parametrize(
    "header",
    [
        "gzip;q=0",
        "gzip; q=0.0, identity",
        "*;q=0",
        "identity",
        "br",
        "gzipx",
        "notgzip",
        "gzip;q=abc",
        "gzip;q=-1",
        "gzip;q=2",
        "gzip;q=nan",
        ";;;,,,",
        "\x00gzip\x00",
        "gzip" + ", br" * MAX_ACCEPT_ENCODING,
    ],
)
def test_a_refusing_or_hostile_accept_encoding_gets_plain_json(client, services, header):
    response = client.get(GEOJSON, HTTP_ACCEPT_ENCODING=header)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")
    assert len(json.loads(content(response))["features"]) == 5


@pytest.mark.parametrize(
    "header",
    ["gzip", "GZIP", "x-gzip", "deflate, gzip;q=0.5", "*", "br;q=1, *;q=0.1", " gzip ; q=1 "],
)
def test_accepted_spellings_of_gzip(header):
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=header)
    assert accepts_gzip(request)


def test_a_named_refusal_beats_the_wildcard():
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING="*, gzip;q=0")
    assert not accepts_gzip(request)


def test_gzip_chunks_compress_as_they_go():
    """Output starts before the input ends (a generator that is never exhausted here)."""

    def endless():
        while True:
            yield "x" * 100_000 + "y" * 10

    stream = gzip_chunks(endless())
    assert next(stream).startswith(b"\x1f\x8b")


def test_the_export_streams_in_name_order(client, services):
    data = json.loads(content(client.get(GEOJSON)))
    names = [f["properties"]["name"] for f in data["features"]]
    expected = sorted(
        (s.name, s.pk, sal.pk) for s in services for sal in s.serviceatlocation_set.all()
    )
    assert names == [name for name, _, _ in expected]


def test_the_export_order_comes_from_an_index():
    """Sorting 100,000 feature texts spilled 112 MB to disk; the stored service name with
    its index gives the order without a sort."""
    query = parse_service_query({})
    rows = service_features.export_rows(
        service_queryset(query, Service.objects.published()), locations=matched_locations(query)
    )
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "servicefeature_export_order" in plan
    assert "Sort" not in plan


def test_stored_texts_close_only_when_read(services):
    """The request-dependent properties are appended without cutting the stored text."""
    row = ServiceFeature.objects.with_text().filter(service=services[0]).get()
    assert not row.public.endswith("}}")
    assert json.loads(row.text)["properties"]["is_stale"] in (True, False)
