"""What the whole API shares: throttling, CORS, the schema and locally served docs."""

import re

import pytest
from django.test.utils import override_script_prefix
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _rates(settings, burst: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": burst, "anon": "9/hour"},
    }


def test_a_busy_map_session_is_not_throttled():
    client = APIClient()
    # Two minutes of eager panning and zooming, sent at once.
    statuses = {client.get("/api/v1/categories/").status_code for _ in range(150)}
    assert statuses == {200}


def test_anonymous_scrapers_are_throttled(settings):
    _rates(settings, "3/minute")
    client = APIClient()
    statuses = [client.get("/api/v1/target-groups/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in client.get("/api/v1/target-groups/")


def test_logged_in_users_are_not_throttled_as_anonymous(settings, caseworker):
    _rates(settings, "1/minute")
    client = APIClient()
    client.force_authenticate(caseworker)
    assert {client.get("/api/v1/target-groups/").status_code for _ in range(3)} == {200}


def test_cors_is_open_for_get():
    response = APIClient().get("/api/v1/categories/", HTTP_ORIGIN="https://example.org")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_schema_documents_every_service_filter_with_limits():
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/services/"]["get"]["parameters"]}
    for name in (
        "q",
        "category",
        "target_group",
        "organization",
        "area",
        "bbox",
        "near",
        "radius",
        "age",
        "free",
        "wheelchair",
        "open_now",
        "modified_since",
        "page",
        "page_size",
    ):
        assert name in parameters, name
        assert parameters[name].get("description"), name
    assert "5000" in parameters["radius"]["description"]
    for path in (
        "/api/v1/services/export.csv",
        "/api/v1/services/export.geojson",
        "/api/v1/areas/",
        "/api/v1/layers/{slug}/areas/{code}/",
    ):
        assert path in schema["paths"], path


def test_docs_load_every_asset_from_our_own_server():
    html = APIClient().get("/api/v1/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert any("swagger-ui" in s for s in sources)
    script = APIClient().get("/api/v1/docs/?script").content.decode()
    assert "validator.swagger.io" not in script
    assert '"validatorUrl": null' in script


def test_redoc_is_gone_because_its_bundle_loads_assets_from_a_cdn():
    assert APIClient().get("/api/v1/redoc/").status_code == 404


def test_the_root_lists_every_endpoint_as_an_absolute_url_of_the_request():
    body = APIClient().get("/api/v1/").json()
    assert body["services"] == "http://testserver/api/v1/services/"
    assert body["areas"] == "http://testserver/api/v1/areas/"
    assert body["lookup"].startswith("http://testserver/api/v1/")
    assert len(body) == 12


def test_the_root_follows_the_prefix_the_server_is_mounted_under():
    # The paths are kept per prefix: a second mount point must not get the first one's.
    plain = APIClient().get("/api/v1/").json()
    with override_script_prefix("/sozialraum/"):
        mounted = APIClient().get("/api/v1/").json()
    assert plain["services"] == "http://testserver/api/v1/services/"
    assert mounted["services"] == "http://testserver/sozialraum/api/v1/services/"
    assert mounted["docs"].startswith("http://testserver/sozialraum/api/v1/")
