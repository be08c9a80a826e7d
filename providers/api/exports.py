"""CSV and GeoJSON downloads of a filtered service list, streamed row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.contrib.gis.db.models.functions import GeoFunc
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import FloatField, QuerySet
from rest_framework.renderers import BaseRenderer

from ..models import Location, ServiceAtLocation

CSV_COLUMNS = (
    ("service_id", "service_id"),
    ("name", "service__name"),
    ("organization", "service__organization__name"),
    ("categories", "categories"),
    ("target_groups", "target_groups"),
    ("min_age", "service__min_age"),
    ("max_age", "service__max_age"),
    ("is_free", "service__is_free"),
    ("opening_hours", "service__opening_hours"),
    ("website", "service__website"),
    ("email", "service__email"),
    ("phone", "service__phone"),
    ("location_id", "location_id"),
    ("location_name", "location__name"),
    ("street", "location__street"),
    ("house_number", "location__house_number"),
    ("postcode", "location__postcode"),
    ("city", "location__city"),
    ("wheelchair", "location__wheelchair"),
    ("longitude", "lon"),
    ("latitude", "lat"),
    ("last_verified", "service__last_verified"),
    ("updated_at", "service__updated_at"),
)
# A cell starting with one of these would be run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Errors (400) come here as dicts: write them as one CSV line per message.
        if isinstance(data, dict):
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["parameter", "message"])
            for key, messages in data.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    writer.writerow([key, str(message)])
            return out.getvalue().encode()
        return data


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class _X(GeoFunc):
    function = "ST_X"
    output_field = FloatField()


class _Y(GeoFunc):
    function = "ST_Y"
    output_field = FloatField()


def csv_rows(services: QuerySet, locations: QuerySet[Location] | None = None) -> QuerySet:
    """One tuple per offered location of ``services``, in ``CSV_COLUMNS`` order."""
    rows = ServiceAtLocation.objects.filter(service_id__in=services.order_by().values("pk"))
    if locations is not None:
        rows = rows.filter(location_id__in=locations.values("pk"))
    return (
        rows.annotate(
            categories=StringAgg("service__categories__slug", ", ", distinct=True, default=""),
            target_groups=StringAgg(
                "service__target_groups__slug", ", ", distinct=True, default=""
            ),
            lon=_X("location__point"),
            lat=_Y("location__point"),
        )
        .order_by("service__name", "service_id", "pk")
        .values_list(*(source for _, source in CSV_COLUMNS))
    )


def service_csv_lines(
    services: QuerySet, locations: QuerySet[Location] | None = None
) -> Iterator[str]:
    """The header line, then one line per offered location."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(v) for v in values])
        return buffer.getvalue()

    yield "\ufeff" + line(name for name, _ in CSV_COLUMNS)  # BOM: Excel reads UTF-8
    for row in csv_rows(services, locations).iterator(chunk_size=2000):
        yield line(row)


def feature_collection_chunks(features: Iterable[str], batch: int = 500) -> Iterator[str]:
    """Stream a FeatureCollection in batches of features."""
    yield '{"type": "FeatureCollection", "features": ['
    chunk: list[str] = []
    first = True
    for feature in features:
        chunk.append(feature)
        if len(chunk) >= batch:
            yield ("" if first else ",") + ",".join(chunk)
            first, chunk = False, []
    if chunk:
        yield ("" if first else ",") + ",".join(chunk)
    yield "]}"
