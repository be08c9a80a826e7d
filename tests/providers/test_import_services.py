"""``manage.py import_services``: CSV, Excel and GeoJSON through a column mapping."""

import io
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from atlas.demo import data_dir
from providers.models import Category, Location, Organization, Service, ServiceAtLocation
from tests.factories import CategoryFactory, TargetGroupFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
GEOPORTAL = data_dir() / "berlin-services-geoportal"
MAPPINGS = ROOT / "fixtures" / "mappings"

MAPPING = """
external_id_prefix = "test:"

[columns]
external_id = "Nr"
name = "Name"
organization = "Träger"
street = "Straße"
house_number = "Hausnummer"
postcode = "PLZ"
latitude = "Breite"
longitude = "Länge"
categories = "Bereich"
opening_hours = "Öffnungszeiten"

[defaults]
target_groups = ["familien"]

[values.categories]
"Familie" = "familie"
"Jugend" = "jugend"
"""

CSV_ROWS = [
    "Nr;Name;Träger;Straße;Hausnummer;PLZ;Breite;Länge;Bereich;Öffnungszeiten",
    "1;Familienzentrum Kiez;Kiez e.V.;Musterstraße;1;10115;52,5301;13,3901;Familie;"
    "Mo-Fr 09:00-17:00",
    "2;Jugendclub Nord;Kiez e.V.;Musterstraße;2;10115;52,5302;13,3902;Jugend, Familie;",
]


@pytest.fixture(autouse=True)
def taxonomies():
    CategoryFactory(slug="familie", name="Familie")
    CategoryFactory(slug="jugend", name="Jugend")
    TargetGroupFactory(slug="familien", name="Familien")


def snapshot():
    return {
        "services": list(
            Service.objects.order_by("pk").values_list("pk", "external_id", "name", "updated_at")
        ),
        "organizations": list(
            Organization.objects.order_by("pk").values_list("pk", "name", "updated_at")
        ),
        "locations": list(
            Location.objects.order_by("pk").values_list("pk", "external_id", "point")
        ),
        "links": list(
            ServiceAtLocation.objects.order_by("pk").values_list("service_id", "location_id")
        ),
        "categories": list(Category.objects.order_by("pk").values_list("slug", flat=True)),
        "service_categories": list(
            Service.categories.through.objects.order_by("pk").values_list(
                "service_id", "category_id"
            )
        ),
        "history": (
            Service.history.count(),
            Organization.history.count(),
            Location.history.count(),
        ),
    }


def write_mapping(tmp_path, text=MAPPING) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(tmp_path, rows=CSV_ROWS, bom=True, name="angebote.csv") -> Path:
    path = tmp_path / name
    data = "\r\n".join(rows).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def run(path, mapping, commit=True) -> str:
    out = io.StringIO()
    call_command(
        "import_services",
        str(path),
        mapping=str(mapping),
        commit=commit,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def refused(path, mapping, commit=True) -> str:
    before = snapshot()
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_services",
            str(path),
            mapping=str(mapping),
            commit=commit,
            stdout=out,
            stderr=io.StringIO(),
        )
    assert snapshot() == before
    return out.getvalue() + str(excinfo.value)


def test_csv_with_bom_and_semicolons_imports(tmp_path):
    out = run(write_csv(tmp_path), write_mapping(tmp_path))
    assert "2 rows read, 0 rejected" in out
    service = Service.objects.get(external_id="test:1")
    assert service.name == "Familienzentrum Kiez"
    assert service.opening_hours == "Mo-Fr 09:00-17:00"
    assert service.status == Service.Status.PUBLISHED
    assert list(service.categories.values_list("slug", flat=True)) == ["familie"]
    assert list(service.target_groups.values_list("slug", flat=True)) == ["familien"]
    location = service.locations.get()
    assert location.street == "Musterstraße" and location.postcode == "10115"
    assert (round(location.point.y, 4), round(location.point.x, 4)) == (52.5301, 13.3901)
    two = Service.objects.get(external_id="test:2")
    assert set(two.categories.values_list("slug", flat=True)) == {"familie", "jugend"}
    assert Organization.objects.filter(name="Kiez e.V.").count() == 1
    assert two.organization == service.organization


def test_reimport_updates_instead_of_duplicating(tmp_path):
    mapping = write_mapping(tmp_path)
    run(write_csv(tmp_path), mapping)
    before = snapshot()
    out = run(write_csv(tmp_path), mapping)
    assert "0 new, 0 changed, 2 unchanged" in out
    assert snapshot() == before
    rows = [*CSV_ROWS]
    rows[1] = rows[1].replace("Familienzentrum Kiez", "Familienzentrum am Kiez")
    out = run(write_csv(tmp_path, rows), mapping)
    assert "0 new, 1 changed, 1 unchanged" in out
    assert Service.objects.count() == 2
    assert Service.objects.get(external_id="test:1").name == "Familienzentrum am Kiez"
    record = Service.history.filter(external_id="test:1").latest("history_date")
    assert record.history_type == "~" and "angebote.csv" in record.history_change_reason


def test_dry_run_writes_nothing(tmp_path):
    before = snapshot()
    out = run(write_csv(tmp_path), write_mapping(tmp_path), commit=False)
    assert "2 new, 0 changed" in out and "Dry run" in out
    assert snapshot() == before


def test_bad_rows_are_listed_and_nothing_is_written(tmp_path):
    rows = [
        *CSV_ROWS,
        "3;;Kiez e.V.;Musterstraße;3;10115;52,53;13,39;Familie;",
        "4;Beratung;Kiez e.V.;Musterstraße;4;10115;abc;13,39;Familie;",
        "5;Treff;Kiez e.V.;Musterstraße;5;10115;52,53;13,39;Sport;Mo-Fr 25:00",
        "1;Doppelt;Kiez e.V.;Musterstraße;1;10115;52,53;13,39;Familie;",
    ]
    out = refused(write_csv(tmp_path, rows), write_mapping(tmp_path))
    assert "4 rejected" in out
    assert "row 4" in out and "name is empty" in out
    assert "row 5" in out and "not numbers" in out
    assert "row 6" in out and "unknown categories: Sport" in out and "opening_hours" in out
    assert "row 7" in out and "occurs already in row 2" in out
    assert not Service.objects.exists()


def test_address_without_coordinates_needs_the_address_index(tmp_path):
    rows = [*CSV_ROWS, "3;Ohne Punkt;Kiez e.V.;Musterstraße;3;10115;;;Familie;"]
    out = refused(write_csv(tmp_path, rows), write_mapping(tmp_path))
    assert "row 4" in out and "address" in out


def test_mapping_naming_a_missing_column_is_refused(tmp_path):
    mapping = write_mapping(tmp_path, MAPPING.replace('street = "Straße"', 'street = "Strasse"'))
    out = refused(write_csv(tmp_path), mapping)
    assert "Strasse" in out and "not in the file" in out


def test_mapping_with_unknown_field_is_refused(tmp_path):
    mapping = write_mapping(tmp_path, MAPPING.replace('street = "Straße"', 'strasse = "Straße"'))
    assert "unknown field “strasse”" in refused(write_csv(tmp_path), mapping)


def test_mapping_without_external_id_is_refused(tmp_path):
    mapping = write_mapping(tmp_path, MAPPING.replace('external_id = "Nr"', ""))
    assert "external id" in refused(write_csv(tmp_path), mapping)


def test_mapping_that_is_not_toml_is_refused(tmp_path):
    mapping = write_mapping(tmp_path, "[columns\nname = ")
    assert "not valid TOML" in refused(write_csv(tmp_path), mapping)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "leer.csv"
    path.write_bytes(b"")
    assert "empty" in refused(path, write_mapping(tmp_path))


def test_header_only_file_is_refused(tmp_path):
    assert "no data rows" in refused(write_csv(tmp_path, CSV_ROWS[:1]), write_mapping(tmp_path))


def test_csv_in_cp1252_without_encoding_is_refused(tmp_path):
    path = tmp_path / "angebote.csv"
    path.write_bytes("\r\n".join(CSV_ROWS).encode("cp1252"))
    assert "encoding" in refused(path, write_mapping(tmp_path))
    mapping = write_mapping(tmp_path, MAPPING + '\n[source]\nencoding = "cp1252"\n')
    run(path, mapping)
    assert Service.objects.count() == 2


def _excel(tmp_path, merged: bool, second_header: bool = False) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    header = CSV_ROWS[0].split(";")
    if second_header:
        # Group header "Adresse" merged over the address columns, names in row 2.
        top = [
            "Nr",
            "Name",
            "Träger",
            "Adresse",
            "",
            "",
            "Breite",
            "Länge",
            "Bereich",
            "Öffnungszeiten",
        ]
        sheet.append(top)
        sheet.append(["", "", "", "Straße", "Hausnummer", "PLZ", "", "", "", ""])
        sheet.merge_cells("D1:F1")
    else:
        sheet.append(header)
        if merged:
            sheet["D1"] = "Adresse"
            sheet.merge_cells("D1:F1")
    for line in CSV_ROWS[1:]:
        values = line.split(";")
        values[6] = float(values[6].replace(",", "."))
        values[7] = float(values[7].replace(",", "."))
        sheet.append(values)
    path = tmp_path / "angebote.xlsx"
    workbook.save(path)
    return path


def test_excel_imports(tmp_path):
    run(_excel(tmp_path, merged=False), write_mapping(tmp_path))
    assert Service.objects.get(external_id="test:2").name == "Jugendclub Nord"


def test_excel_with_merged_header_cells_is_refused_clearly(tmp_path):
    out = refused(_excel(tmp_path, merged=True), write_mapping(tmp_path))
    assert "D1:F1" in out and "merged" in out and "header_rows" in out


def test_excel_with_merged_group_header_is_read_with_two_header_rows(tmp_path):
    path = _excel(tmp_path, merged=True, second_header=True)
    mapping_text = (
        MAPPING.replace('"Straße"', '"Adresse / Straße"')
        .replace('"Hausnummer"', '"Adresse / Hausnummer"')
        .replace('"PLZ"', '"Adresse / PLZ"')
    )
    mapping = write_mapping(tmp_path, mapping_text + "\n[source]\nheader_rows = 2\n")
    run(path, mapping)
    assert Location.objects.get(external_id="test:1").street == "Musterstraße"


def test_geojson_in_epsg_25833_imports_at_the_right_place(tmp_path):
    point = gpd.GeoSeries([shapely.Point(13.3901, 52.5301)], crs=4326).to_crs(25833).iloc[0]
    frame = gpd.GeoDataFrame(
        [{"Nr": "1", "Name": "Treff", "Träger": "Kiez e.V.", "Bereich": "Familie"}],
        geometry=[point],
        crs=25833,
    )
    path = tmp_path / "angebote.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    assert "25833" in path.read_text()
    mapping = write_mapping(
        tmp_path,
        '[columns]\nexternal_id = "Nr"\nname = "Name"\norganization = "Träger"\n'
        'categories = "Bereich"\n[values.categories]\n"Familie" = "familie"\n',
    )
    run(path, mapping)
    location = Location.objects.get(external_id="1")
    assert (round(location.point.x, 4), round(location.point.y, 4)) == (13.3901, 52.5301)


@pytest.mark.parametrize(
    ("name", "count", "category"),
    [
        ("jugendfreizeiteinrichtungen", 407, "jugendfreizeit"),
        ("pflegeeinrichtungen", 274, "pflege"),
    ],
)
def test_geoportal_layers_import_through_the_shipped_mapping(name, count, category):
    CategoryFactory(slug="jugendfreizeit")
    CategoryFactory(slug="spielplatz-kinderfarm")
    CategoryFactory(slug="senioren")
    for slug in ("kinder", "jugendliche", "senioren"):
        TargetGroupFactory(slug=slug)
    path, mapping = GEOPORTAL / f"{name}.geojson", MAPPINGS / f"{name}.toml"
    out = run(path, mapping)
    assert f"{count} rows read, 0 rejected" in out
    services = Service.objects.filter(categories__slug=category)
    assert services.count() > 0
    assert Service.objects.count() == count
    assert (
        Location.objects.filter(
            point__within="POLYGON((13 52.3, 13.8 52.3, 13.8 52.7, 13 52.7, 13 52.3))"
        ).count()
        == count
    )
    before = snapshot()
    assert f"0 new, 0 changed, {count} unchanged" in run(path, mapping)
    assert snapshot() == before


def test_all_four_geoportal_mappings_read_their_files_without_rejections():
    for slug in ("jugendfreizeit", "spielplatz-kinderfarm", "senioren", "kita"):
        CategoryFactory(slug=slug)
    for slug in ("kinder", "jugendliche", "senioren", "familien"):
        TargetGroupFactory(slug=slug)
    for name in (
        "jugendfreizeiteinrichtungen",
        "kindertagesstaetten",
        "pflegeeinrichtungen",
        "schulen",
    ):
        out = run(GEOPORTAL / f"{name}.geojson", MAPPINGS / f"{name}.toml", commit=False)
        assert " 0 rejected" in out, out


def test_address_without_coordinates_is_geocoded_with_the_address_index(tmp_path):
    from django.contrib.gis.geos import Point

    from planning_areas.address_search import street_key
    from planning_areas.models import Address, Street

    street = Street.objects.create(name="Musterstraße", key=street_key("Musterstraße"))
    Address.objects.create(
        street=street, house_number=3, postcode="10115", point=Point(13.3911, 52.5311, srid=4326)
    )
    rows = [*CSV_ROWS, "3;Ohne Punkt;Kiez e.V.;Musterstr.;3;10115;;;Familie;"]
    out = run(write_csv(tmp_path, rows), write_mapping(tmp_path))
    assert "3 rows read, 0 rejected" in out and "row 4: geocoded" in out
    location = Location.objects.get(external_id="test:3")
    assert (round(location.point.x, 4), round(location.point.y, 4)) == (13.3911, 52.5311)
    rows.append("4;Unbekannt;Kiez e.V.;Musterstraße;99;10115;;;Familie;")
    out = refused(write_csv(tmp_path, rows), write_mapping(tmp_path))
    assert "row 5" in out and "not found in the address index" in out
