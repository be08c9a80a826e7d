"""A dry run finds every error the commit would: the service import validates with the models.

Also: no path stores a service or organisation without a name, and categories and target
groups come from a mapping or ``manage.py taxonomy``.
"""

import io
import tomllib
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from atlas.demo import BERLIN_PROFILE
from atlas.profile import classify_source
from providers.imports.writing import upsert_by_key
from providers.models import Category, Organization, Service, TargetGroup
from tests.factories import CategoryFactory, OrganizationFactory, TargetGroupFactory

pytestmark = pytest.mark.django_db

MAPPING = """
[columns]
external_id = "Nr"
name = "Name"
organization = "Traeger"
latitude = "Breite"
longitude = "Laenge"
email = "Mail"
organization_email = "TraegerMail"
"""
HEADER = "Nr;Name;Traeger;Breite;Laenge;Mail;TraegerMail"
LONG_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 59 + ".de"  # 255 chars


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _files(tmp_path, row: str, mapping: str = MAPPING) -> tuple[Path, Path]:
    data = tmp_path / "angebote.csv"
    data.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    path = tmp_path / "mapping.toml"
    path.write_text(mapping, encoding="utf-8")
    return data, path


def _dry_run_refuses(data: Path, mapping: Path) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_services", str(data), mapping=str(mapping), stdout=out)
    assert not Service.objects.exists() and not Organization.objects.exists()
    return out.getvalue()


def test_email_of_255_characters_is_refused_by_the_dry_run(tmp_path):
    assert len(LONG_EMAIL) == 255
    out = _dry_run_refuses(*_files(tmp_path, f"1;Kita;Träger;52.5;13.4;{LONG_EMAIL};"))
    assert "row 2" in out and "service email: Ensure this value has at most 254" in out


def test_organisation_email_of_255_characters_is_refused_by_the_dry_run(tmp_path):
    out = _dry_run_refuses(*_files(tmp_path, f"1;Kita;Träger;52.5;13.4;;{LONG_EMAIL}"))
    assert "organisation email: Ensure this value has at most 254" in out


def test_invalid_organisation_email_is_refused_by_the_dry_run(tmp_path):
    out = _dry_run_refuses(*_files(tmp_path, "1;Kita;Träger;52.5;13.4;;kein-mail"))
    assert "organisation email: Enter a valid email address." in out


def test_droppable_organisation_email_is_left_empty_with_a_note(tmp_path):
    data, mapping = _files(
        tmp_path,
        f"1;Kita;Träger;52.5;13.4;;{LONG_EMAIL}",
        'drop_invalid = ["organization_email"]\n' + MAPPING,
    )
    out = io.StringIO()
    call_command("import_services", str(data), mapping=str(mapping), commit=True, stdout=out)
    assert "left empty: email" in out.getvalue()
    assert Organization.objects.get().email == ""


def test_nul_byte_in_a_mapping_default_is_refused_by_the_dry_run(tmp_path):
    mapping = MAPPING + '[defaults]\nfees = "5\\u0000 Euro"\n'
    out = _dry_run_refuses(*_files(tmp_path, "1;Kita;Träger;52.5;13.4;;", mapping))
    assert "service fees: contains a NUL byte" in out


def test_row_that_passes_the_dry_run_commits(tmp_path):
    data, mapping = _files(tmp_path, "1;Kita;Träger;52.5;13.4;kita@example.org;t@example.org")
    call_command("import_services", str(data), mapping=str(mapping), stdout=io.StringIO())
    call_command(
        "import_services", str(data), mapping=str(mapping), commit=True, stdout=io.StringIO()
    )
    assert Service.objects.get().email == "kita@example.org"


def test_import_page_refuses_the_long_email_in_the_preview(client, editor, tmp_path):
    data, mapping = _files(tmp_path, f"1;Kita;Träger;52.5;13.4;{LONG_EMAIL};")
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("a.csv", data.read_bytes()),
            "mapping_file": SimpleUploadedFile("m.toml", mapping.read_bytes()),
        },
    )
    assert response.status_code == 400
    assert "service email: Ensure this value has at most 254" in response.content.decode()
    assert response.context["token"] is None
    assert not Service.objects.exists()


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_database_refuses_a_service_without_a_name(organization_a, name):
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(name=name, organization=organization_a)


@pytest.mark.parametrize("name", ["", "  "])
def test_database_refuses_an_organisation_without_a_name(name):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name=name)


def test_model_validation_refuses_a_blank_service_name(organization_a):
    with pytest.raises(ValidationError) as error:
        Service(name="  ", organization=organization_a).full_clean()
    assert "service_name_not_blank" in str(error.value) or "name" in error.value.message_dict


def test_demo_writer_cannot_store_a_nameless_organisation():
    with pytest.raises(IntegrityError), transaction.atomic():
        upsert_by_key(Organization, {"traeger:": {"name": "", "kind": "other", "website": ""}})


def test_import_of_a_whitespace_name_is_refused_by_the_dry_run(tmp_path):
    out = _dry_run_refuses(*_files(tmp_path, "1; ;Träger;52.5;13.4;;"))
    assert "name is empty" in out


def _osm_centres(tmp_path, rows: list[dict]) -> Path:
    folder = tmp_path / "berlin-osm-community-centres"
    folder.mkdir()
    frame = gpd.GeoDataFrame(
        rows, geometry=[shapely.Point(13.4, 52.5)] * len(rows), crs="EPSG:4326"
    )
    frame.to_file(folder / "berlin-points-of-interest-community-centers-details.geojson")
    return tmp_path


def test_demo_names_a_nameless_community_centre_by_category_and_street(tmp_path):
    CategoryFactory(slug="kultur", name="Kultur und Vereine")
    base = _osm_centres(
        tmp_path,
        [
            {"id": 1, "name": None, "street": "Koloniestraße 116", "zip-code": 13359.0},
            {"id": 2, "name": None, "street": None, "zip-code": None},
            {"id": 3, "name": "Nachbarschaftshaus", "street": "Ufer 1", "zip-code": 10999.0},
        ],
    )
    services = tomllib.loads(BERLIN_PROFILE.read_text(encoding="utf-8"))["services"]
    entry = next(e for e in services if e["mapping"] == "osm-community-centres.toml")
    lines: list[str] = []
    source = base / "berlin-osm-community-centres"
    path = classify_source(entry, next(source.iterdir()), tmp_path, lines)
    frame = gpd.read_file(path)
    assert list(frame["name"]) == ["Kultur und Vereine, Koloniestraße 116", "Nachbarschaftshaus"]
    assert lines == ["1 rows without a name left out"]


# --- taxonomies -----------------------------------------------------------------------------

TAXONOMY_MAPPING = (
    MAPPING
    + """
[defaults]
categories = ["pflege"]
target_groups = ["pflegebeduerftige"]

[[categories]]
slug = "pflege"
name = "Pflegeeinrichtungen"
icon = "senior"
colour = "#6a3d9a"

[[target_groups]]
slug = "pflegebeduerftige"
name = "Pflegebedürftige"
"""
)


def test_mapping_creates_its_target_groups_and_categories_on_commit(tmp_path):
    data, mapping = _files(tmp_path, "1;Pflegeheim;Träger;52.5;13.4;;", TAXONOMY_MAPPING)
    out = io.StringIO()
    call_command("import_services", str(data), mapping=str(mapping), stdout=out)
    assert "Target groups created: pflegebeduerftige" in out.getvalue()
    assert not TargetGroup.objects.exists()  # the dry run only says so
    call_command(
        "import_services", str(data), mapping=str(mapping), commit=True, stdout=io.StringIO()
    )
    service = Service.objects.get()
    assert list(service.target_groups.values_list("name", flat=True)) == ["Pflegebedürftige"]
    assert Category.objects.get(slug="pflege").colour == "#6a3d9a"


def test_mapping_category_with_a_bad_colour_is_refused_by_the_dry_run(tmp_path):
    mapping = TAXONOMY_MAPPING.replace('"#6a3d9a"', '"red"')
    with pytest.raises(CommandError, match="colour"):
        call_command(
            "import_services",
            str(_files(tmp_path, "1;Pflegeheim;Träger;52.5;13.4;;")[0]),
            mapping=str(_files(tmp_path, "1;Pflegeheim;Träger;52.5;13.4;;", mapping)[1]),
            stdout=io.StringIO(),
        )
    assert not Category.objects.exists()


def test_mapping_never_changes_an_existing_category(tmp_path):
    CategoryFactory(slug="pflege", name="Pflege (von Hand)", colour="#000000")
    data, mapping = _files(tmp_path, "1;Pflegeheim;Träger;52.5;13.4;;", TAXONOMY_MAPPING)
    call_command(
        "import_services", str(data), mapping=str(mapping), commit=True, stdout=io.StringIO()
    )
    assert Category.objects.get(slug="pflege").name == "Pflege (von Hand)"


def test_taxonomy_set_is_a_dry_run_without_commit():
    out = io.StringIO()
    call_command("taxonomy", "set", "target-group", "senioren", "--name", "Senioren", stdout=out)
    assert "1 new" in out.getvalue() and "Dry run" in out.getvalue()
    assert not TargetGroup.objects.exists()


def test_taxonomy_set_creates_then_updates_a_category():
    CategoryFactory(slug="familie", name="Familie")
    call_command(
        "taxonomy", "set", "category", "familienzentrum", "--name", "Familienzentren",
        "--parent", "familie", "--icon", "family", "--colour", "#e31a1c", "--commit",
        stdout=io.StringIO(),
    )  # fmt: skip
    category = Category.objects.get(slug="familienzentrum")
    assert (category.parent.slug, category.icon, category.colour) == (
        "familie",
        "family",
        "#e31a1c",
    )
    out = io.StringIO()
    call_command(
        "taxonomy", "set", "category", "familienzentrum", "--name", "Familienzentren (neu)",
        "--commit", stdout=out,
    )  # fmt: skip
    assert "changed: familienzentrum" in out.getvalue()
    assert Category.objects.get(slug="familienzentrum").name == "Familienzentren (neu)"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["category", "x", "--name", "X", "--colour", "rot"], "colour"),
        (["category", "x", "--name", "X", "--parent", "fehlt"], "does not exist"),
        (["category", "Kein Slug!", "--name", "X"], "slug"),
        (["category", "x", "--name", ""], "name"),
        (["target-group", "x", "--name", "X", "--icon", "y"], "categories only"),
    ],
)
def test_taxonomy_set_refuses_bad_entries_and_writes_nothing(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("taxonomy", "set", *arguments, "--commit", stdout=io.StringIO())
    assert not Category.objects.exists() and not TargetGroup.objects.exists()


def test_taxonomy_load_creates_a_parent_and_its_child_from_one_file(tmp_path):
    path = tmp_path / "taxonomy.toml"
    path.write_text(
        '[[categories]]\nslug = "kind"\nname = "Kind"\nparent = "eltern"\n'
        '[[categories]]\nslug = "eltern"\nname = "Eltern"\n'
        '[[target_groups]]\nslug = "alle"\nname = "Alle"\n',
        encoding="utf-8",
    )
    call_command("taxonomy", "load", str(path), "--commit", stdout=io.StringIO())
    assert Category.objects.get(slug="kind").parent.slug == "eltern"
    assert TargetGroup.objects.get().slug == "alle"


def test_taxonomy_list_prints_both_taxonomies():
    CategoryFactory(slug="kita", name="Kitas", icon="child", colour="#ff7f00")
    TargetGroupFactory(slug="kinder", name="Kinder")
    OrganizationFactory()
    out = io.StringIO()
    call_command("taxonomy", "list", stdout=out)
    assert "kita\tKitas\tchild\t#ff7f00\t-" in out.getvalue()
    assert "kinder\tKinder" in out.getvalue()
