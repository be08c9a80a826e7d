"""Pieces every API app shares: strict pagination, pre-rendered JSON, common errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from atlas.core.roles import can_use_lookup

from .spreadsheets import csv_lines

DEFAULT_PAGE_SIZE = 100
# No document of the API nests deeper than a handful of levels (a GeoJSON polygon: 4).
MAX_JSON_DEPTH = 32


def max_page_size() -> int:
    """Cap of ``?page_size`` (ATLAS_API_MAX_PAGE_SIZE, default 1000)."""
    return int(getattr(settings, "ATLAS_API_MAX_PAGE_SIZE", 1000))


def parse_page(request, default_size: int = DEFAULT_PAGE_SIZE) -> tuple[int, int]:
    """``(page, page_size)`` from the query string; bad values are a 400 naming the parameter."""
    errors = {}
    page = _positive_int(request.query_params.get("page"), 1)
    if page is None or page > 1_000_000:
        errors["page"] = [_("Expected a page number from 1 to 1000000.")]
    size = _positive_int(request.query_params.get("page_size"), default_size)
    cap = max_page_size()
    if size is None or size > cap:
        errors["page_size"] = [_("Expected a whole number from 1 to %(cap)d.") % {"cap": cap}]
    if errors:
        raise ValidationError(errors)
    return page, size


def _positive_int(raw: str | None, default: int) -> int | None:
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 9:
        return None
    value = int(raw)
    return value if value >= 1 else None


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", OpenApiTypes.INT, description="Page number, 1 to 1000000.", required=False
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description="Items per page, 1 to ATLAS_API_MAX_PAGE_SIZE (default cap 1000).",
        required=False,
    ),
]


def page_links(request, page: int, size: int, count: int) -> tuple[str | None, str | None]:
    url = request.build_absolute_uri()
    next_url = replace_query_param(url, "page", page + 1) if page * size < count else None
    if page <= 1:
        previous_url = None
    elif page == 2:
        previous_url = remove_query_param(url, "page")
    else:
        previous_url = replace_query_param(url, "page", page - 1)
    return next_url, previous_url


class StrictPageNumberPagination(pagination.BasePagination):
    """Page-number pagination with ``count``; a bad ``page``/``page_size`` is a 400, not a 404,
    and a page past the end is simply empty."""

    default_size = DEFAULT_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page, self.size = parse_page(request, self.default_size)
        self.count = queryset.count()
        start = (self.page - 1) * self.size
        return list(queryset[start : start + self.size])

    def get_paginated_response(self, data):
        next_url, previous_url = page_links(self.request, self.page, self.size, self.count)
        return Response(
            {"count": self.count, "next": next_url, "previous": previous_url, "results": data}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "Page number, 1 to 1000000.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": "Items per page, 1 to the cap (default 1000).",
                "schema": {"type": "integer", "minimum": 1, "maximum": max_page_size()},
            },
        ]


@dataclass
class RawJSON:
    """JSON produced by PostgreSQL, passed to the client without re-encoding: as text, or
    already as its UTF-8 bytes (``feature_collection``)."""

    text: str | bytes

    def encoded(self) -> bytes:
        return self.text if isinstance(self.text, bytes) else self.text.encode()


def feature_collection(features: Iterable[str | bytes], **members: object) -> RawJSON:
    """A GeoJSON FeatureCollection around feature texts (or their UTF-8 bytes), with extra
    top-level ``members``, as bytes: a page of 500 services is half a megabyte, and
    decoding it from PostgreSQL's answer only to encode it again for the response took
    0.7 ms of a bbox request (``features.run_page_statement`` answers bytes)."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)[:-1]
    parts = (f if isinstance(f, bytes) else f.encode() for f in features)
    return RawJSON(b"".join((head.encode(), b', "features": [', b",".join(parts), b"]}")))


class RawJSONRenderer(JSONRenderer):
    """application/json; passes ``RawJSON`` through untouched."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, RawJSON):
            return data.encoded()
        return super().render(data, accepted_media_type, renderer_context)


class GeoJSONRenderer(RawJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class StrictGeoJSONPagination(StrictPageNumberPagination):
    """The same pagination for GeoJSON serializers: one FeatureCollection with ``count``."""

    def get_paginated_response(self, data):
        next_url, previous_url = page_links(self.request, self.page, self.size, self.count)
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.count,
                "next": next_url,
                "previous": previous_url,
                "features": data["features"],
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "features": _features_schema(schema),
            },
        }


def _features_schema(schema: dict) -> dict:
    """The features array of a GeoJSON list schema (drf-gis names it ``<Model>List``)."""
    ref = schema.get("$ref", "")
    if ref.endswith("List"):
        return {"type": "array", "items": {"$ref": ref[: -len("List")]}}
    return schema.get("properties", {}).get("features", {"type": "array", "items": {}})


def json_depth(value) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
            deepest = max(deepest, depth + 1)
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser with a nesting limit: ``[[[…]]]`` 100,000 levels deep made the
    standard decoder raise RecursionError (a 500); now any body nested deeper than
    MAX_JSON_DEPTH is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            too_deep = json_depth(data) > MAX_JSON_DEPTH
        except RecursionError:
            too_deep = True
        if too_deep:
            raise ParseError(
                _("JSON nested deeper than %(depth)d levels.") % {"depth": MAX_JSON_DEPTH}
            )
        return data


class LookupUsersOnly(BasePermission):
    """The caseworker lookup's API (suggestions, lookups), for the same users as its page."""

    def has_permission(self, request, view) -> bool:
        return can_use_lookup(request.user)


class CSVRenderer(BaseRenderer):
    """text/csv for streamed downloads; errors (400) come as dicts: one line per message."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):
            rows = [["parameter", "message"]]
            for key, messages in data.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    rows.append([key, str(message)])
            return "".join(csv_lines(rows)).encode()
        return data
