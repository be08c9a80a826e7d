"""GeoJSON built inside PostgreSQL: one JSON-object function, one geometry encoding.

Every app builds its features from these pieces, so coordinate precision and
simplification are defined once. ``JSONBuildObject`` is a plain ``Func`` for
``json_build_object``: unlike Django's ``JSONObject`` (``jsonb_build_object`` on
PostgreSQL 15, ``JSON_OBJECT(... RETURNING JSONB)`` on 16+) it keeps key order, costs
about 20 % less to build and print for whole feature collections (bench/api.py), and
compiles to the same SQL on every PostgreSQL version.
"""

from __future__ import annotations

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, GeoFunc
from django.db.models import Expression, F, Func, JSONField, TextField, Value
from django.db.models.functions import Cast

# Decimal places of WGS84 coordinates: 6 is about 0.1 m (the API), 5 about 1 m (outlines
# drawn on the site's maps, where the smaller text matters more).
COORDINATE_PRECISION = 6
DISPLAY_PRECISION = 5
# Simplification of outlines drawn on the site's maps, in degrees (about 7 m).
OUTLINE_TOLERANCE = 0.0001


class JSONBuildObject(Func):
    """``json_build_object(key, value, …)`` from keyword arguments, in their order."""

    function = "JSON_BUILD_OBJECT"
    output_field = JSONField()

    def __init__(self, **fields: Expression) -> None:
        expressions: list[Expression] = []
        for key, value in fields.items():
            # Keys cast to text: an untyped literal is ambiguous with server-side binding.
            expressions.extend((Cast(Value(key), TextField()), value))
        super().__init__(*expressions)


class SimplifyPreserveTopology(GeoFunc):
    """ST_SimplifyPreserveTopology: fewer vertices, never an invalid polygon."""

    function = "ST_SimplifyPreserveTopology"
    geom_param_pos = (0,)


def geometry_text(
    field: str = "geometry",
    simplify: float | None = None,
    precision: int = COORDINATE_PRECISION,
) -> AsGeoJSON:
    """The GeoJSON geometry of ``field`` as text, simplified by ``simplify`` (tolerance in
    degrees) when given."""
    expression = (
        SimplifyPreserveTopology(
            field, Value(float(simplify)), output_field=GeometryField(srid=4326)
        )
        if simplify
        else F(field)
    )
    return AsGeoJSON(expression, precision=precision)


def geometry_json(
    field: str = "geometry",
    simplify: float | None = None,
    precision: int = COORDINATE_PRECISION,
) -> Cast:
    """``geometry_text`` as a JSON value, to embed in ``JSONBuildObject``."""
    return Cast(geometry_text(field, simplify, precision), JSONField())


class JSONText(Func):
    """A JSON text (from Python) as a ``json`` value: embedded as it is, keys in order
    (a ``jsonb`` cast would reorder them)."""

    template = "(%(expressions)s)::json"
    output_field = JSONField()
