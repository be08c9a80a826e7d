"""Area GeoJSON built in PostGIS: simplified on request, one JSON text per feature."""

from __future__ import annotations

from django.db.models import Aggregate, F, JSONField, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce, Concat

from atlas.core.geojson import JSONBuildObject, geometry_json

from .models import IndicatorValue


class JSONObjectAgg(Aggregate):
    """``jsonb_object_agg(key, value)``: one JSON object from key/value rows."""

    function = "JSONB_OBJECT_AGG"
    output_field = JSONField()


def latest_indicators(area_ref: str):
    """``{slug: value}`` of the newest value of each indicator of the area ``area_ref``."""
    values = (
        IndicatorValue.objects.latest_per_area()
        .filter(area_id=OuterRef(area_ref))
        .values("area_id")
        .annotate(values=JSONObjectAgg(F("indicator__slug"), F("value")))
        .values("values")
    )
    return Coalesce(Subquery(values, output_field=JSONField()), Value({}, JSONField()))


def area_properties(prefix: str = "") -> dict:
    p = prefix
    return {
        "id": F(f"{p}pk"),
        "layer": F(f"{p}layer__slug"),
        "code": F(f"{p}code"),
        "key": Concat(F(f"{p}layer__slug"), Value(":"), F(f"{p}code"), output_field=TextField()),
        "name": F(f"{p}name"),
        "parent": F(f"{p}parent_id"),
        "population": F(f"{p}population"),
        "indicators": latest_indicators(f"{p}pk"),
    }


def area_feature(geometry, **extra_properties) -> Cast:
    """The feature text of an area, with ``geometry`` (a JSON expression, or null) and
    ``extra_properties`` (JSON expressions; one named like an own property replaces it in
    place)."""
    feature = JSONBuildObject(
        type=Value("Feature"),
        id=F("pk"),
        geometry=geometry,
        properties=JSONBuildObject(**{**area_properties(), **extra_properties}),
    )
    return Cast(feature, TextField())


def area_features(
    areas: QuerySet,
    *,
    with_geometry: bool = True,
    simplify: float | None = None,
    **extra_properties,
) -> list[str]:
    """Feature texts for ``areas`` (already sliced or small), in queryset order."""
    geometry = geometry_json("geometry", simplify) if with_geometry else Value(None, JSONField())
    feature = area_feature(geometry, **extra_properties)
    return list(areas.annotate(feature=feature).values_list("feature", flat=True))
