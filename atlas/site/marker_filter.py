"""Which of the map's stored markers a filter set keeps, evaluated once per filter set.

The filters themselves are ``filter_services`` (``providers.filters``). A tile or the count
keeps the published markers whose service (and, with place filters, location) those
querysets return. As a subquery, every statement evaluated the filter again: at 1,003,701
services ``category=kita`` cost 0.8–1.2 s per statement (a scan of every service joined to
the category links), six tiles and the count of a first view paid it seven times.

``cached_marker_filter`` evaluates the querysets' ids once per filter set and data version
(the map cache's key parts, so a new service shows at once) and keeps them packed in the
map cache; each statement then tests ``service_id = ANY(ids)`` (a hashed lookup). Beyond
MAX_CACHED_IDS, or when the ids are most of their table's rows (MAX_SHARE), the array costs
more to send and hash than the subquery, so the filter stays a subquery.
"""

from __future__ import annotations

import array
import functools
import itertools
import math
import zlib
from collections.abc import Callable

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from providers.models import Location, Service, ServiceMarker

# 300,000 ids are ~2.4 MB of text per statement; packed (sorted deltas, zlib) ~0.3 MB in
# the cache. Above it (free=true at a million: 803,701) sending the array cost more than
# the subquery saved (the count went from 0.77 to 1.9 s).
MAX_CACHED_IDS = 300_000
# A filter that keeps most rows of its table is cheaper as a subquery too: hashing its
# ids in every statement cost more than evaluating it (free=true at 103,701 services keeps
# 83,701: a first view 0.36 s as a subquery, 0.55 s with the ids). Below SMALL_ID_COUNT
# the array is always cheap.
MAX_SHARE = 0.5
SMALL_ID_COUNT = 10_000
# Cached instead of the ids when there are too many.
TOO_MANY = b""


class EqualsAny(Func):
    """``field = ANY(array)``, with the array as one text parameter (``{1,2,3}``): one
    literal for PostgreSQL to parse, tested by a hash per row."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        field, array_text = self.get_source_expressions()
        field_sql, field_params = compiler.compile(field)
        array_sql, array_params = compiler.compile(array_text)
        return f"{field_sql} = ANY({array_sql}::bigint[])", (*field_params, *array_params)


def pack(ids) -> bytes:
    """Ids as zlib-compressed deltas of their sorted values (ids of services are dense,
    so most deltas are small): ~1 byte per id instead of ~8 as text."""
    ordered = sorted(ids)
    deltas = array.array("q", (b - a for a, b in zip([0, *ordered], ordered, strict=False)))
    return zlib.compress(deltas.tobytes())


def unpack(packed: bytes) -> list[int]:
    return list(itertools.accumulate(array.array("q", zlib.decompress(packed))))


class MarkerFilter:
    """Conditions on ``ServiceMarker`` for a filter set: each one either a subquery of
    ``filter_services``'s querysets or the array of their ids. Given as a function, they
    are made when first needed: a tile outside the markers' extent reads no ids."""

    def __init__(self, conditions: tuple | Callable[[], tuple] = ()):
        self._conditions = conditions

    @functools.cached_property
    def conditions(self) -> tuple:
        return self._conditions() if callable(self._conditions) else self._conditions

    @classmethod
    def of(
        cls, services: QuerySet[Service] | None, locations: QuerySet[Location] | None = None
    ) -> MarkerFilter:
        """As subqueries: markers of ``services`` (None: any published) at ``locations``
        (None: any of their locations)."""
        return cls(
            tuple(
                Q(**{f"{field}__in": queryset.order_by().values("pk")})
                for field, queryset in (("service_id", services), ("location_id", locations))
                if queryset is not None
            )
        )

    def markers(self) -> QuerySet[ServiceMarker]:
        """The published markers the filter set keeps."""
        markers = ServiceMarker.objects.published()
        for condition in self.conditions:
            markers = markers.filter(condition)
        return markers


def cached_marker_filter(
    services: QuerySet[Service] | None,
    locations: QuerySet[Location] | None,
    cached: Callable[[str, Callable[[], bytes]], bytes],
) -> MarkerFilter:
    """The filter with each queryset's ids read once and kept by ``cached(part, build)``
    (the map cache under the filter set's and data version's key), when first needed."""
    return MarkerFilter(lambda: _cached_conditions(services, locations, cached))


def _cached_conditions(services, locations, cached) -> tuple:
    conditions = []
    for field, queryset in (("service_id", services), ("location_id", locations)):
        if queryset is None:
            continue
        subquery = queryset.order_by().values("pk")
        packed = cached(f"{field}s", lambda subquery=subquery: _packed_ids(subquery))
        if packed == TOO_MANY:
            conditions.append(Q(**{f"{field}__in": subquery}))
        else:
            text = "{" + ",".join(map(str, unpack(packed))) + "}"
            conditions.append(EqualsAny(F(field), Value(text)))
    return tuple(conditions)


def _packed_ids(subquery: QuerySet) -> bytes:
    """The packed ids, or TOO_MANY; reads no further than one id beyond the limit, so a
    filter that keeps most services costs a short read, not all its ids."""
    share = MAX_SHARE * estimated_rows(subquery.model)
    limit = int(min(MAX_CACHED_IDS, max(SMALL_ID_COUNT, share)))
    ids = list(subquery.values_list("pk", flat=True)[: limit + 1])
    return TOO_MANY if len(ids) > limit else pack(ids)


def estimated_rows(model) -> float:
    """The planner's estimate of the rows of ``model``'s table (no scan; as of the last
    ANALYZE), or infinity when the table was never analysed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [model._meta.db_table]
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else math.inf
