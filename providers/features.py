"""The service feature: what a service looks like as GeoJSON, defined once, built in PostgreSQL.

Lists and exports read features built ahead: ``stored_feature_rows`` is the body of the
database function that triggers call whenever a service or anything it embeds changes
(``providers.feature_store``), and a request only reads the stored texts, adding what
depends on the request (``is_stale``, ``distance``). A page of 500 services or an export
of 100,000 is one query; Python only joins the texts.

The field lists below are the definition: the SQL, the serializers that document the
schema (``api/serializers.py`` takes its ``Meta.fields`` from here) and ``WATCHED`` (which
tables and columns the triggers watch) all follow them, and
``tests/providers/test_feature_store.py`` checks that the watched tables are exactly the
tables the compiled SQL reads.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterable, Iterator

import psycopg2.extensions
from django.conf import settings
from django.contrib.gis.db.models import PointField
from django.contrib.gis.geos import Point
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from atlas.core.geojson import JSONBuildObject, geometry_json

from .models import (
    Category,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceFeature,
    ServiceMarker,
    ServiceQuerySet,
    TargetGroup,
    not_verified_since,
)

# -- the definition ------------------------------------------------------------------------
# A service's own fields, in the order of the feature's properties: the head before the
# organisation and taxonomies, the body before the contacts, the tail last.
SERVICE_HEAD_FIELDS = ("name", "description")
SERVICE_BODY_FIELDS = (
    "min_age",
    "max_age",
    "languages",
    "is_free",
    "fees",
    "opening_hours",
    "website",
    "email",
    "phone",
)
SERVICE_TAIL_FIELDS = ("last_verified", "updated_at")
SERVICE_FIELDS = (*SERVICE_HEAD_FIELDS, *SERVICE_BODY_FIELDS, *SERVICE_TAIL_FIELDS)
ORGANIZATION_FIELDS = ("id", "name")
CATEGORY_FIELDS = ("id", "slug", "name", "icon", "colour")
TARGET_GROUP_FIELDS = ("id", "slug", "name")
LOCATION_FIELDS = ("id", "name", "street", "house_number", "postcode", "city", "wheelchair")
PUBLIC_CONTACT_FIELDS = ("id", "name", "role", "phone", "email", "languages")
INTERNAL_CONTACT_FIELDS = (*PUBLIC_CONTACT_FIELDS, "visibility", "internal_phone")
TAXONOMY_ORDER = ("sort_order", "name")
# What the map's stored marker (``ServiceMarker``) takes from the service, and what decides
# which of its categories gives the colour (the most specific: deepest, then first sorted).
MARKER_SERVICE_FIELDS = ("name", "status", "valid_from", "valid_until")
MARKER_CATEGORY_FIELDS = ("parent", "sort_order")
CONTACT_ORDER = ("name", "pk")


def _columns(model, *names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(model._meta.get_field(n).column for n in names if n != "pk"))


def watched() -> dict[str, tuple[str, ...] | None]:
    """Tables whose changes change a stored feature, and for UPDATE the columns that count
    (``None``: any change, as for link tables). Follows the field lists above."""
    links = {
        Service.categories.through._meta.db_table: None,
        Service.target_groups.through._meta.db_table: None,
        ServiceAtLocation._meta.db_table: None,
    }
    return {
        Service._meta.db_table: _columns(
            Service, *SERVICE_FIELDS, "organization", *MARKER_SERVICE_FIELDS
        ),
        Organization._meta.db_table: _columns(Organization, *ORGANIZATION_FIELDS),
        Category._meta.db_table: _columns(
            Category, *CATEGORY_FIELDS, *TAXONOMY_ORDER, *MARKER_CATEGORY_FIELDS
        ),
        TargetGroup._meta.db_table: _columns(TargetGroup, *TARGET_GROUP_FIELDS, *TAXONOMY_ORDER),
        Location._meta.db_table: _columns(Location, *LOCATION_FIELDS, "point"),
        Contact._meta.db_table: _columns(
            Contact, *INTERNAL_CONTACT_FIELDS, *CONTACT_ORDER, "service"
        ),
        **links,
    }


def _object(fields: Iterable[str], prefix: str = "") -> JSONBuildObject:
    return JSONBuildObject(**{name: F(f"{prefix}{name}") for name in fields})


def _contacts(service_ref: str, internal: bool) -> ArraySubquery:
    fields = INTERNAL_CONTACT_FIELDS if internal else PUBLIC_CONTACT_FIELDS
    contacts = Contact.objects.filter(service_id=OuterRef(service_ref))
    if not internal:
        contacts = contacts.public()
    return ArraySubquery(contacts.order_by(*CONTACT_ORDER).values(json=_object(fields)))


def service_properties(prefix: str, service_ref: str, *, internal: bool) -> dict:
    """JSON expressions of a service's properties; ``prefix`` leads from the queried model
    to the service (``"service__"`` or ``""``), ``service_ref`` names its id column.

    ``is_stale`` (which depends on today's date) and ``distance`` (on the request) are
    not among them: they are added where a feature is read."""
    p = prefix
    categories = ArraySubquery(
        Category.objects.filter(services=OuterRef(service_ref))
        .order_by(*TAXONOMY_ORDER)
        .values(json=_object(CATEGORY_FIELDS))
    )
    target_groups = ArraySubquery(
        TargetGroup.objects.filter(services=OuterRef(service_ref))
        .order_by(*TAXONOMY_ORDER)
        .values(json=_object(TARGET_GROUP_FIELDS))
    )

    def own(fields: tuple[str, ...]) -> dict:
        return {name: F(f"{p}{name}") for name in fields}

    return {
        "id": F(service_ref),
        **own(SERVICE_HEAD_FIELDS),
        "organization": _object(ORGANIZATION_FIELDS, f"{p}organization__"),
        "categories": categories,
        "target_groups": target_groups,
        **own(SERVICE_BODY_FIELDS),
        "contacts": _contacts(service_ref, internal),
        **own(SERVICE_TAIL_FIELDS),
    }


def _feature(internal: bool) -> Func:
    """The feature's text without its last two braces (of ``properties`` and the feature):
    readers append what depends on the request and close it (``with_text``). Cut once when
    stored: ``LEFT(text, -2)`` on read counted the characters of every text again, 1.1 of
    the 2.7 s that 100,000 export rows took in PostgreSQL."""
    properties = service_properties("service__", "service_id", internal=internal)
    properties["location"] = _object(LOCATION_FIELDS, "location__")
    feature = JSONBuildObject(
        type=Value("Feature"),
        id=F("pk"),
        geometry=geometry_json("location__point"),
        properties=JSONBuildObject(**properties),
    )
    return Func(Cast(feature, TextField()), Value(-2), function="LEFT", output_field=TextField())


# Columns of ServiceFeature and where stored_feature_rows takes them from.
STORED_COLUMNS = {
    "service_at_location_id": "pk",
    "service_id": "service_id",
    "location_id": "location_id",
    "location_name": "location__name",
    "last_verified": "service__last_verified",
    "public": "public",
    "internal": "internal",
    "service_name": "service__name",
}


def stored_feature_rows() -> QuerySet:
    """The rows ``ServiceFeature`` stores for the services in the array ``service_ids``
    (the refresh function's parameter): one per offered location, in the order of
    ``STORED_COLUMNS``. The caseworkers' variant (internal contacts, internal phone
    numbers) is stored only where the service has contacts."""
    has_contacts = Exists(Contact.objects.filter(service_id=OuterRef("service_id")))
    return (
        # Constant SQL naming the refresh function's parameter; no outside input.
        ServiceAtLocation.objects.filter(
            service_id__in=RawSQL("SELECT unnest(service_ids)", ())  # noqa: S611
        )
        .annotate(
            public=_feature(internal=False),
            internal=Case(When(has_contacts, then=_feature(internal=True)), default=None),
        )
        .order_by()
        .values_list(*STORED_COLUMNS.values())
    )


class CategoryDepth(Func):
    """How many ancestors a category has, walking up from its ``parent_id`` (at most 100
    steps: a cycle, which the admin refuses, cannot hang the refresh)."""

    output_field = IntegerField()
    # Table and column names from model metadata only.
    template = (  # noqa: S608
        "(WITH RECURSIVE up(id, depth) AS (SELECT %(expressions)s, 0 UNION ALL "
        'SELECT p."{parent}", up.depth + 1 FROM "{table}" p JOIN up ON p."{pk}" = up.id '
        "WHERE up.depth < 100) SELECT max(depth) FROM up)"
    ).format(
        table=Category._meta.db_table,
        parent=Category._meta.get_field("parent").column,
        pk=Category._meta.pk.column,
    )


class MercatorX(Func):
    """A point's web-mercator x as a share of the world's width (0 west, 1 east)."""

    output_field = FloatField()
    template = "(ST_X(%(expressions)s) + 180) / 360"


class MercatorY(Func):
    """A point's web-mercator y as a share of the world's height (0 north, 1 south); the
    formula the map's tiles were cut with (slippy-map tile names)."""

    output_field = FloatField()
    template = (
        "(1 - ln(tan(radians(ST_Y(%(expressions)s))) + 1 / cos(radians(ST_Y(%(expressions)s))))"
        " / pi()) / 2"
    )


class HilbertOrder(Func):
    """A point as a sort key: PostGIS 3 sorts geometries along a Hilbert curve. Ordering
    by the field itself would sort by the WKB bytes GeoDjango selects it as (``::bytea``,
    referred to by its position in the select list): no spatial order at all."""

    output_field = PointField(srid=settings.ATLAS_SRID)
    template = "(%(expressions)s)::geometry"


# Columns of ServiceMarker and where stored_marker_rows takes them from.
STORED_MARKER_COLUMNS = {
    "service_at_location_id": "pk",
    "service_id": "service_id",
    "location_id": "location_id",
    "point": "location__point",
    "x": "mercator_x",
    "y": "mercator_y",
    "category_id": "display_category",
    "name": "service__name",
    "status": "service__status",
    "valid_from": "service__valid_from",
    "valid_until": "service__valid_until",
}


def stored_marker_rows() -> QuerySet:
    """The rows ``ServiceMarker`` stores for the services in ``service_ids`` (the refresh
    function's parameter): one per offered location, in the order of
    ``STORED_MARKER_COLUMNS``.

    Written in the order of their points, which PostGIS 3 sorts along a Hilbert curve: the
    markers of a map tile then lie on neighbouring pages of the table. Written in the order
    of their services, a tile over a quarter of a city of a million services touched nearly
    every page: the first view took 2.0-2.2 s from a cold database, against 1.5-1.7 s after
    ``migrate`` rebuilt the table in this order, 1.37-1.41 s after the VACUUM that now ends
    the rebuild (``feature_store._vacuum_stores``; 1.2-1.3 s written compactly), and its tile
    SQL 1.14-1.35 s against 0.88-1.05 s with every page in memory (bench/map.py
    --cold-database, README). Each refresh writes its rows in this order: a rebuild of all
    (a changed definition) the whole table, an import's statement its own rows; single
    edits append, which spreads only those."""
    most_specific = (
        Category.objects.filter(services=OuterRef("service_id"))
        .annotate(depth=CategoryDepth(F("parent_id")))
        .order_by("-depth", "sort_order", "pk")
        .values("pk")[:1]
    )
    return (
        # Constant SQL naming the refresh function's parameter; no outside input.
        ServiceAtLocation.objects.filter(
            service_id__in=RawSQL("SELECT unnest(service_ids)", ())  # noqa: S611
        )
        .annotate(
            mercator_x=MercatorX("location__point"),
            mercator_y=MercatorY("location__point"),
            display_category=Subquery(most_specific),
        )
        .order_by(HilbertOrder("location__point"))
        .values_list(*STORED_MARKER_COLUMNS.values())
    )


# What the refresh function rebuilds for the services a statement touched: each model's
# rows, with its columns in the order of its query's values.
STORES = (
    (ServiceFeature, STORED_COLUMNS, stored_feature_rows),
    (ServiceMarker, STORED_MARKER_COLUMNS, stored_marker_rows),
)


def _stored(
    services, locations: QuerySet[Location] | None, near: Point | None, internal: bool
) -> QuerySet[ServiceFeature]:
    rows = ServiceFeature.objects.filter(service_id__in=services)
    if locations is not None:
        rows = rows.filter(location_id__in=locations.values("pk"))
    return rows.with_text(internal=internal, near=near)


# What the page's feature query reads from the common table expressions of its statement
# (``page_statement``): constant SQL, so the query compiles to the same text every time.
CENTRE = RawSQL("(SELECT centre FROM origin)", (), output_field=PointField(srid=4326))  # noqa: S611


def _page_rows(
    internal: bool, near: bool, today: datetime.date, locations: Q | None = None
) -> tuple[str, tuple]:
    """SQL and parameters of the stored features (on the locations meeting ``locations``,
    with the distance to ``origin``'s centre), for ``page_statement`` to join to its page.

    No ``service_id IN (SELECT id FROM page)`` of its own: with the join beside it,
    PostgreSQL read the page twice and hashed it, where the join alone lets it walk the
    page into the features' index (a bbox page of 500 at 100,000 services: 14.8 -> 12.5
    ms, near= 4.5 -> 4.1 ms, the plan of bench/api.py's hand-written SQL)."""
    rows = ServiceFeature.objects.all()
    if locations is not None:
        rows = rows.filter(locations)
    rows = rows.with_text(internal=internal, near=CENTRE if near else None, today=today)
    sql, params = rows.values_list(
        "service_id", "location_name", "pk", "text"
    ).query.sql_with_params()
    return sql, tuple(params)


@functools.lru_cache(maxsize=32)
def _all_page_rows(
    internal: bool,
    near: bool,
    today: datetime.date,
    max_age_days: int,  # noqa: ARG001
) -> tuple[str, tuple]:
    """``_page_rows`` without a location filter, compiled once per variant, day and
    staleness age (the only values in it; ``max_age_days`` is in the key for that).
    Building and compiling the query per request took 0.45 ms of a search."""
    return _page_rows(internal, near, today)


def page_statement(
    services: ServiceQuerySet,
    start: int,
    size: int,
    *,
    locations: Q | None = None,
    near: Point | None = None,
    internal: bool = False,
    materialized: bool = True,
) -> tuple[str, list] | None:
    """One page of ``services`` (in their order) as feature texts, one per offered location
    (restricted to the locations meeting ``locations``, a condition on ``location__…``, see
    ``location_condition``, when the request filtered on location), joined by commas (the
    inside of a JSON array; empty for no feature), and the number of all services: SQL and
    parameters of one statement that answers one row (``run_page_statement``).
    None when a filter cannot match (such as open_now when all are closed).
    ``materialized`` as for ``ServiceQuerySet.page_ctes``."""
    try:
        ctes, params = services.page_ctes(start, size, materialized=materialized)
        inputs, input_params = [], []
        if near is not None:
            inputs.append("origin AS (SELECT %s::geometry AS centre)")
            input_params.append(near.hexewkb.decode())
        today = timezone.localdate()
        if locations is None:
            features, feature_params = _all_page_rows(
                internal, near is not None, today, settings.ATLAS_VERIFICATION_MAX_AGE_DAYS
            )
        else:
            # The condition on the location row the features join: a subquery of the
            # matching locations searched the spatial index a second time and took 0.2 ms
            # more to plan (near= at 100,000 services: 3.9 vs 3.5 ms).
            features, feature_params = _page_rows(internal, near is not None, today, locations)
    except EmptyResultSet:
        return None
    # Only ORM-compiled SQL is interpolated; values are parameters. PostgreSQL joins the
    # texts: one row to fetch and decode instead of one per feature (a bbox page of 500:
    # 0.9 ms of Python for the rows and their join, 518 kB).
    sql = f"""
        WITH {", ".join([ctes, *inputs])}
        SELECT (SELECT count(*) FROM matches),
               string_agg(f.text, ',' ORDER BY page.pos, f.location_name, f.id)
        FROM ({features}) AS f (service_id, location_name, id, text)
        JOIN page ON page.id = f.service_id
    """  # noqa: S608
    return sql, [*params, *input_params, *feature_params]


def run_page_statement(statement: tuple[str, Iterable] | None) -> tuple[bytes, int]:
    """(joined feature texts as UTF-8 bytes, count) of a ``page_statement``: bytes, since
    the response sends them on as they are (``atlas.core.api_tools.feature_collection``)."""
    if statement is None:
        return b"", 0
    sql, params = statement
    with connection.cursor() as cursor:
        # psycopg2's typecaster for text that skips decoding, for this cursor only.
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
        cursor.execute(sql, list(params))
        count, text = cursor.fetchone()
    return text or b"", count


def export_rows(
    services: QuerySet,
    *,
    locations: QuerySet[Location] | None = None,
    near: Point | None = None,
    internal: bool = False,
) -> QuerySet[ServiceFeature]:
    """The stored features of every service in ``services`` (already filtered), in the
    export's order (service name, service, offer), as ``text``."""
    rows = _stored(services.order_by().values("pk"), locations, near, internal)
    # The stored service name and its index give the order without sorting the texts
    # (a sort of 100,000 spilled 112 MB to disk), and the first rows leave at once.
    return rows.order_by("service_name", "service_id", "pk").values_list("text", flat=True)


def export_features(services: QuerySet, *, chunk_size: int = 5000, **options) -> Iterator[str]:
    """Feature texts of every service in ``services`` (already filtered), streamed from a
    server-side cursor (``export_rows`` names the options)."""
    yield from export_rows(services, **options).iterator(chunk_size=chunk_size)


def detail_feature(service_id: int, *, internal: bool = False) -> str | None:
    """One service as a Feature: its locations' points as (Multi)Point, the locations listed."""
    properties = service_properties("", "pk", internal=internal)
    properties["is_stale"] = Case(
        When(not_verified_since(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    properties["locations"] = ArraySubquery(
        Location.objects.filter(services=OuterRef("pk"))
        .order_by("name", "pk")
        .values(
            json=JSONBuildObject(
                **{name: F(name) for name in LOCATION_FIELDS},
                point=geometry_json("point"),
            )
        )
    )
    feature = JSONBuildObject(
        type=Value("Feature"),
        id=F("pk"),
        properties=JSONBuildObject(**properties),
    )
    row = (
        Service.objects.filter(pk=service_id)
        .annotate(feature=Cast(feature, TextField()))
        .values_list("feature", flat=True)
        .first()
    )
    if row is None:
        return None
    return _with_geometry(row)


def _with_geometry(feature_text: str) -> str:
    """Add the geometry: the single location's Point, or a MultiPoint of all of them."""
    feature = json.loads(feature_text)
    points = [loc["point"]["coordinates"] for loc in feature["properties"]["locations"]]
    if not points:
        feature["geometry"] = None
    elif len(points) == 1:
        feature["geometry"] = {"type": "Point", "coordinates": points[0]}
    else:
        feature["geometry"] = {"type": "MultiPoint", "coordinates": points}
    return json.dumps(feature, ensure_ascii=False)
