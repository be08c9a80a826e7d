"""import_addresses takes the files cities publish: zips, any case, x/y in a CRS, districts."""

import io
import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command

from planning_areas.models import Address, Street
from tests.factories import AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("import_addresses", *map(str, args), stdout=out)
    return out.getvalue()


def _snapshot():
    return (
        list(Address.objects.order_by("pk").values_list()),
        list(Street.objects.order_by("pk").values_list()),
    )


def _refused(*args) -> str:
    before = _snapshot()
    with pytest.raises(CommandError) as excinfo:
        _run(*args)
    assert _snapshot() == before
    return str(excinfo.value)


def _zipped(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"export/{name}", text)
    return path


# Hauskoordinaten in ETRS89 / UTM 32N (Cologne's centre), lower-case fields, no postcode.
UTM32 = "strname;hsnr;ostwert;nordwert\nDomstraße;1;356300,5;5645300\nDomstraße;2a;356320;5645310\n"


def test_zipped_csv_with_lower_case_fields_and_utm32_coordinates_is_read(tmp_path):
    path = _zipped(tmp_path, "hauskoordinaten.csv", UTM32)
    output = _run(path, "--srid", "25832", "--commit")
    assert "2 new" in output
    address = Address.objects.get(house_number=2)
    assert address.house_number_suffix == "A"
    assert address.postcode == ""
    assert 6.9 < address.point.x < 7.0 and 50.9 < address.point.y < 51.0


def test_coordinates_without_a_crs_name_the_srid_option(tmp_path):
    message = _refused(_zipped(tmp_path, "hk.csv", UTM32), "--commit")
    assert "--srid" in message


def test_field_names_are_matched_without_regard_to_case(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("STRNAME,Hsnr,Plz\nAckerstraße,1,10115\n")
    _run(path, "--street-field", "strname", "--commit")
    assert Address.objects.get().postcode == "10115"


def test_duplicates_and_street_only_rows_are_skipped_with_counts_and_row_numbers(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "strname,hsnr\nAckerstraße,1\nAckerstraße *,\nAckerstraße,1\nAckerstraße,2\nAckerstraße,1\n"
    )
    output = _run(path, "--commit")
    assert "2 duplicate addresses skipped (rows 3, 5)" in output
    assert "1 street-only rows (no house number) skipped (rows 2)" in output
    assert sorted(Address.objects.values_list("house_number", flat=True)) == [1, 2]


def test_strict_refuses_duplicates_and_writes_nothing(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("strname,hsnr\nAckerstraße,1\nAckerstraße,1\n")
    message = _refused(path, "--strict", "--commit")
    assert "1 duplicate addresses skipped (rows 2)" in message
    assert "--strict" in message


def test_district_layer_names_each_address_after_its_area(tmp_path):
    layer = LayerFactory(slug="stadtteile", level=2)
    square = shapely.box(6.95, 50.93, 6.97, 50.95)
    AreaFactory(
        layer=layer,
        code="101",
        name="Altstadt-Nord",
        geometry=GEOSGeometry(shapely.MultiPolygon([square]).wkt, srid=4326),
    )
    path = _zipped(tmp_path, "hk.csv", UTM32)
    output = _run(path, "--srid", "25832", "--district-layer", "stadtteile", "--commit")
    assert "2 new" in output
    assert set(Address.objects.values_list("district", flat=True)) == {"Altstadt-Nord"}


def test_unknown_district_layer_is_named(tmp_path):
    path = _zipped(tmp_path, "hk.csv", UTM32)
    message = _refused(path, "--srid", "25832", "--district-layer", "nope")
    assert "“nope” does not exist" in message


def test_geojson_points_with_z_and_m_values_commit_in_2d(tmp_path):
    path = tmp_path / "points.geojson"
    feature = {
        "type": "Feature",
        "properties": {"strname": "Ackerstraße", "hsnr": "3"},
        "geometry": {"type": "Point", "coordinates": [13.3985, 52.5305, 40.0, 1.0]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    _run(path, "--commit")
    point = Address.objects.get().point
    assert not point.hasz
    assert (round(point.x, 4), round(point.y, 4)) == (13.3985, 52.5305)


def test_zipped_shapefile_of_addresses_is_read(tmp_path):
    frame = gpd.GeoDataFrame(
        {"strname": ["Domstraße"], "hsnr": ["7"]},
        geometry=[shapely.Point(356300, 5645300)],
        crs="EPSG:25832",
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "adressen.shp", engine="pyogrio")
    archive = tmp_path / "adressen.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for file in folder.iterdir():
            handle.write(file, file.name)
    _run(archive, "--commit")
    assert 6.9 < Address.objects.get().point.x < 7.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.zip", b"PK\x03\x04 not really", "not a readable zip archive"),
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "Cannot read"),
        ("nul.csv", b"strname,hsnr\nAcker\x00stra\xdfe,1\n", "Cannot read"),
        ("empty.csv", b"", "is empty"),
    ],
    ids=["zip", "geojson", "nul-bytes-latin1", "empty"],
)
def test_a_broken_file_is_refused_with_a_clear_message(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert message in _refused(path, "--commit")


def test_wrong_field_name_lists_the_fields_of_the_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("strname,hsnr\nAckerstraße,1\n")
    message = _refused(path, "--street-field", "gasse", "--commit")
    assert "“gasse”" in message and "strname, hsnr" in message


def test_dry_run_finds_the_unknown_area_code_the_commit_would(tmp_path):
    layer = LayerFactory(slug="plr", level=1)
    AreaFactory(layer=layer, code="01")
    path = tmp_path / "a.csv"
    path.write_text("strname,hsnr,plr_id\nAckerstraße,1,01\nAckerstraße,2,99\n")
    dry = _refused(path, "--layer", "plr")
    committed = _refused(path, "--layer", "plr", "--commit")
    assert "99" in dry and dry == committed


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("S" * 201 + ",1,", "street is longer than 200 characters"),
        ("Ackerstraße,1," + "1" * 11, "postcode is longer than 10 characters"),
        ("Acker\x00straße,1,", "NUL byte"),
    ],
    ids=["long-street", "long-postcode", "nul-byte"],
)
def test_values_the_database_would_refuse_are_found_by_the_dry_run(tmp_path, row, message):
    path = tmp_path / "a.csv"
    path.write_text("strname,hsnr,plz\n" + row + "\n", encoding="utf-8")
    assert message in _refused(path)
    assert message in _refused(path, "--commit")
