"""What people type finds the right one of all 401,032 Berlin addresses.

Each row: the typed text, the official address it means and its official
Planungsraum (PLR_ID) as given in ``adressen.csv.gz``.
"""

import pytest

from atlas.demo import BERLIN_PROFILE, data_dir
from atlas.profile import Profile, load_addresses
from planning_areas.address_search import search_addresses
from planning_areas.models import Address

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.usefixtures("demo_db_with_addresses"),
]

VARIANTS = [
    # typed, (street, number, suffix, postcode), PLR
    ("Karl-Marx-Str. 12", ("Karl-Marx-Straße", 12, "", "12043"), "08100206"),
    ("KarlMarx Str 12", ("Karl-Marx-Straße", 12, "", "12043"), "08100206"),
    ("karl marx strasse 12a", ("Karl-Marx-Straße", 12, "A", "12043"), "08100206"),
    ("Karl-Marx-Straße 12 A", ("Karl-Marx-Straße", 12, "A", "12043"), "08100206"),
    ("12043 Karl-Marx-Str 12", ("Karl-Marx-Straße", 12, "", "12043"), "08100206"),
    ("Neukölln, Karl-Marx-Str. 12", ("Karl-Marx-Straße", 12, "", "12043"), "08100206"),
    ("Kurfuerstendamm 21", ("Kurfürstendamm", 21, "", "10719"), "04501042"),
    ("Kurfurstendam 21", ("Kurfürstendamm", 21, "", "10719"), "04501042"),
    ("Schoenhauser Allee 10", ("Schönhauser Allee", 10, "", "10119"), "03701556"),
    ("Schönhauserallee 10", ("Schönhauser Allee", 10, "", "10119"), "03701556"),
    ("Strasse des 17. Juni 100", ("Straße des 17. Juni", 100, "", "10557"), "01200629"),
    ("Alt Tempelhof 5", ("Alt-Tempelhof", 5, "", "12099"), "07400927"),
    ("Albrechts Teerofen 1", ("Albrechts Teerofen", 1, "", "14109"), "06400735"),
    ("Muellerstr. 3 13353", ("Müllerstraße", 3, "", "13353"), "01300836"),
    ("Müllerstraße 3, Spandau", ("Müllerstraße", 3, "", "13585"), "05100314"),
    ("Frankfurter Alle 7", ("Frankfurter Allee", 7, "", "10247"), "02500727"),
    ("Oranienstr 15 Kreuzberg", ("Oranienstraße", 15, "", "10999"), "02300314"),
    ("Gruenberger Strasse 11", ("Grünberger Straße", 11, "", "10243"), "02400624"),
    ("Hermannstr 4 12049", ("Hermannstraße", 4, "", "12049"), "08100101"),
    ("Hermannstraße 4 Wannsee", ("Hermannstraße", 4, "", "14109"), "06400735"),
    ("Hauptstr. 25 10827", ("Hauptstraße", 25, "", "10827"), "07200409"),
    ("Staaken Hauptstraße 25", ("Hauptstraße", 25, "", "13591"), "05200422"),
    ("Königstr 3 Mariendorf", ("Königstraße", 3, "", "12105"), "07501029"),
    ("Koenigstrasse 3 14109", ("Königstraße", 3, "", "14109"), "06400735"),
    ("Mühlenstr 2 Friedrichshain", ("Mühlenstraße", 2, "", "10243"), "02400625"),
    ("Bolschestrasse 14", ("Bölschestraße", 14, "", "12587"), "09501737"),
    ("Clayalle 22", ("Clayallee", 22, "", "14195"), "04400831"),
    ("Dorpfeldstr 10", ("Dörpfeldstraße", 10, "", "12489"), "09200716"),
    ("Gneisenaustr. 3", ("Gneisenaustraße", 3, "", "10961"), "02200211"),
    ("Greifswalder Str 40 Prenzlauer Berg", ("Greifswalder Straße", 40, "", "10405"), "03701660"),
    ("Kotbusser Damm 5", ("Kottbusser Damm", 5, "", "10967"), "02200213"),
    ("Platz der Luftbruecke 1", ("Platz der Luftbrücke", 1, "", "12101"), "07400721"),
    ("Alexanderpl. 1", ("Alexanderplatz", 1, "", "10178"), "01100310"),
    ("Neue Schönhauser Str 1", ("Neue Schönhauser Straße", 1, "", "10178"), "01100309"),
    ("Rue Racine 4", ("Rue Racine", 4, "", "13469"), "12500927"),
    ("Schlossstr 12 14059", ("Schloßstraße", 12, "", "14059"), "04300413"),
    ("Schloßstraße 12 Hermsdorf", ("Schloßstraße", 12, "", "13467"), "12400723"),
    ("Weissenseer Weg 9", ("Weißenseer Weg", 9, "", "10367"), "11300620"),
    ("Wilmersdorferstrasse 17", ("Wilmersdorfer Straße", 17, "", "10585"), "04300621"),
    ("Karl-Liebknecht-Str 33 Berlin", ("Karl-Liebknecht-Straße", 33, "", "10178"), "01100310"),
    ("Am Grossen Wannsee 2", ("Am Großen Wannsee", 2, "", "14109"), "06400735"),
    ("alt-moabit 5", ("Alt-Moabit", 5, "", "10557"), "01200628"),
]


@pytest.fixture(autouse=True)
def berlin(settings):
    """The demo is configured as its municipality would be: typed "Berlin" is ignored."""
    settings.ATLAS_MUNICIPALITY_NAME = "Berlin"


def test_the_table_has_at_least_thirty_distinct_addresses():
    assert len({expected for _typed, expected, _plr in VARIANTS}) >= 30


@pytest.mark.parametrize(("typed", "expected", "plr"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_typed_variant_ranks_the_official_address_first(typed, expected, plr):
    result = search_addresses(typed, limit=5)
    assert result.suggestions, result.message
    best = result.suggestions[0]
    assert (best.street, best.house_number, best.house_number_suffix, best.postcode) == expected
    address = Address.objects.select_related("area").get(pk=best.address_id)
    assert address.area.code == plr


def test_all_berlin_addresses_are_loaded_with_their_planning_area():
    assert Address.objects.count() == 401_034  # 401,032 + 2 Wannsee points not in the list
    assert not Address.objects.filter(area__isnull=True, point__isnull=True).exists()
    assert Address.objects.filter(point__isnull=False).count() == 1367


def test_a_street_without_number_suggests_streets_to_complete():
    result = search_addresses("Karl-Marx", limit=10)
    kinds = {s.kind for s in result.suggestions}
    streets = {s.street for s in result.suggestions}
    assert kinds == {"street"}
    assert {"Karl-Marx-Straße", "Karl-Marx-Allee", "Karl-Marx-Platz"} <= streets


def test_a_postcode_outside_the_city_says_so():
    result = search_addresses("Marienplatz 1, 80331 München")
    assert result.suggestions == []
    assert "80331" in result.message


def test_a_street_that_does_not_exist_finds_nothing():
    result = search_addresses("Xyzzyquux-Weg 7")
    assert result.suggestions == []
    assert result.message


def test_loading_the_demo_addresses_again_changes_nothing():
    lines = load_addresses(Profile.load(BERLIN_PROFILE, data=data_dir()))
    assert len(lines) == 2
    assert all(" 0 new, 0 changed" in line for line in lines), lines
