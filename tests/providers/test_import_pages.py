"""The admin import pages: permission matrix, preview, commit, bad files."""

import io
import zipfile

import geopandas as gpd
import pytest
import shapely
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from atlas.core.roles import CASEWORKER
from atlas.demo import data_dir
from planning_areas.models import Area, Layer
from providers.models import Service
from tests.factories import CategoryFactory, TargetGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

MAPPING = b"""
[columns]
external_id = "Nr"
name = "Name"
organization = "Traeger"
organization_external_id = "TraegerNr"
latitude = "Breite"
longitude = "Laenge"
"""
CSV = (
    "\ufeffNr;Name;Traeger;TraegerNr;Breite;Laenge\r\n"
    "1;Familiencafé;Träger A e.V.;a;52,53;13,39\r\n"
).encode()
CSV_OTHER_ORG = (
    "\ufeffNr;Name;Traeger;TraegerNr;Breite;Laenge\r\n"
    "2;Fremdes Angebot;Träger B gGmbH;b;52,53;13,39\r\n"
).encode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff_caseworker(db):
    return UserFactory(username="cw-staff", is_staff=True, groups=[CASEWORKER])


@pytest.fixture
def keyed_organizations(organization_a, organization_b):
    organization_a.external_id = "traeger:a"
    organization_a.save()
    organization_b.external_id = "traeger:b"
    organization_b.save()


def _upload(client, content=CSV, mapping=MAPPING):
    return client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("angebote.csv", content),
            "mapping_file": SimpleUploadedFile("mapping.toml", mapping),
        },
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("staff_caseworker", 403),
        ("org_editor_a", 200),
        ("editor", 200),
        ("admin_user_", 200),
    ],
)
def test_service_import_page_access(client, request, role, status):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("admin:providers_service_import")).status_code == status
    assert client.get(reverse("admin:planning_areas_layer_import")).status_code == (
        {"org_editor_a": 403}.get(role, status)
    )


def test_editor_previews_then_imports(client, editor, keyed_organizations):
    client.force_login(editor)
    response = _upload(client)
    assert response.status_code == 200
    assert "1 new, 0 changed" in response.content.decode()
    assert not Service.objects.exists()  # the preview writes nothing
    token = response.context["token"]
    response = client.post(reverse("admin:providers_service_import"), {"token": token})
    assert response.status_code == 200
    service = Service.objects.get(external_id="1")
    assert service.organization.external_id == "traeger:a"
    assert service.history.latest("history_date").history_user == editor


def test_editor_cannot_commit_another_sessions_upload(
    client, editor, admin_user_, keyed_organizations
):
    client.force_login(editor)
    token = _upload(client).context["token"]
    client.force_login(admin_user_)
    response = client.post(reverse("admin:providers_service_import"), {"token": token})
    assert "no longer there" in response.content.decode()
    assert not Service.objects.exists()


def test_org_editor_previews_own_rows_but_cannot_commit(client, org_editor_a, keyed_organizations):
    client.force_login(org_editor_a)
    response = _upload(client)
    assert response.status_code == 200 and response.context["token"]
    # No commit form for organisation editors: the preview offers no token to send.
    assert 'name="token"' not in response.content.decode()
    response = client.post(
        reverse("admin:providers_service_import"), {"token": response.context["token"]}
    )
    assert response.status_code == 403
    assert not Service.objects.exists()


def test_org_editor_rows_of_another_organisation_are_rejected(
    client, org_editor_a, keyed_organizations
):
    client.force_login(org_editor_a)
    response = _upload(client, CSV_OTHER_ORG)
    assert response.status_code == 400
    assert "only import services of your own organisations" in response.content.decode()


def test_bad_mapping_on_the_page_is_a_clear_400(client, editor):
    client.force_login(editor)
    response = _upload(client, mapping=MAPPING.replace(b'"Breite"', b'"Lat"'))
    assert response.status_code == 400
    assert "Lat" in response.content.decode() and "not in the file" in response.content.decode()
    assert not Service.objects.exists()


def test_missing_mapping_is_a_form_error(client, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {"file": SimpleUploadedFile("a.csv", CSV)},
    )
    assert "mapping" in response.content.decode()
    assert not Service.objects.exists()


def test_shipped_mapping_can_be_chosen(client, editor):
    for slug in ("jugendfreizeit", "spielplatz-kinderfarm"):
        CategoryFactory(slug=slug)
    for slug in ("kinder", "jugendliche"):
        TargetGroupFactory(slug=slug)
    client.force_login(editor)
    data = (
        data_dir() / "berlin-services-geoportal" / "jugendfreizeiteinrichtungen.geojson"
    ).read_bytes()
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("jfe.geojson", data),
            "shipped_mapping": "jugendfreizeiteinrichtungen.toml",
        },
    )
    assert response.status_code == 200
    assert "407 rows read, 0 rejected" in response.content.decode()


def _zipped_areas() -> bytes:
    frame = gpd.GeoDataFrame(
        {"CODE": ["01", "02"], "NAME": ["Nord", "Süd"]},
        geometry=[shapely.box(13.3, 52.5, 13.4, 52.6), shapely.box(13.4, 52.5, 13.5, 52.6)],
        crs=4326,
    )
    buffer = io.BytesIO()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "areas.shp", engine="pyogrio")
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in Path(tmp).iterdir():
                archive.write(file, file.name)
    return buffer.getvalue()


def test_area_import_page_previews_then_imports(client, editor):
    client.force_login(editor)
    url = reverse("admin:planning_areas_layer_import")
    response = client.post(
        url,
        {
            "file": SimpleUploadedFile("areas.zip", _zipped_areas()),
            "layer": "bezirke-test",
            "layer_name": "Bezirke (Test)",
            "code_field": "CODE",
            "name_field": "NAME",
        },
    )
    assert response.status_code == 200
    assert "2 new, 0 changed, 0 removed" in response.content.decode()
    assert not Layer.objects.exists()
    response = client.post(url, {"token": response.context["token"]})
    assert response.status_code == 200
    assert Area.objects.filter(layer__slug="bezirke-test").count() == 2


def test_area_import_page_refuses_zip_without_shp(client, editor):
    client.force_login(editor)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("areas.dbf", b"nothing")
    response = client.post(
        reverse("admin:planning_areas_layer_import"),
        {
            "file": SimpleUploadedFile("areas.zip", buffer.getvalue()),
            "layer": "x",
            "layer_name": "X",
            "code_field": "CODE",
            "name_field": "NAME",
        },
    )
    assert response.status_code == 400
    assert "no .shp" in response.content.decode()
    assert not Layer.objects.exists()
