"""Distances in metres on WGS84 points, index-backed.

Points are stored as ``geometry(Point, 4326)``, whose own distance unit is the degree. A
radius in metres needs the ``geography`` type: ``ST_DWithin(point::geography, …, metres)``
and the KNN operator ``<->`` between two geographies both use a GiST index on the
expression ``(point)::geography`` (see ``Location.Meta.indexes``), provided the query spells
the expression the same way; ``AsGeography`` is that one spelling.
"""

from __future__ import annotations

from django.contrib.gis.db.models import GeometryField
from django.db.models import BooleanField, Expression, F, FloatField, Func, Value


class AsGeography(Func):
    """``(expression)::geography``: the expression the geography GiST index is built on."""

    template = "(%(expressions)s)::geography"
    output_field = GeometryField(geography=True, srid=4326)


def _geography(value) -> Expression:
    if isinstance(value, str):
        return AsGeography(F(value))
    if isinstance(value, Expression):
        return AsGeography(value)
    return AsGeography(Value(value, output_field=GeometryField(srid=4326)))


class GeographyDistance(Func):
    """``ST_Distance(a::geography, b::geography)``: metres on the spheroid."""

    function = "ST_Distance"
    output_field = FloatField()

    def __init__(self, a, b, **extra):
        super().__init__(_geography(a), _geography(b), **extra)


class KNNDistance(Func):
    """``a::geography <-> b::geography``: metres on the sphere, as an ordering the GiST
    index on ``(point)::geography`` serves nearest first (KNN) without computing the
    distance of every row."""

    template = "%(expressions)s"
    arg_joiner = " <-> "
    output_field = FloatField()

    def __init__(self, a, b, **extra):
        super().__init__(_geography(a), _geography(b), **extra)


class WithinMetres(Func):
    """Whether the point ``field`` lies at most ``metres`` from ``centre`` (on the spheroid).

    This is ``ST_DWithin(field::geography, centre::geography, metres)`` written as the two
    tests it stands for: the index-backed bounding-box test ``&&`` against the box around
    ``centre``, then the exact ``_ST_DWithin``. Written as ``ST_DWithin``, PostgreSQL
    estimates that 0.01 % of rows match whatever the radius (PostGIS's support function
    builds the box at run time, so the statistics cannot be consulted); at 50 km around
    Berlin's centre it expected 10 of 103,703 locations, chose a nested loop over all of them
    and ran for more than two minutes. Against a constant box the estimate comes from the
    statistics of the geography index (16,172 for 10,136 real matches at 5 km).
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str, centre, metres: float, **extra):
        super().__init__(_geography(field), _geography(centre), Value(float(metres)), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        (field, field_params), (centre, centre_params), (metres, metres_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        params = (*field_params, *centre_params, *metres_params)
        sql = (
            f"({field} && _ST_Expand({centre}, {metres})"
            f" AND _ST_DWithin({field}, {centre}, {metres}, true))"
        )
        return sql, params * 2
