"""load_profile: a dry run runs every step and writes nothing; bad input refuses the whole
profile with a clear message and leaves the database as it was."""

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from planning_areas.models import Address, Area, Layer, Street
from providers.models import Category, Location, Organization, Service, TargetGroup

SECOND_CITY = Path(__file__).resolve().parents[1] / "fixtures" / "second_city"

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(tmp_path) -> Path:
    """A copy of Auenstadt's files that a test may break; returns the profile's path."""
    folder = tmp_path / "auenstadt"
    shutil.copytree(SECOND_CITY, folder)
    return folder / "profile.toml"


def snapshot():
    models = (Layer, Area, Address, Street, Organization, Service, Location, Category, TargetGroup)
    return {
        model.__name__: list(model.objects.order_by("pk").values_list("pk")) for model in models
    }


def load(profile: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("load_profile", str(profile), *args, stdout=out)
    return out.getvalue()


def refused(profile: Path) -> str:
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        load(profile, "--commit")
    assert snapshot() == before
    message = str(excinfo.value)
    assert message.startswith("Nothing was written.")
    return message


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_dry_run_runs_every_step_and_writes_nothing(city):
    before = snapshot()
    output = load(city)
    assert snapshot() == before
    assert len(re.findall(r"^== .+ \(\d+\.\d s\)$", output, re.MULTILINE)) == 7
    assert "row 4: geocoded" in output  # the services were geocoded against the new index
    assert "Dry run" in output


def test_a_second_commit_changes_nothing(city):
    load(city, "--commit")
    before = snapshot()
    output = load(city, "--commit")
    assert snapshot() == before
    assert "0 new, 0 changed" in output
    assert not re.search(r"\b[1-9]\d* (new|changed|removed)\b", output)


def test_a_broken_zip_is_refused(city):
    (city.parent / "stadtteile.zip").write_bytes(b"PK\x03\x04 broken")
    assert "stadtteile.zip is not a readable zip archive" in refused(city)


def test_a_zip_without_data_is_refused(city):
    with zipfile.ZipFile(city.parent / "stadtteile.zip", "w") as archive:
        archive.writestr("liesmich.txt", "nichts")
    assert "contains no .shp file" in refused(city)


def test_a_wrong_field_name_is_named_with_the_fields_the_file_has(city):
    _edit(city, 'name_field = "st_name"', 'name_field = "stadtteil"')
    message = refused(city)
    assert "“stadtteil”" in message and "st_name" in message


def test_duplicate_area_codes_are_refused(city):
    path = city.parent / "stadtbezirke.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][1]["properties"]["SBZ_NR"] = "1"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "“1” (features 1, 2)" in refused(city)


def test_unknown_parent_codes_are_refused(city):
    path = city.parent / "stadtbezirke.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][1]["properties"]["SBZ_NR"] = "9"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "Parent codes not found on layer “stadtbezirke”: 2" in refused(city)


def test_a_service_row_that_cannot_be_geocoded_refuses_everything(city):
    _edit(city.parent / "angebote.csv", "Weidenkamp;7;", "Weidenkamp;70;")
    message = refused(city)
    assert "row 4" in message and "Weidenkamp 70" in message


def test_strict_addresses_refuse_the_repeated_address(city):
    _edit(city, "[addresses]\n", "[addresses]\nstrict = true\n")
    assert "1 duplicate addresses skipped (rows 12) (--strict refuses them)" in refused(city)


def test_an_unknown_entry_in_the_profile_is_named(city):
    _edit(city, 'name_field = "st_name"', 'name_field = "st_name"\ncode_feld = "x"')
    assert "unknown entries code_feld" in refused(city)


def test_a_missing_file_is_named(city):
    (city.parent / "angebote.csv").unlink()
    assert "file not found" in refused(city)


def test_invalid_toml_is_named(city):
    city.write_text("[municipality\nname = 1", encoding="utf-8")
    assert "is not valid TOML" in refused(city)


def test_a_commit_leaves_the_planner_statistics_of_the_tables_it_filled(city):
    # Without them PostgreSQL plans the map's area outlines on a fresh demo as if the
    # tables were empty (18-22 s instead of 0.8 s on Berlin); autovacuum may not run.
    load(city, "--commit")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename = ANY(%s)",
            [["providers_service", "providers_location_areas", "planning_areas_area"]],
        )
        assert cursor.fetchone()[0] == 3
