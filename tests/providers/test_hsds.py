"""The Open Referral HSDS export validates against the HSDS JSON schemas in tests/fixtures/hsds."""

import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from providers.hsds import SCHEMA_OF, TABLES, build, opening_hours_to_schedules
from providers.models import Contact, Service
from tests.factories import CategoryFactory, ContactFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "hsds"


def _registry() -> Registry:
    resources = [
        (
            p.name,
            Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT202012),
        )
        for p in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def validate(table: str, record: dict) -> None:
    schema = json.loads((SCHEMAS / f"{SCHEMA_OF[table]}.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=REGISTRY, format_checker=FORMATS)
    validator.validate(record)
    for field in schema.get("tabular_required", []):
        assert field in record, (table, field)


@pytest.fixture
def atlas(organization_a):
    organization_a.description = "Freier Träger der Jugendhilfe."
    organization_a.website = "https://traeger-a.example"
    organization_a.phone = "030 1234"
    organization_a.save()
    parent = CategoryFactory(slug="familie", name="Familie")
    child = CategoryFactory(slug="familienzentrum", name="Familienzentren", parent=parent)
    location = LocationFactory(organization=organization_a, street="Musterstraße", house_number="5")
    service = ServiceFactory(
        organization=organization_a,
        name="Familienzentrum am Park",
        opening_hours="Mo-Fr 09:00-17:00; Sa 10:00-14:00",
        phone="030 555",
        website="https://fz.example",
        email="fz@example.org",
        languages=["de", "tr"],
        min_age=0,
        max_age=99,
        locations=[location],
        categories=[child],
    )
    ServiceFactory(organization=organization_a, opening_hours="Mo-Fr 08:00-12:00; PH off")
    ContactFactory(
        organization=organization_a,
        service=service,
        name="Frau Beispiel",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2024-01-01",
        phone="030 777",
        internal_phone="030 999-INTERN",
    )
    ContactFactory(organization=organization_a, name="Intern", internal_phone="030 888")
    ServiceFactory(organization=organization_a, name="Entwurf", status=Service.Status.DRAFT)
    return service


def test_every_exported_record_validates_against_its_hsds_schema(atlas):
    tables = build()
    assert set(tables) == set(TABLES)
    for table in TABLES:
        assert tables[table], f"{table} is empty"
        for record in tables[table]:
            validate(table, record)


def test_export_contains_what_the_atlas_knows(atlas):
    tables = build()
    services = {s["name"]: s for s in tables["services"]}
    assert "Entwurf" not in services  # only published services
    service = services["Familienzentrum am Park"]
    assert service["status"] == "active" and service["url"] == "https://fz.example"
    schedules = [s for s in tables["schedules"] if s["service_id"] == service["id"]]
    assert {(s["byday"], s["opens_at"], s["closes_at"]) for s in schedules} == {
        ("MO,TU,WE,TH,FR", "09:00", "17:00"),
        ("SA", "10:00", "14:00"),
    }
    assert {t["code"] for t in tables["taxonomy_terms"]} == {"familie", "familienzentrum"}
    child = next(t for t in tables["taxonomy_terms"] if t["code"] == "familienzentrum")
    parent = next(t for t in tables["taxonomy_terms"] if t["code"] == "familie")
    assert child["parent_id"] == parent["id"]
    assert tables["service_at_locations"][0]["service_id"] == service["id"]
    assert tables["addresses"][0]["address_1"] == "Musterstraße 5"
    assert {row["code"] for row in tables["languages"]} == {"de", "tr"}


def test_internal_contacts_and_numbers_never_leave(atlas):
    text = json.dumps(build())
    assert "Frau Beispiel" in text and "030 777" in text
    assert "Intern" not in text and "INTERN" not in text and "030 888" not in text


def test_identifiers_are_stable_between_exports(atlas):
    assert build() == build()


def test_complex_opening_hours_stay_as_description():
    assert opening_hours_to_schedules("Mo-Fr 08:00-12:00; PH off") is None
    assert opening_hours_to_schedules("Sa-Mo 10:00-12:00,14:00-16:00") == [
        {
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": "SA,SU,MO",
            "opens_at": "10:00",
            "closes_at": "12:00",
        },
        {
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": "SA,SU,MO",
            "opens_at": "14:00",
            "closes_at": "16:00",
        },
    ]


def test_a_wrong_record_fails_validation():
    with pytest.raises(jsonschema.ValidationError):
        validate(
            "services",
            {"id": "not-a-uuid", "name": "x", "status": "active", "organization_id": "x"},
        )
    with pytest.raises(jsonschema.ValidationError):
        validate("locations", {"id": "5c4d79d7-cc55-470e-9f1f-8cad074e4892"})


def test_command_writes_a_zip_of_all_tables(atlas, tmp_path):
    target = tmp_path / "hsds.zip"
    out = io.StringIO()
    call_command("export_hsds", str(target), stdout=out)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == sorted(f"{t}.json" for t in TABLES)
        services = json.loads(archive.read("services.json"))
    assert len(services) == 2
    assert "services: 2" in out.getvalue()
