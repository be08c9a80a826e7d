"""Reads for the public site that span apps: map points and area outlines, built in PostGIS."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse
from django.utils import timezone

from atlas.core.geojson import (
    DISPLAY_PRECISION,
    OUTLINE_TOLERANCE,
    JSONBuildObject,
    geometry_json,
)
from planning_areas.models import Area, Layer
from providers.feature_store import data_version
from providers.models import Category, Service

from .marker_filter import MarkerFilter

# Tolerance in degrees (about 7–11 m in Germany) for outlines drawn on the map.


def map_count(kept: MarkerFilter) -> int:
    """How many published services have a marker on the map that ``kept`` keeps (a
    location; with place filters, one of those), counted on the stored markers like the
    tiles."""
    return kept.markers().values("service_id").distinct().count()


def points_version() -> str:
    """Changes whenever services, their locations, links, contacts or taxonomies change
    (the triggers advance the data version) and each day (validity, staleness)."""
    return f"{data_version()}|{timezone.localdate()}"


def area_outlines(layer: Layer, code: str | None = None) -> list[str]:
    """Feature texts of a layer's areas (or the one with ``code``): outlines simplified for
    display, name, code, number of published services and the area page's URL."""
    published_count = Subquery(
        Service.objects.published()
        .filter(locations__areas=OuterRef("pk"))
        .order_by()
        .values("locations__areas")
        .annotate(count=Count("pk", distinct=True))
        .values("count")
    )
    # The area page's URL with the code in its place, reversed once.
    marker = "0"
    url = reverse("atlas:area_detail", args=[layer.slug, marker])
    head, tail = url[: url.rindex(marker)], url[url.rindex(marker) + len(marker) :]
    feature = JSONBuildObject(
        type=Value("Feature"),
        id=F("pk"),
        geometry=geometry_json("geometry", OUTLINE_TOLERANCE, DISPLAY_PRECISION),
        properties=JSONBuildObject(
            code=F("code"),
            name=F("name"),
            services=Coalesce(published_count, 0),
            url=Concat(Value(head), F("code"), Value(tail), output_field=TextField()),
        ),
    )
    areas = Area.objects.filter(layer=layer)
    if code:
        areas = areas.with_code(code)
    return list(
        areas.annotate(feature=Cast(feature, TextField()))
        .order_by("code")
        .values_list("feature", flat=True)
    )


def services_by_category(services: QuerySet[Service]) -> list[tuple[Category | None, list]]:
    """Group services under each of their categories (a service may appear more than once).

    Services without any category are grouped under ``None`` at the end.
    """
    services = list(services.prefetch_related("categories").select_related("organization"))
    categories = {c.pk: c for c in Category.objects.all()}
    groups: dict[int | None, list[Service]] = {}
    for service in services:
        keys = [c.pk for c in service.categories.all()] or [None]
        for key in keys:
            groups.setdefault(key, []).append(service)
    ordered = sorted(
        (key for key in groups if key is not None),
        key=lambda pk: (categories[pk].sort_order, categories[pk].name),
    )
    result = [(categories[pk], groups[pk]) for pk in ordered]
    if None in groups:
        result.append((None, groups[None]))
    return result
