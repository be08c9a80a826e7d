"""The admin's compose page: upload a mapping, see the report and a preview map, confirm."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from atlas.core.maps import tile_config
from planning_areas.models import Area, Composition, Layer
from tests.factories import AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db

MAPPING = "base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\n"


@pytest.fixture
def base():
    layer = LayerFactory(slug="plr-t", level=2)
    for i in range(3):
        AreaFactory(
            layer=layer,
            code=f"a{i + 1}",
            population=10,
            geometry=square(13.0 + i / 64, 52.0, 1 / 64),
        )
    return layer


def _post(client, mapping: bytes, **extra):
    data = {
        "file": SimpleUploadedFile("mapping.csv", mapping, content_type="text/csv"),
        "base_layer": "plr-t",
        "layer": "sozialraeume",
        "layer_name": "Sozialräume",
        **extra,
    }
    return client.post(reverse("admin:planning_areas_layer_compose"), data)


def test_preview_shows_the_report_and_a_map_and_writes_nothing(client, editor, base):
    client.force_login(editor)
    response = _post(client, MAPPING.encode())
    assert response.status_code == 200
    body = response.content.decode()
    assert "sozialraeume: 2 areas composed of 3 units" in body
    assert 'id="compose-preview-map"' in body
    preview = response.context["preview"]["areas"]["features"]
    assert [(f["properties"]["code"], f["properties"]["population"]) for f in preview] == [
        ("N", 20),
        ("S", 10),
    ]
    assert preview[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert not Layer.objects.filter(slug="sozialraeume").exists()
    assert "<script>" not in body.split('id="compose-preview"', 1)[0].rsplit("<main", 1)[-1]


def test_preview_map_uses_the_one_tile_configuration(client, editor, base, settings):
    settings.ATLAS_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    client.force_login(editor)
    response = _post(client, MAPPING.encode())
    assert response.context["preview"]["tiles"] == tile_config()
    assert tile_config()["url"] == "https://tiles.example.org/{z}/{x}/{y}.png"


def test_confirming_the_preview_composes_the_layer_and_offers_its_mapping(client, editor, base):
    client.force_login(editor)
    token = _post(client, MAPPING.encode()).context["token"]
    response = client.post(reverse("admin:planning_areas_layer_compose"), {"token": token})
    assert response.status_code == 200
    assert Area.objects.filter(layer__slug="sozialraeume").count() == 2
    download = client.get(reverse("admin:planning_areas_layer_mapping", args=["sozialraeume"]))
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode() == "base_code,code,name\na1,N,Nord\na2,N,Nord\na3,S,Süd\n"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (b"base_code,code,name\na1,N,Nord\na1,S,S\n", "assigned more than once"),
        (b"base_code,code,name\nzz,N,Nord\n", "Codes not found"),
        (b"", "The submitted file is empty."),
        (b"plr,code\na1,N\n", "missing: base_code, name"),
        (b"base_code,code,name\na1,N,<script>alert(1)</script>\n", "plain text"),
        (b"base_code,code,name\na1,N,N\x00\n", "NUL bytes"),
    ],
)
def test_a_bad_mapping_is_a_400_with_its_reason_and_nothing_written(
    client, editor, base, mapping, message
):
    client.force_login(editor)
    response = _post(client, mapping)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["token"] is None
    assert not Layer.objects.filter(slug="sozialraeume").exists()
    assert not Composition.objects.exists()


@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 302), ("org_editor_a", 403), ("caseworker", 302), ("editor", 200)],
)
def test_compose_page_is_for_those_who_may_import_areas(client, request, base, user, status):
    if user:
        client.force_login(request.getfixturevalue(user))
    response = client.get(reverse("admin:planning_areas_layer_compose"))
    assert response.status_code == status


def test_mapping_download_of_an_ordinary_layer_is_a_404(client, editor, base):
    client.force_login(editor)
    response = client.get(reverse("admin:planning_areas_layer_mapping", args=["plr-t"]))
    assert response.status_code == 404
