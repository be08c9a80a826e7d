"""The Sozialraumprofil on area pages, on the hand-made town."""

import datetime

import pytest

from planning_areas.models import Indicator, IndicatorValue

PERIOD = datetime.date(2024, 12, 31)

pytestmark = pytest.mark.django_db


@pytest.fixture
def current_town(town):
    for layer in (town["plr"], town["district"]):
        layer.valid_from = datetime.date(2020, 1, 1)
        layer.save()
    older = Indicator.objects.create(
        slug="older", name="65 und älter", aggregation="sum", age_from=65
    )
    for code, value in (("A", 50), ("B", 10), ("C", 10)):
        IndicatorValue.objects.create(
            indicator=older,
            area=town["areas"][code],
            period=datetime.date(2024, 12, 31),
            value=value,
        )
    return town


def test_area_page_shows_ages_coverage_gaps_and_indicators(client, current_town):
    html = client.get("/gebiete/plr/C/").content.decode()
    assert "Social-space profile" in html
    # Age groups: 200 under 6 and 10 aged 65+ → 95.2 % and 4.8 %.
    assert "95.2 %" in html and "4.8 %" in html
    # Kita coverage in C: 1 service, 5 places for 200 children = 25.0; parent 183.3.
    assert "25.0" in html and "183.3" in html
    assert "gap" in html
    # Child poverty: 30 here, 20 in the district (weighted by residents).
    assert "Kinderarmut" in html and "30.0" in html and "20.0" in html


def test_area_without_figures_still_renders(client, current_town):
    IndicatorValue.objects.all().delete()
    response = client.get("/gebiete/plr/A/")
    assert response.status_code == 200
