"""Coverage, 2SFCA and gaps on the hand-made town of conftest.py, answers worked out by hand."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.monitoring.accessibility import accessibility, distances, two_step_fca
from atlas.monitoring.coverage import coverage, coverage_by_category
from atlas.monitoring.gaps import AreaFigure, find_gaps
from atlas.monitoring.population import PopulationError, population_group
from planning_areas.models import Indicator
from providers.models import Service
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def by_code(rows):
    return {row.code: row for row in rows}


def test_kita_population_is_the_under_6_group_from_the_services_ages(town):
    group = population_group(town["kita"])
    assert group.slugs == ["kids"]
    assert (group.age_from, group.age_below) == (0, 6)


def test_services_without_ages_are_compared_with_all_residents(town):
    assert population_group(town["other"]).slugs == ["people"]


def test_a_rate_is_refused_as_population(town):
    with pytest.raises(PopulationError, match="not a count"):
        population_group(town["kita"], "poverty")


def test_coverage_per_area_counts_services_and_splits_places_over_locations(town):
    result = coverage(town["plr"], town["kita"])
    rows = by_code(result.areas)
    assert result.measure == "places"
    # A: S1 (40 places) for 100 children; B: S2 (60) + half of S3 (5) for 300; C: half of S3.
    assert (rows["A"].figures.services, rows["A"].figures.places) == (1, 40)
    assert (rows["B"].figures.services, rows["B"].figures.places) == (2, 65)
    assert (rows["C"].figures.services, rows["C"].figures.places) == (1, 5)
    assert rows["A"].value("places") == pytest.approx(400.0)
    assert rows["B"].value("places") == pytest.approx(65 / 300 * 1000)
    assert rows["C"].value("places") == pytest.approx(25.0)
    assert rows["B"].value("services") == pytest.approx(2 / 300 * 1000)


def test_parent_and_city_count_a_service_once_and_all_its_places(town):
    result = coverage(town["plr"], town["kita"])
    parent = result.areas[0].parent
    assert (parent.services, parent.places, parent.residents) == (3, 110, 600)
    assert (result.city.services, result.city.places, result.city.residents) == (3, 110, 600)
    assert result.city_value == pytest.approx(110 / 600 * 1000)


def test_coarser_layer_gives_the_same_figures_with_residents_combined_from_finer(town):
    result = coverage(town["district"], town["kita"])
    (row,) = result.areas
    assert (row.figures.services, row.figures.places, row.figures.residents) == (3, 110, 600)
    assert result.residents_source == "plr"


def test_drafts_and_other_categories_do_not_count(town):
    result = coverage(town["plr"], town["other"])
    assert result.measure == "services"
    rows = by_code(result.areas)
    assert [rows[c].figures.services for c in "ABC"] == [0, 1, 0]
    assert rows["B"].value("services") == pytest.approx(1 / 2000 * 1000)


def test_two_step_fca_matches_the_hand_computation(town):
    # Step 1 (1,000 m): L1 40/(100+300) = 0.1, L2 60/400 = 0.15, L3 (A, B within
    # 579 m and 390 m) 5/400 = 0.0125, L4 at C's centre 5/200 = 0.025.
    # Step 2: A and B reach L1-L3: 0.2625 → 262.5 per 1,000; C reaches L4: 25.
    result = accessibility(town["plr"], town["kita"], catchment_m=1000)
    rows = by_code(result.areas)
    assert rows["A"].value == pytest.approx(262.5)
    assert rows["B"].value == pytest.approx(262.5)
    assert rows["C"].value == pytest.approx(25.0)
    # Every child reaches some supply, so the city value is places ÷ children.
    assert result.city_value == pytest.approx(110 / 600 * 1000)
    assert (result.demand_points, result.supply_points) == (3, 4)
    assert result.demand_layer.slug == "plr"


def test_two_step_fca_with_a_short_catchment_keeps_supply_in_its_own_area(town):
    # 500 m: A reaches L1 (0 m) only; B reaches L2 (0 m) and L3 (390 m); L1 serves A
    # alone (40/100), L2 and L3 serve B alone (60/300, 5/300).
    rows = by_code(accessibility(town["plr"], town["kita"], catchment_m=500).areas)
    assert rows["A"].value == pytest.approx(400.0)
    assert rows["B"].value == pytest.approx(65 / 300 * 1000)


def test_two_step_fca_on_a_coarser_layer_is_the_residents_weighted_mean(town):
    (row,) = accessibility(town["district"], town["kita"], catchment_m=1000).areas
    assert row.value == pytest.approx((100 * 262.5 + 300 * 262.5 + 200 * 25) / 600)


def test_distance_decay_lowers_the_weight_of_far_supply(town):
    plain = by_code(accessibility(town["plr"], town["kita"], catchment_m=1000).areas)
    decayed = by_code(
        accessibility(town["plr"], town["kita"], catchment_m=1000, decay="gaussian").areas
    )
    assert decayed["C"].value == pytest.approx(plain["C"].value)  # its supply is at 0 m
    assert decayed["A"].value != pytest.approx(plain["A"].value)


def test_unknown_decay_is_refused(town):
    with pytest.raises(ValueError):
        accessibility(town["plr"], town["kita"], decay="cubic")


def test_two_step_fca_without_supply_gives_zero_not_an_error():
    import pandas as pd

    demand = pd.DataFrame({"lon": [13.4], "lat": [52.5], "residents": [10.0]}, index=[1])
    supply = pd.DataFrame({"lon": [], "lat": [], "places": []})
    assert two_step_fca(demand, supply, 1000).tolist() == [0.0]
    assert distances(demand, supply, 1000).empty


def test_gap_is_below_three_quarters_of_the_median_and_priority_when_poorer(town):
    result = coverage(town["plr"], town["kita"])
    figures = [
        AreaFigure(r.area_id, r.code, r.name, r.value("places"), r.figures.residents)
        for r in result.areas
    ]
    from planning_areas.models import Indicator

    report = find_gaps(figures, town["plr"], need=Indicator.objects.get(slug="poverty"))
    # Values 400, 216.7, 25: median 216.7, threshold 162.5; C is below it and its
    # child poverty (30 %) is above the median (20 %).
    assert report.median == pytest.approx(65 / 300 * 1000)
    assert report.threshold == pytest.approx(0.75 * 65 / 300 * 1000)
    assert [(f.area.code, f.is_priority, f.need) for f in report.gaps] == [("C", True, 30.0)]
    assert report.need_median == 20.0


def test_area_without_residents_is_never_a_gap(town):
    figures = [
        AreaFigure(1, "X", "X", 0.0, 0),
        AreaFigure(2, "Y", "Y", 10.0, 100),
        AreaFigure(3, "Z", "Z", 1.0, 100),
    ]
    report = find_gaps(figures, town["plr"], share=0.75, need=None)
    assert [f.area.code for f in report.gaps] == ["Z"]


@pytest.fixture
def family(town):
    """A parent category above the Kitas; S1 is also filed under the parent itself."""
    parent = CategoryFactory(slug="familie", name="Familie")
    town["kita"].parent = parent
    town["kita"].save()
    Service.objects.get(name="S1").categories.add(parent)
    return parent


def figures(result):
    return (
        result.measure,
        result.group.slugs,
        [
            (
                a.code,
                a.figures.services,
                a.figures.places,
                a.figures.residents,
                a.parent and (a.parent.services, a.parent.places, a.parent.residents),
            )
            for a in result.areas
        ],
        (result.city.services, result.city.places, result.city.residents),
    )


def test_all_categories_at_once_count_a_service_once_per_category_with_the_ones_below(town, family):
    found = coverage_by_category(town["plr"], [family, town["kita"], town["other"]])
    # The parent holds the three Kitas (S1 twice: directly and through the Kitas) once each.
    parent = by_code(found[family.pk].areas)
    assert [(parent[c].figures.services, parent[c].figures.places) for c in "ABC"] == [
        (1, 40),
        (2, 65),
        (1, 5),
    ]
    assert found[family.pk].group.slugs == ["kids"]
    assert found[family.pk].city.places == 110
    # Counselling (no capacity, no ages): services per 1,000 of all residents; B has 2,000.
    other = found[town["other"].pk]
    assert other.measure == "services"
    assert by_code(other.areas)["B"].value("services") == pytest.approx(0.5)
    assert by_code(other.areas)["A"].figures.services == 0


def test_all_categories_at_once_equal_each_category_on_its_own(town, family):
    for layer in (town["plr"], town["district"]):
        categories = [family, town["kita"], town["other"]]
        together = coverage_by_category(layer, categories)
        for category in categories:
            assert figures(together[category.pk]) == figures(coverage(layer, category))


def test_all_categories_take_one_statement_for_their_supply_and_one_for_their_ages(town, family):
    with CaptureQueriesContext(connection) as queries:
        coverage_by_category(town["plr"], [family, town["kita"], town["other"]])
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("GROUPING SETS" in sql for sql in statements) == 1
    assert sum("min(s.min_age)" in sql for sql in statements) == 1


def test_a_category_without_a_population_group_is_named_with_its_error(town):
    # No age group counts the Kitas' 0-5 or everybody once the counts are no longer sums.
    Indicator.objects.filter(slug__in=["kids", "people"]).update(aggregation="none")
    found = coverage_by_category(town["plr"], [town["kita"], town["other"]])
    assert all(isinstance(found[c.pk], PopulationError) for c in (town["kita"], town["other"]))
