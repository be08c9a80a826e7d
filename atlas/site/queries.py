"""Reads for the public site that span apps: map points and area outlines, built in PostGIS."""

from __future__ import annotations

from django.db import connection
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
from providers.models import Category, Location, Service, ServiceAtLocation

# Tolerance in degrees (about 7–11 m in Germany) for outlines drawn on the map.


def category_specificity() -> dict[int, tuple]:
    """Sort keys that put a category's most specific (deepest, first-sorted) relatives first."""
    categories = {c.pk: c for c in Category.objects.only("pk", "parent_id", "sort_order")}

    def depth(pk: int) -> int:
        level, node, seen = 0, categories[pk], set()
        while node.parent_id and node.parent_id in categories and node.pk not in seen:
            seen.add(node.pk)
            level, node = level + 1, categories[node.parent_id]
        return level

    return {pk: (-depth(pk), c.sort_order, pk) for pk, c in categories.items()}


def map_points_json(
    services: QuerySet[Service], locations: QuerySet | None = None
) -> tuple[int, str]:
    """The map's markers as JSON text built by PostgreSQL, and the number of services.

    One array per service and location: ``[service id, lat, lng, category id, name]``, where
    ``category id`` is the service's most specific category (for the marker's colour) or
    null. With ``locations``, only those of a service's locations are included. Building the
    JSON in the database keeps 50,000 points to a fraction of a second.
    """
    rank = category_specificity()
    ranked_ids = sorted(rank, key=rank.__getitem__)
    service_sql, service_params = services.order_by().values("pk").query.sql_with_params()
    location_clause, location_params = "", ()
    if locations is not None:
        location_sql, location_params = locations.order_by().values("pk").query.sql_with_params()
        location_clause = f"AND sal.location_id IN ({location_sql})"
    tables = {
        "sal": ServiceAtLocation._meta.db_table,
        "location": Location._meta.db_table,
        "service": Service._meta.db_table,
        "categories": Service.categories.through._meta.db_table,
    }
    # Only table names (from model metadata) and ORM-compiled subqueries are interpolated;
    # every value is a query parameter.
    sql = f"""
        SELECT count(DISTINCT sal.service_id),
               coalesce(json_agg(json_build_array(
                   sal.service_id,
                   round(ST_Y(l.point)::numeric, 6),
                   round(ST_X(l.point)::numeric, 6),
                   (SELECT sc.category_id FROM "{tables["categories"]}" sc
                    WHERE sc.service_id = sal.service_id
                    ORDER BY array_position(%s::bigint[], sc.category_id::bigint) LIMIT 1),
                   s.name
               )), '[]')::text
        FROM "{tables["sal"]}" sal
        JOIN "{tables["location"]}" l ON l.id = sal.location_id
        JOIN "{tables["service"]}" s ON s.id = sal.service_id
        WHERE sal.service_id IN ({service_sql}) {location_clause}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [ranked_ids, *service_params, *location_params])
        count, points = cursor.fetchone()
    return count, points


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
