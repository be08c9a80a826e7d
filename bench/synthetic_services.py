"""Tops up the database in DATABASE_URL to N published services (synthetic, spread over Berlin).

    DATABASE_URL=… python bench/synthetic_services.py 50000

Only for benchmark databases: the services belong to one organisation marked as synthetic.
"""

import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.contrib.gis.geos import Point  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from planning_areas.models import Area  # noqa: E402
from providers.models import (  # noqa: E402
    Category,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
)

BATCH = 5_000


def main(target: int) -> None:
    have = Service.objects.published().count()
    if have >= target:
        print(f"{have} published services: nothing to add")
        return
    rng = random.Random(50_000)
    categories = list(Category.objects.values_list("pk", flat=True))
    districts = list(Area.objects.filter(layer__slug="bezirke").values_list("geometry", flat=True))
    extent = (13.09, 52.34, 13.76, 52.67)
    organization, _ = Organization.objects.get_or_create(
        external_id="bench:synthetic", defaults={"name": "Synthetische Angebote (Benchmark)"}
    )
    missing = target - have
    print(f"adding {missing} synthetic services …", flush=True)
    made = 0
    while made < missing:
        size = min(BATCH, missing - made)
        points = []
        while len(points) < size:
            point = Point(rng.uniform(extent[0], extent[2]), rng.uniform(extent[1], extent[3]))
            if not districts or any(d.contains(point) for d in districts):
                points.append(point)
        with transaction.atomic():
            locations = Location.objects.bulk_create(
                Location(
                    organization=organization,
                    name=f"Standort {made + i}",
                    street="Teststraße",
                    house_number=str(i),
                    postcode="10115",
                    point=Point(p.x, p.y, srid=4326),
                    external_id=f"bench:{made + i}",
                )
                for i, p in enumerate(points)
            )
            services = Service.objects.bulk_create(
                Service(
                    organization=organization,
                    name=f"Synthetisches Angebot {made + i}",
                    description="Erzeugt für den Karten-Benchmark.",
                    status=Service.Status.PUBLISHED,
                    external_id=f"bench:{made + i}",
                )
                for i in range(size)
            )
            ServiceAtLocation.objects.bulk_create(
                ServiceAtLocation(service=s, location=loc)
                for s, loc in zip(services, locations, strict=True)
            )
            Service.categories.through.objects.bulk_create(
                Service.categories.through(service_id=s.pk, category_id=rng.choice(categories))
                for s in services
            )
        made += size
        print(f"  {made}/{missing}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    main(int(sys.argv[1]))
