"""Sozialraum proposals with spopt: thresholds, contiguity, similarity and bad requests."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from planning_areas.models import Area, Composition, Indicator, IndicatorValue, Layer
from planning_areas.regionalisation import RegionalisationError, propose_regions
from tests.factories import AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db

PERIOD = datetime.date(2021, 12, 31)
SIZE = 1 / 128  # a power of two, so that neighbouring squares share exact edges


@pytest.fixture
def grid():
    """A 4 × 4 grid of units with 100 residents each; the west half poor, the east half not."""
    layer = LayerFactory(slug="raster")
    indicator = Indicator.objects.create(slug="child_poverty_percent", name="Kinderarmut")
    for row in range(4):
        for col in range(4):
            area = AreaFactory(
                layer=layer,
                code=f"u{row}{col}",
                population=100,
                geometry=square(13.0 + col * SIZE, 52.0 + row * SIZE, SIZE),
            )
            # Slightly different values: equal ones give SKATER edges of cost 0,
            # which its sparse spanning tree drops as if the units did not touch.
            IndicatorValue.objects.create(
                indicator=indicator,
                area=area,
                period=PERIOD,
                value=(40.0 if col < 2 else 5.0) + 0.1 * (4 * row + col),
            )
    return layer


def _regions(proposal) -> dict[str, set[str]]:
    regions: dict[str, set[str]] = {}
    for row in proposal.rows:
        regions.setdefault(row.code, set()).add(row.base_code)
    return regions


def test_maxp_regions_reach_the_population_threshold(grid):
    proposal = propose_regions(grid, indicators=["child_poverty_percent"], min_population=400)
    assert len(proposal.rows) == 16
    assert min(proposal.populations.values()) >= 400
    assert proposal.population_range[0] >= 400
    assert len(proposal.populations) >= 2


def test_maxp_regions_keep_similar_units_together(grid):
    proposal = propose_regions(grid, indicators=["child_poverty_percent"], min_population=700)
    for units in _regions(proposal).values():
        columns = {int(code[2]) < 2 for code in units}
        assert len(columns) == 1, units  # no region mixes the poor and the better-off half


def test_the_same_seed_gives_the_same_proposal(grid):
    first = propose_regions(grid, indicators=["child_poverty_percent"], min_population=300)
    second = propose_regions(grid, indicators=["child_poverty_percent"], min_population=300)
    assert first.rows == second.rows


def test_skater_cuts_the_given_number_of_regions(grid):
    proposal = propose_regions(
        grid, indicators=["child_poverty_percent"], method="skater", n_regions=2
    )
    assert sorted(len(u) for u in _regions(proposal).values()) == [8, 8]


def test_units_without_a_value_take_the_median_and_are_reported(grid):
    IndicatorValue.objects.filter(area__layer=grid, area__code="u00").delete()
    proposal = propose_regions(grid, indicators=["child_poverty_percent"], min_population=400)
    assert proposal.filled == {"child_poverty_percent": 1}
    assert "1 units without a value took the median" in "\n".join(proposal.summary_lines())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"indicators": []}, "at least one indicator"),
        ({"indicators": ["nirgends"]}, "has the indicator “nirgends”"),
        ({"indicators": ["child_poverty_percent"], "min_population": 0}, "must be positive"),
        ({"indicators": ["child_poverty_percent"], "min_population": 10**9}, "fewer residents"),
        ({"indicators": ["child_poverty_percent"], "method": "kmeans"}, "Unknown method"),
        ({"indicators": ["child_poverty_percent"], "method": "skater"}, "at least 2"),
        (
            {"indicators": ["child_poverty_percent"], "method": "skater", "n_regions": 99},
            "More regions",
        ),
    ],
)
def test_bad_requests_get_a_clear_error(grid, options, message):
    with pytest.raises(RegionalisationError, match=message):
        propose_regions(grid, **options)


def test_a_layer_without_populations_is_refused(grid):
    Area.objects.filter(layer=grid, code="u11").update(population=None)
    with pytest.raises(RegionalisationError, match="needs a population"):
        propose_regions(grid, indicators=["child_poverty_percent"])


def test_units_that_touch_no_other_are_refused(grid):
    AreaFactory(layer=grid, code="insel", population=100, geometry=square(14.0, 53.0, SIZE))
    with pytest.raises(RegionalisationError, match="2 groups that touch no other"):
        propose_regions(grid, indicators=["child_poverty_percent"], min_population=400)


def test_command_saves_a_draft_composed_layer_and_exports_its_mapping(grid):
    out = io.StringIO()
    call_command(
        "propose_regions",
        "--from",
        "raster",
        "--indicators",
        "child_poverty_percent",
        "--min-population",
        "400",
        "--layer",
        "entwurf",
        "--commit",
        stdout=out,
    )
    assert "residents per region" in out.getvalue()
    composition = Composition.objects.get(layer__slug="entwurf")
    assert composition.is_draft
    exported = io.StringIO()
    call_command("export_mapping", "--layer", "entwurf", stdout=exported)
    lines = exported.getvalue().splitlines()
    assert lines[0] == "base_code,code,name" and len(lines) == 17


def test_command_dry_run_writes_nothing(grid):
    call_command(
        "propose_regions",
        "--from",
        "raster",
        "--indicators",
        "child_poverty_percent",
        "--min-population",
        "400",
        "--layer",
        "entwurf",
        stdout=io.StringIO(),
    )
    assert not Layer.objects.filter(slug="entwurf").exists()


def test_export_of_an_ordinary_layer_is_refused(grid):
    with pytest.raises(CommandError, match="not a composed layer"):
        call_command("export_mapping", "--layer", "raster", stdout=io.StringIO())


@pytest.mark.slow
@pytest.mark.usefixtures("demo_db")
def test_berlin_planning_areas_give_regions_of_at_least_20000_residents():
    layer = Layer.objects.get(slug="planungsraeume-2021")
    proposal = propose_regions(
        layer,
        indicators=["child_poverty_percent", "unemployment_percent"],
        iterations=2,
    )
    assert len(proposal.rows) == 542
    assert proposal.population_range[0] >= 20_000
    assert sum(proposal.populations.values()) == 3_897_145
