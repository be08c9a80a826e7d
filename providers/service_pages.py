"""One page of the API's service list, from a statement compiled once per filter shape.

Building and compiling a page's statement with the ORM (filters, ordering, the ``matches``
and ``page`` expressions, the matched locations) took 1.5 to 2 ms of Python per near= or
bbox request, a third of the statement's own time. A map sends the same shape again and
again with only the place changed (each pan a new bbox, each "near me" a new centre), so
the statement is compiled once per shape with stand-in places, and each request puts its
own places into the parameters.

The parameters stay values that psycopg2 writes into the statement, so PostgreSQL still
plans every statement with the real box and radius (``atlas.core.geography.WithinMetres``
says why that matters); only Python's work is saved.

Which parameters are the places is not guessed: the shape is compiled with two different
sets of stand-ins, and a template is kept only if the two statements have the same text
and differ exactly in parameters that are those stand-ins. Anything else that changed
with the place (a value derived from it, say) makes the shape compile per request, as
before. Queries whose statement depends on more than their values and the day are never
kept: a search (its words are expanded from the vocabulary, which changes with the data)
and open_now (judged at the moment of the request).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib.gis.db.backends.postgis.adapter import PostGISAdapter
from django.contrib.gis.geos import Point, Polygon
from django.utils import timezone

from . import features
from .filters import Near, ServiceQuery, matched_condition, service_queryset
from .models import Service

# Kept statements: a few per filter combination in use (pages, internal or public).
TEMPLATES = 256


def _box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    box = Polygon.from_bbox((x0, y0, x1, y1))
    box.srid = 4326
    return box


@dataclasses.dataclass(frozen=True)
class _Places:
    """A query's place values, in the forms they take among a statement's parameters."""

    point: Point | None
    radius: float | None
    box: Polygon | None

    @classmethod
    def of(cls, query: ServiceQuery) -> _Places:
        return cls(
            query.near.point if query.near else None,
            query.near.radius if query.near else None,
            query.bbox,
        )

    def forms(self) -> dict[str, object]:
        forms: dict[str, object] = {}
        if self.point is not None:
            forms["point"] = PostGISAdapter(self.point)
            forms["point text"] = self.point.hexewkb.decode()  # features.page_statement
            forms["radius"] = float(self.radius)
        if self.box is not None:
            forms["box"] = PostGISAdapter(self.box)
        return forms

    def fits(self, stand_in: _Places) -> bool:
        """Whether these values compile like ``stand_in``'s (the same spatial reference)."""
        return all(
            (mine is None) == (theirs is None) and (mine is None or mine.srid == theirs.srid)
            for mine, theirs in ((self.point, stand_in.point), (self.box, stand_in.box))
        )


# Far from any municipality, with values no other parameter takes.
_STAND_INS = (
    _Places(Point(-179.25, -89.25, srid=4326), 987654.25, _box(-179.75, -89.75, -179.5, -89.5)),
    _Places(Point(-178.25, -88.25, srid=4326), 876543.75, _box(-178.75, -88.75, -178.5, -88.5)),
)


@dataclasses.dataclass(frozen=True)
class _Template:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str], ...]  # (parameter index, form of the place value)

    def bind(self, places: _Places) -> list:
        """The parameters with ``places`` in the stand-ins' slots."""
        params = list(self.params)
        forms = places.forms()
        for index, form in self.slots:
            stand_in = self.params[index]
            if isinstance(stand_in, PostGISAdapter):  # keeps its geometry/geography cast
                params[index] = PostGISAdapter(forms[form], geography=stand_in.geography)
            else:
                params[index] = forms[form]
        return params


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _slots(first: list, second: list, stand_ins: tuple[_Places, _Places]) -> list | None:
    """The indexes where the two compilations' parameters differ, each with the form of
    the place it holds; None when a difference is not one of the stand-ins."""
    forms = [stand_in.forms() for stand_in in stand_ins]
    slots = []
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        if _same(a, b):
            continue
        form = next(
            (name for name in forms[0] if _same(a, forms[0][name]) and _same(b, forms[1][name])),
            None,
        )
        if form is None:
            return None
        slots.append((index, form))
    return slots


def _compile(query: ServiceQuery, start: int, size: int, internal: bool):
    return features.page_statement(
        service_queryset(query, Service.objects.published()),
        start,
        size,
        locations=matched_condition(query, "location__"),
        near=query.near.point if query.near else None,
        internal=internal,
        # Only the whole list: a filter's matches are found once and then counted and
        # paged; all published services are counted and paged from an index each.
        materialized=query != ServiceQuery(),
    )


def _with_places(query: ServiceQuery, places: _Places) -> ServiceQuery:
    near = Near(places.point, places.radius) if query.near else None
    return dataclasses.replace(query, near=near, bbox=places.box if query.bbox else None)


_NOT_KEPT = object()  # a shape whose statement cannot be a template


@functools.lru_cache(maxsize=TEMPLATES)
def _template(
    shape: ServiceQuery,
    start: int,
    size: int,
    internal: bool,
    today: datetime.date,  # noqa: ARG001 - in the key: the statement holds the day
    max_age_days: int,  # noqa: ARG001 - in the key: the staleness limit is in it
):
    statements = [
        _compile(_with_places(shape, stand_in), start, size, internal) for stand_in in _STAND_INS
    ]
    if statements[0] is None or statements[1] is None:
        return None if statements[0] is statements[1] else _NOT_KEPT
    (sql, params), (other_sql, other_params) = statements
    if sql != other_sql or len(params) != len(other_params):
        return _NOT_KEPT
    slots = _slots(params, other_params, _STAND_INS)
    if slots is None:
        return _NOT_KEPT
    return _Template(sql, tuple(params), tuple(slots))


def _keepable(query: ServiceQuery) -> bool:
    return query.search is None and query.open_now is None


def page(
    query: ServiceQuery, start: int, size: int, *, internal: bool = False
) -> tuple[bytes, int]:
    """One page of the published services ``query`` selects as feature texts, joined, and
    the number of all matches (``features.page_statement``)."""
    places = _Places.of(query)
    shape = _with_places(query, _STAND_INS[0])
    template = _NOT_KEPT
    if _keepable(query) and places.fits(_Places.of(shape)):
        template = _template(
            shape,
            start,
            size,
            internal,
            timezone.localdate(),
            settings.ATLAS_VERIFICATION_MAX_AGE_DAYS,
        )
    if template is _NOT_KEPT:
        return features.run_page_statement(_compile(query, start, size, internal))
    if template is None:
        return b"", 0
    return features.run_page_statement((template.sql, template.bind(places)))


clear: Callable[[], None] = _template.cache_clear
