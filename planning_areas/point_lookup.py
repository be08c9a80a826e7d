"""Which current areas contain a point: the API's most frequent small request (mapit's
point lookup), answered by a database function so that a request neither builds nor
compiles the query. The function's body is the ORM query below, installed by ``migrate``
(see ``atlas.core.db_functions``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db.models import PointField
from django.db import connection
from django.db.models import BooleanField, Case, JSONField, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from atlas.core.db_functions import compiled_sql, install_function, table_exists
from atlas.core.geojson import geometry_json

from .geojson import area_feature
from .models import Area

FUNCTION = "planning_areas_features_at(double precision, double precision, boolean)"


def _lookup_rows() -> QuerySet:
    """Feature texts of the current areas covering (point_lon, point_lat), the function's
    parameters, ordered by layer; geometries only ``with_geometry``. Constant SQL naming
    those parameters, no outside input."""
    today = RawSQL("(now() AT TIME ZONE %s)::date", (settings.TIME_ZONE,))  # noqa: S611
    point = RawSQL(  # noqa: S611
        "ST_SetSRID(ST_MakePoint(point_lon, point_lat), 4326)",
        (),
        output_field=PointField(srid=4326),
    )
    wanted = RawSQL("with_geometry", (), output_field=BooleanField())  # noqa: S611
    geometry = Case(When(wanted, then=geometry_json("geometry")), default=Value(None, JSONField()))
    return (
        Area.objects.current(today)
        .filter(geometry__covers=point)
        .order_by("layer__level", "layer__slug", "code")
        .annotate(feature=area_feature(geometry))
        .values_list("feature", flat=True)
    )


def function_sql(using: str = "default") -> str:
    return f"""
CREATE OR REPLACE FUNCTION planning_areas_features_at(
    point_lon double precision, point_lat double precision, with_geometry boolean
) RETURNS SETOF text
LANGUAGE plpgsql STABLE AS $lookup$
BEGIN
    RETURN QUERY {compiled_sql(_lookup_rows(), using)};
END
$lookup$;
"""


def features_at(lon: float, lat: float, *, with_geometry: bool = True) -> list[str]:
    """Feature texts of the current areas containing the point (WGS84), coarsest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT planning_areas_features_at(%s, %s, %s)", [lon, lat, with_geometry])
        return [row[0] for row in cursor.fetchall()]


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    if table_exists("planning_areas_area", using):
        install_function(FUNCTION, function_sql(using), using)
