"""Exports as CSV, Excel and GeoJSON, from the admin and the command line."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from providers.models import Contact
from tests.factories import CategoryFactory, ContactFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(organization_a, organization_b):
    location = LocationFactory(organization=organization_a, name="Haus am See", street="Seestraße")
    a = ServiceFactory(
        organization=organization_a,
        name="Familiencafé Süd",
        locations=[location],
        categories=[CategoryFactory(slug="familie")],
    )
    b = ServiceFactory(organization=organization_b, name="Jugendclub B")
    ContactFactory(
        organization=organization_a,
        name="Öffentlich",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2024-01-01",
        internal_phone="030 999",
    )
    ContactFactory(organization=organization_a, name="Intern", internal_phone="030 111")
    return {"a": a, "b": b, "location": location}


def _action(client, model, action, ids):
    return client.post(
        reverse(f"admin:providers_{model}_changelist"),
        {"action": action, "_selected_action": ids},
    )


def test_admin_exports_selection_as_csv(client, editor, data):
    client.force_login(editor)
    response = _action(client, "service", "export_csv", [data["a"].pk])
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["name"] == "Familiencafé Süd"
    assert rows[0]["categories"] == "familie"
    assert rows[0]["street"] == "Seestraße"


def test_admin_exports_excel_and_geojson(client, editor, data):
    client.force_login(editor)
    response = _action(client, "service", "export_xlsx", [data["a"].pk, data["b"].pk])
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["Familiencafé Süd", "Jugendclub B"]
    response = _action(client, "location", "export_geojson", [data["location"].pk])
    collection = json.loads(response.content)
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["name"] == "Haus am See"


def test_org_editor_exports_only_own_services(client, org_editor_a, data):
    client.force_login(org_editor_a)
    response = _action(client, "service", "export_csv", [data["a"].pk, data["b"].pk])
    text = response.content.decode("utf-8-sig")
    assert "Familiencafé Süd" in text and "Jugendclub B" not in text


def test_contact_export_hides_internal_data_from_the_command_line_by_default(data, tmp_path):
    out = io.StringIO()
    call_command("export_data", "contacts", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "Öffentlich" in text and "Intern" not in text and "030 999" not in text
    path = tmp_path / "contacts.csv"
    call_command(
        "export_data",
        "contacts",
        "--include-internal",
        f"--output={path}",
        stderr=io.StringIO(),
    )
    text = path.read_text(encoding="utf-8-sig")
    assert "Intern" in text and "030 111" in text


@pytest.mark.parametrize("what", ["services", "organizations", "locations", "contacts"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_command_line_exports_every_model_in_every_format(data, tmp_path, what, fmt):
    path = tmp_path / f"{what}.{fmt}"
    call_command("export_data", what, f"--format={fmt}", f"--output={path}", stderr=io.StringIO())
    content = path.read_bytes()
    if fmt == "geojson":
        assert json.loads(content)["type"] == "FeatureCollection"
    elif fmt == "xlsx":
        assert load_workbook(io.BytesIO(content)).active.max_row >= 2
    else:
        assert len(content.decode("utf-8-sig").splitlines()) >= 2


def test_admin_command_line_and_api_write_one_service_table(client, editor, organization_a):
    """One row per service and offered location everywhere, with the same columns: the
    admin's and export_data's table used to keep only the first location's address."""
    first = LocationFactory(organization=organization_a, street="Seestraße")
    second = LocationFactory(organization=organization_a, street="Waldweg")
    service = ServiceFactory(
        organization=organization_a, name="Zwei Häuser", locations=[first, second]
    )
    client.force_login(editor)
    admin = _action(client, "service", "export_csv", [service.pk]).content.decode("utf-8-sig")
    out = io.StringIO()
    call_command("export_data", "services", stdout=out, stderr=io.StringIO())
    command = out.getvalue().lstrip("\ufeff")
    api = b"".join(client.get("/api/v1/services/export.csv").streaming_content)
    api = api.decode("utf-8-sig")
    tables = [list(csv.DictReader(io.StringIO(text))) for text in (admin, command, api)]
    for rows in tables:
        assert [(row["name"], row["street"]) for row in rows] == [
            ("Zwei Häuser", "Seestraße"),
            ("Zwei Häuser", "Waldweg"),
        ]
        assert list(rows[0]) == list(tables[0][0])  # the same columns in the same order
    assert admin == command == api


def test_service_geojson_has_one_feature_per_location(editor, client, organization_a):
    locations = [LocationFactory(organization=organization_a) for _ in range(2)]
    service = ServiceFactory(organization=organization_a, locations=locations)
    nowhere = ServiceFactory(organization=organization_a, name="Ohne Ort")
    client.force_login(editor)
    response = _action(client, "service", "export_geojson", [service.pk, nowhere.pk])
    features = json.loads(response.content)["features"]
    located = [f for f in features if f["properties"]["service_id"] == service.pk]
    assert sorted(f["geometry"]["coordinates"] for f in located) == sorted(
        [round(loc.point.x, 7), round(loc.point.y, 7)] for loc in locations
    )
    # A service without a location is still exported, once, without a geometry.
    [unlocated] = [f for f in features if f["properties"]["service_id"] == nowhere.pk]
    assert unlocated["geometry"] is None and unlocated["properties"]["street"] == ""
