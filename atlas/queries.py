"""Reads for the public site that span apps: map points and area outlines, built in PostGIS."""

from __future__ import annotations

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import Count, F, FloatField, Func, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from planning_areas.models import Area, Layer
from providers.models import Category, Service, ServiceAtLocation

# Tolerance in degrees (about 10 m in Berlin) for outlines drawn on the map.
OUTLINE_TOLERANCE = 0.0001


def primary_category_id() -> Subquery:
    """The most specific category of the service in ``OuterRef("service_id")``, for colouring."""
    through = Service.categories.through
    return Subquery(
        through.objects.filter(service_id=OuterRef("service_id"))
        .order_by(F("category__parent_id").asc(nulls_last=True), "category__sort_order")
        .values("category_id")[:1]
    )


def map_points(services: QuerySet[Service]) -> list[list]:
    """One row per service and location: ``[service id, lat, lng, category id, name]``.

    Coordinates are read with ST_Y/ST_X in the database, so no geometry objects are
    built in Python; this keeps 50,000 points well under a second.
    """
    rows = (
        ServiceAtLocation.objects.filter(service__in=services.order_by().values("pk"))
        .annotate(
            lat=Func(F("location__point"), function="ST_Y", output_field=FloatField()),
            lng=Func(F("location__point"), function="ST_X", output_field=FloatField()),
            category=primary_category_id(),
        )
        .order_by("service_id", "location_id")
        .values_list("service_id", "lat", "lng", "category", "service__name")
    )
    return [
        [service_id, round(lat, 6), round(lng, 6), category, name]
        for service_id, lat, lng, category, name in rows
    ]


def area_outlines(layer: Layer, code: str | None = None) -> list[dict]:
    """A layer's areas (or the one with ``code``) with outlines simplified for display as
    GeoJSON text, and their numbers of published services."""
    published_count = Subquery(
        Service.objects.published()
        .filter(locations__areas=OuterRef("pk"))
        .order_by()
        .values("locations__areas")
        .annotate(count=Count("pk", distinct=True))
        .values("count")
    )
    simplified = Func(
        F("geometry"),
        Value(OUTLINE_TOLERANCE),
        function="ST_SimplifyPreserveTopology",
        output_field=GeometryField(srid=4326),
    )
    areas = Area.objects.filter(layer=layer)
    if code:
        areas = areas.filter(code=code)
    areas = (
        areas.annotate(
            outline=AsGeoJSON(simplified, precision=5), services=Coalesce(published_count, 0)
        )
        .values("pk", "code", "name", "outline", "services")
        .order_by("code")
    )
    return list(areas)


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
