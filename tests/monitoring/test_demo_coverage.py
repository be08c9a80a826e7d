"""Coverage on the Berlin demo, checked against the source files' sums."""

import csv

import pytest

from atlas import demo
from atlas.monitoring.accessibility import accessibility
from atlas.monitoring.coverage import coverage
from planning_areas.models import Layer
from providers.models import Category

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_db")]


def file_sum(name, column):
    path = demo.data_dir() / "population-lor" / name
    with path.open(encoding="utf-8") as handle:
        return sum(int(row[column]) for row in csv.DictReader(handle))


PLR_FILE = "berlin-lor-population-2024-02-t2-planning-areas.csv"


@pytest.fixture(scope="module")
def kita_plr(demo_db, django_db_blocker):
    with django_db_blocker.unblock():
        return coverage(
            Layer.objects.get(slug="planungsraeume-2021"), Category.objects.get(slug="kita")
        )


def test_all_kita_places_and_children_under_6_add_up_to_the_files(kita_plr):
    assert kita_plr.city.services == 2880
    assert kita_plr.city.places == pytest.approx(194_979)
    assert kita_plr.city.residents == file_sum(PLR_FILE, "inhabitants_age_below_6")
    assert sum(a.figures.places or 0 for a in kita_plr.areas) == pytest.approx(194_979)
    assert kita_plr.group.slugs == ["inhabitants_under_6"]


@pytest.mark.parametrize("slug", ["bezirksregionen-2021", "prognoseraeume-2021"])
def test_coarser_layers_aggregate_exactly(kita_plr, slug):
    layer = Layer.objects.get(slug=slug)
    result = coverage(layer, Category.objects.get(slug="kita"))
    assert result.city.places == pytest.approx(194_979)
    assert result.city.residents == kita_plr.city.residents
    if slug == "bezirksregionen-2021":
        by_parent = {a.parent_id: a.parent for a in kita_plr.areas}
        for area in result.areas:
            parent = by_parent[area.area_id]
            assert area.figures.services == parent.services
            assert area.figures.places == pytest.approx(parent.places)
            assert area.figures.residents == parent.residents


def test_two_step_fca_uses_planning_area_points_and_keeps_supply(kita_plr):
    result = accessibility(
        Layer.objects.get(slug="bezirke"), Category.objects.get(slug="kita"), catchment_m=1000
    )
    assert result.demand_layer.slug == "planungsraeume-2021"
    assert result.supply_points > 2800
    assert len(result.areas) == 12
    assert all(a.value is not None and a.value > 0 for a in result.areas)
