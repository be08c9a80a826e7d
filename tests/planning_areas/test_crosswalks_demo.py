"""The demo's crosswalks against the real Berlin data (with all 401,032 addresses)."""

from collections import defaultdict

import pytest

from planning_areas.models import Area, Crosswalk, CrosswalkShare

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
