"""The Content-Security-Policy header: scripts only from our server, tiles from the setting."""

import pytest

from atlas.core.csp import tile_origin

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
