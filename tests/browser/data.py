"""A small, realistic data set for the browser tests: two districts, two categories."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point

from providers.models import Service
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    square,
)


@dataclass
class SiteData:
    family: object
    youth: object
    services: list
    draft: Service
    cafe: Service
    west: object
    east: object


def make_site_data() -> SiteData:
    layer = LayerFactory(slug="bezirke", name="Bezirke", level=1)
    west = AreaFactory(layer=layer, code="01", name="Westend", geometry=square(13.20, 52.40, 0.2))
    east = AreaFactory(layer=layer, code="02", name="Ostend", geometry=square(13.40, 52.40, 0.2))
    family = CategoryFactory(slug="familie", name="Familie", colour="#e31a1c")
    youth = CategoryFactory(slug="jugend", name="Jugend", colour="#1f78b4")
    services = []
    # Seven family services spread over both districts, four youth clubs in the east.
    for i in range(7):
        location = LocationFactory(point=Point(13.25 + i * 0.04, 52.45 + (i % 3) * 0.03))
        services.append(
            ServiceFactory(
                name=f"Familienzentrum {i + 1}", locations=[location], categories=[family]
            )
        )
    for i in range(4):
        location = LocationFactory(point=Point(13.45 + i * 0.02, 52.55))
        services.append(
            ServiceFactory(name=f"Jugendclub {i + 1}", locations=[location], categories=[youth])
        )
    cafe_location = LocationFactory(
        name="Nachbarschaftshaus", street="Elternweg", house_number="5", point=Point(13.3, 52.5)
    )
    cafe = ServiceFactory(
        name="Elterncafé Sonnenschein",
        description="Frühstück und Austausch für Eltern mit Babys.",
        locations=[cafe_location],
        categories=[family],
        opening_hours="Mo-Fr 09:00-12:00",
    )
    services.append(cafe)
    draft = ServiceFactory(
        name="Entwurf, nicht öffentlich",
        status=Service.Status.DRAFT,
        locations=[LocationFactory(point=Point(13.35, 52.5))],
        categories=[family],
    )
    return SiteData(family, youth, services, draft, cafe, west, east)
