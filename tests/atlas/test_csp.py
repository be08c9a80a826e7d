"""The Content-Security-Policy header: scripts only from our server, tiles from the setting."""

import json
import re

import pytest
from django.urls import reverse

from atlas.core.csp import tile_origin
from atlas.core.maps import tile_config
from tests.factories import AreaFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/", "/liste/", "/accounts/login/", "/api/v1/docs/"])
def test_page_allows_scripts_only_from_our_server(client, url):
    policy = directives(client.get(url))
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]


def test_image_sources_follow_the_tile_url_setting(client, settings):
    settings.ATLAS_TILE_URL = "https://{s}.tiles.example.net/{z}/{x}/{y}.png"
    assert "https://*.tiles.example.net" in directives(client.get("/"))["img-src"]


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        ("https://tile.example.org/{z}/{x}/{y}.png", "https://tile.example.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://localhost:8080/tiles/{z}/{x}/{y}.png", "http://localhost:8080"),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("javascript:alert(1)", None),
    ],
)
def test_tile_origin_of_a_url_template(template, origin):
    assert tile_origin(template) == origin


SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def inline_scripts(html: str) -> list[str]:
    """Script tags the browser would execute although they load nothing from a URL."""
    return [
        tag
        for tag in SCRIPT_TAG.findall(html)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]


@pytest.mark.parametrize("page", ["location-change", "location-add", "area-change"])
def test_admin_map_widget_pages_need_no_nonce_and_no_inline_script(client, page):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = {
        "location-change": lambda: reverse(
            "admin:providers_location_change", args=[LocationFactory().pk]
        ),
        "location-add": lambda: reverse("admin:providers_location_add"),
        "area-change": lambda: reverse("admin:planning_areas_area_change", args=[AreaFactory().pk]),
    }[page]()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert directives(response)["script-src"] == ["'self'"]
    assert "nonce" not in response["Content-Security-Policy"]
    assert inline_scripts(html) == []
    assert 'data-map-widget="' in html  # the map widget is on the page


def test_admin_map_widget_draws_the_one_tile_configuration(client, settings):
    settings.ATLAS_TILE_URL = "https://{s}.tiles.example.net/{z}/{x}/{y}.png"
    settings.ATLAS_TILE_ATTRIBUTION = "Kacheln: Beispiel"
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:providers_location_change", args=[LocationFactory().pk]))
    [widget] = re.findall(
        r'<script id="id_point-map-widget" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    options = json.loads(widget)["djoptions"]
    tiles = tile_config()
    assert [layer[1:] for layer in options["layers"]] == [
        [tiles["url"], {"attribution": tiles["attribution"], "maxZoom": tiles["maxZoom"]}]
    ]
    assert options["maxzoom"] == tiles["maxZoom"]
    assert "https://*.tiles.example.net" in directives(response)["img-src"]
