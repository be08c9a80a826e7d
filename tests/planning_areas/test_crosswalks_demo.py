"""The demo's crosswalks, figures moved along them and a composed layer, on the real
Berlin data (with all 401,032 addresses)."""

from collections import defaultdict

import pytest

from atlas.monitoring.coverage import coverage
from planning_areas.indicator_values import values_on_layer
from planning_areas.models import Area, Crosswalk, CrosswalkShare, Indicator, Layer
from providers.models import Category

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _sums_and_moved_total(source: str, target: str) -> tuple[dict[str, float], float, float]:
    shares = CrosswalkShare.objects.filter(
        crosswalk__source_layer__slug=source, crosswalk__target_layer__slug=target
    ).select_related("source")
    sums: dict[str, float] = defaultdict(float)
    moved = 0.0
    for share in shares:
        sums[share.source.code] += share.share
        moved += share.share * share.source.population
    total = sum(Area.objects.filter(layer__slug=source).values_list("population", flat=True))
    return sums, moved, total


@pytest.mark.usefixtures("demo_db_with_addresses")
class TestDemoCrosswalks:
    def test_lor_2021_to_2006_keeps_the_population_and_every_split_sums_to_one(self):
        sums, moved, total = _sums_and_moved_total("planungsraeume-2021", "planungsraeume-2006")
        assert len(sums) == 542
        assert all(s == pytest.approx(1.0, abs=0.001) for s in sums.values())
        assert moved == pytest.approx(total, rel=0.001)
        assert total == 3_897_145

    def test_lor_2021_to_postcodes_is_counted_from_the_address_codes(self):
        sums, moved, total = _sums_and_moved_total("planungsraeume-2021", "postleitzahlen")
        assert len(sums) == 542
        assert all(s == pytest.approx(1.0, abs=0.001) for s in sums.values())
        assert moved == pytest.approx(total, rel=0.001)
        crosswalk = Crosswalk.objects.get(
            source_layer__slug="planungsraeume-2021", target_layer__slug="postleitzahlen"
        )
        assert crosswalk.method == "address_codes"
        assert crosswalk.placed_share == pytest.approx(1.0, abs=0.001)


@pytest.mark.usefixtures("demo_db_with_addresses")
class TestDemoFiguresOnOtherLayers:
    def test_lor_2021_population_on_the_2006_edition_keeps_the_city_total(self):
        result = values_on_layer(
            Indicator.objects.get(slug="inhabitants"), Layer.objects.get(slug="planungsraeume-2006")
        )
        assert result.method == "crosswalk_area" and not result.is_exact
        assert len(result.values) == 448
        assert sum(result.values.values()) == pytest.approx(3_897_145, rel=0.001)

    def test_lor_2021_population_on_postcode_areas_is_split_by_address_codes(self):
        result = values_on_layer(
            Indicator.objects.get(slug="inhabitants"), Layer.objects.get(slug="postleitzahlen")
        )
        assert result.method == "crosswalk_address_codes"
        assert sum(result.values.values()) == pytest.approx(3_897_145, rel=0.001)

    def test_kita_coverage_on_the_composed_sozialraeume_adds_up_to_the_city(self):
        composed = Layer.objects.get(slug="sozialraeume-entwurf")
        assert composed.composition.is_draft
        result = coverage(composed, Category.objects.get(slug="kita"))
        assert result.residents_method == "composed"
        under_6 = values_on_layer(
            Indicator.objects.get(slug="inhabitants_under_6"), Layer.objects.get(slug="bezirke")
        )
        assert sum(a.figures.residents for a in result.areas) == sum(under_6.values.values())
        places = sum(a.figures.places or 0 for a in result.areas)
        assert places == pytest.approx(result.city.places)
        assert min(a.figures.residents for a in result.areas) > 0
