"""A small hand-made town whose right answers are worked out in the tests.

Planungsräume A, B, C (0.01° squares at 52.5° N; the centres of A and B are
677.6 m apart, C lies 6 km east) in one district D. Children under 6: A 100,
B 300, C 200. Kitas: S1 with 40 places at A's centre, S2 with 60 at B's centre,
S3 with 10 places at two locations (one in B at 13.412/52.502, one at C's centre).
"""

import datetime

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from planning_areas.models import Indicator, IndicatorValue
from providers.models import Location
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
)

PERIOD = datetime.date(2024, 12, 31)


def box(x0, y0, x1, y1):
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


def square(x, y):
    return box(x, y, x + 0.01, y + 0.01)


@pytest.fixture
def town(db):
    district_layer = LayerFactory(slug="bezirk", name="Bezirk", level=1)
    plr_layer = LayerFactory(slug="plr", name="PLR", level=2, parent=district_layer)
    district = AreaFactory(
        layer=district_layer, code="D", name="District", geometry=box(13.39, 52.49, 13.52, 52.52)
    )
    areas = {
        code: AreaFactory(
            layer=plr_layer,
            code=code,
            name=f"Area {code}",
            parent=district,
            geometry=square(x, 52.50),
        )
        for code, x in (("A", 13.40), ("B", 13.41), ("C", 13.50))
    }
    kids = Indicator.objects.create(
        slug="kids", name="Kinder unter 6", aggregation="sum", age_from=0, age_below=6
    )
    everybody = Indicator.objects.create(slug="people", name="Alle", aggregation="sum", age_from=0)
    poverty = Indicator.objects.create(
        slug="poverty",
        name="Kinderarmut",
        aggregation="weighted_mean",
        weight=everybody,
        polarity="higher_worse",
    )
    for code, (n_kids, n_people, rate) in {
        "A": (100, 1000, 10.0),
        "B": (300, 2000, 20.0),
        "C": (200, 1000, 30.0),
    }.items():
        for indicator, value in ((kids, n_kids), (everybody, n_people), (poverty, rate)):
            IndicatorValue.objects.create(
                indicator=indicator, area=areas[code], period=PERIOD, value=value
            )
    kita = CategoryFactory(slug="kita", name="Kita")
    other = CategoryFactory(slug="beratung", name="Beratung")

    def place(x, y):
        return LocationFactory(point=Point(x, y, srid=4326))

    ServiceFactory(
        name="S1",
        capacity=40,
        min_age=0,
        max_age=6,
        categories=[kita],
        locations=[place(13.405, 52.505)],
    )
    ServiceFactory(
        name="S2",
        capacity=60,
        min_age=0,
        max_age=6,
        categories=[kita],
        locations=[place(13.415, 52.505)],
    )
    ServiceFactory(
        name="S3",
        capacity=10,
        min_age=1,
        max_age=6,
        categories=[kita],
        locations=[place(13.412, 52.502), place(13.505, 52.505)],
    )
    ServiceFactory(
        name="Draft",
        capacity=500,
        min_age=0,
        max_age=6,
        categories=[kita],
        status="draft",
        locations=[place(13.505, 52.505)],
    )
    ServiceFactory(name="Counselling", categories=[other], locations=[place(13.415, 52.505)])
    Location.objects.all().refresh_areas()
    return {
        "plr": plr_layer,
        "district": district_layer,
        "kita": kita,
        "other": other,
        "areas": areas,
    }
