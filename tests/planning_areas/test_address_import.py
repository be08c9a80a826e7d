"""import_addresses: dry run by default, all or nothing, idempotent, merges positions."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command

from planning_areas.models import Address, Street
from tests.factories import AreaFactory, LayerFactory

pytestmark = pytest.mark.django_db

HEADER = "hnr,hnr_zusatz,str_name,plz,ort_name,PLR_NAME,PLR_ID\n"


@pytest.fixture
def plr_layer():
    layer = LayerFactory(slug="planungsraeume-test", level=4)
    AreaFactory(layer=layer, code="01100309")
    AreaFactory(layer=layer, code="01100415")
    return layer


def _csv(tmp_path, rows: str, name="adressen.csv.gz"):
    path = tmp_path / name
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(HEADER + rows)
    return path


def _run(*args):
    out = io.StringIO()
    call_command("import_addresses", *map(str, args), stdout=out)
    return out.getvalue()


ROWS = (
    "1,,Ackerstraße,10115,Mitte,Oranienburger Straße,01100309\n"
    "1,A,Ackerstraße,10115,Mitte,Oranienburger Straße,01100309\n"
    "10,,Ackerstraße,10115,Mitte,Invalidenstraße,01100415\n"
    ",,Ackerstraße,10115,Mitte,Invalidenstraße,01100415\n"
)


def test_without_commit_nothing_is_written(tmp_path, plr_layer):
    output = _run(_csv(tmp_path, ROWS), "--layer", plr_layer.slug)
    assert "4 new" in output
    assert "Dry run" in output
    assert not Address.objects.exists()
    assert not Street.objects.exists()


def test_commit_writes_addresses_with_their_official_area(tmp_path, plr_layer):
    _run(_csv(tmp_path, ROWS), "--layer", plr_layer.slug, "--commit")
    address = Address.objects.get(house_number=1, house_number_suffix="A")
    assert address.street.name == "Ackerstraße"
    assert address.street.key == "ackerstrasse"
    assert address.area.code == "01100309"
    assert address.label == "Ackerstraße 1A, 10115 Mitte"
    assert Address.objects.filter(house_number__isnull=True).count() == 1


def test_a_second_import_changes_nothing(tmp_path, plr_layer):
    path = _csv(tmp_path, ROWS)
    _run(path, "--layer", plr_layer.slug, "--commit")
    output = _run(path, "--layer", plr_layer.slug, "--commit")
    assert "0 new, 0 changed, 4 unchanged" in output
    assert Address.objects.count() == 4


def test_points_from_geojson_enrich_the_same_addresses(tmp_path, plr_layer):
    _run(_csv(tmp_path, ROWS), "--layer", plr_layer.slug, "--commit")
    geojson = tmp_path / "points.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"STRNAME": "Ackerstraße", "HSNR": "001A", "PLZ": "10115"},
                        "geometry": {"type": "Point", "coordinates": [13.3985, 52.5305]},
                    }
                ],
            }
        )
    )
    output = _run(geojson, "--commit")
    assert "0 new, 1 changed" in output
    address = Address.objects.get(house_number=1, house_number_suffix="A")
    assert (round(address.point.x, 4), round(address.point.y, 4)) == (13.3985, 52.5305)
    assert address.area.code == "01100309"  # kept: the point adds to what was known


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("x1,,Ackerstraße,10115,Mitte,X,01100309\n", "house number"),
        ("1,,,10115,Mitte,X,01100309\n", "street is empty"),
        ("2,,Ackerstraße,10115,Mitte,X,99999999\n", "99999999"),
    ],
    ids=["bad-number", "no-street", "unknown-area-code"],
)
def test_a_bad_row_aborts_the_whole_import(tmp_path, plr_layer, rows, message):
    path = _csv(tmp_path, ROWS + rows)
    with pytest.raises(CommandError, match=message):
        _run(path, "--layer", plr_layer.slug, "--commit")
    assert not Address.objects.exists()


def test_a_bad_second_file_rolls_back_the_first(tmp_path, plr_layer):
    good = _csv(tmp_path, ROWS, "good.csv.gz")
    bad = _csv(tmp_path, "1,,,10115,Mitte,X,01100309\n", "bad.csv.gz")
    with pytest.raises(CommandError):
        _run(good, bad, "--layer", plr_layer.slug, "--commit")
    assert not Address.objects.exists()


def test_area_codes_need_a_layer(tmp_path, plr_layer):
    with pytest.raises(CommandError, match="--layer"):
        _run(_csv(tmp_path, ROWS), "--commit")


def test_an_unknown_layer_is_named(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        _run(_csv(tmp_path, ROWS), "--layer", "nope", "--commit")


def test_a_missing_file_or_wrong_format_is_a_readable_error(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        _run(tmp_path / "missing.csv", "--commit")
    other = tmp_path / "addresses.txt"
    other.write_text("hello")
    with pytest.raises(CommandError, match="Unknown file type"):
        _run(other, "--commit")


def test_a_file_without_a_street_column_names_the_option(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="--street-field"):
        _run(path, "--commit")
