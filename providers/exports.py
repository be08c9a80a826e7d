"""Exports of services, organisations, locations and contacts as CSV, Excel and GeoJSON.

The one export stack: one table definition per model feeds all formats. Services have one
table (``SERVICE_COLUMNS``: one row per service and offered location, so no address is
lost) behind the admin action, ``manage.py export_data`` and the API's streamed download
of a filtered list. Every CSV is comma-separated (RFC 4180; Excel users take the .xlsx),
and every cell passes ``atlas.core.spreadsheets`` (formulas defused). Internal contact
data is only included when asked for and allowed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import GeoFunc
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Func,
    QuerySet,
    TextField,
)
from openpyxl import Workbook

from atlas.core.spreadsheets import CsvLines, csv_lines, csv_text, xlsx_row

from .models import Contact, Location, Organization, Service, not_verified_since

FORMATS = ("csv", "xlsx", "geojson")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}


@dataclass(frozen=True)
class Column:
    name: str
    read: Callable[[object], object]


def _join(values: Iterable) -> str:
    return ", ".join(str(v) for v in values if v)


def _point(properties: dict):
    if properties.get("longitude") in (None, "") or properties.get("latitude") in (None, ""):
        return None
    return {
        "type": "Point",
        "coordinates": [round(properties["longitude"], 7), round(properties["latitude"], 7)],
    }


ORGANIZATION_COLUMNS = [
    Column("id", lambda o: o.pk),
    Column("external_id", lambda o: o.external_id),
    Column("name", lambda o: o.name),
    Column("kind", lambda o: o.kind),
    Column("description", lambda o: o.description),
    Column("website", lambda o: o.website),
    Column("email", lambda o: o.email),
    Column("phone", lambda o: o.phone),
    Column("updated_at", lambda o: o.updated_at),
]
LOCATION_COLUMNS = [
    Column("id", lambda loc: loc.pk),
    Column("external_id", lambda loc: loc.external_id),
    Column("name", lambda loc: loc.name),
    Column("organization", lambda loc: loc.organization.name if loc.organization else ""),
    Column("street", lambda loc: loc.street),
    Column("house_number", lambda loc: loc.house_number),
    Column("postcode", lambda loc: loc.postcode),
    Column("city", lambda loc: loc.city),
    Column("wheelchair", lambda loc: loc.wheelchair),
    Column("latitude", lambda loc: round(loc.point.y, 7)),
    Column("longitude", lambda loc: round(loc.point.x, 7)),
    Column("areas", lambda loc: _join(f"{a.layer.slug}:{a.code}" for a in loc.areas.all())),
    Column("updated_at", lambda loc: loc.updated_at),
]
CONTACT_COLUMNS = [
    Column("id", lambda c: c.pk),
    Column("name", lambda c: c.name),
    Column("role", lambda c: c.role),
    Column("organization", lambda c: c.organization.name),
    Column("service", lambda c: c.service.name if c.service else ""),
    Column("phone", lambda c: c.phone),
    Column("email", lambda c: c.email),
    Column("languages", lambda c: _join(c.languages)),
    Column("visibility", lambda c: c.visibility),
    Column("publication_consent_date", lambda c: c.publication_consent_date),
]
CONTACT_INTERNAL_COLUMNS = [Column("internal_phone", lambda c: c.internal_phone)]


def table_for(queryset: QuerySet, *, internal: bool = False) -> tuple[list[Column], QuerySet]:
    """Columns and an efficiently prefetched queryset for ``queryset``'s model (services:
    ``service_rows``)."""
    model = queryset.model
    if model is Organization:
        return ORGANIZATION_COLUMNS, queryset
    if model is Location:
        return LOCATION_COLUMNS, queryset.select_related("organization").prefetch_related(
            "areas__layer"
        )
    if model is Contact:
        if not internal:
            queryset = queryset.public()
        columns = CONTACT_COLUMNS + (CONTACT_INTERNAL_COLUMNS if internal else [])
        return columns, queryset.select_related("organization", "service")
    raise ValueError(f"No export for {model.__name__}")


def _geojson_value(value):
    # GeoJSON is not opened by spreadsheets: text stays exactly as stored.
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else value


def export(queryset: QuerySet, fmt: str, *, internal: bool = False) -> bytes:
    """The rows of ``queryset`` as a CSV, Excel or GeoJSON file."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if queryset.model is Service:
        if fmt == "csv":
            return "".join(service_csv_lines(queryset)).encode("utf-8")
        header = [name for name, _ in SERVICE_COLUMNS]
        rows: Iterable = service_rows(queryset)
    else:
        columns, objects = table_for(queryset, internal=internal)
        header = [c.name for c in columns]
        rows = ([c.read(obj) for c in columns] for obj in objects.order_by("pk"))
    if fmt == "csv":
        return "".join(csv_lines(_with_header(header, rows))).encode("utf-8")
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(queryset.model._meta.verbose_name_plural.title()[:31])
        sheet.append(header)
        for values in rows:
            sheet.append(xlsx_row(sheet, values))
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    features = []
    for values in rows:
        properties = {
            name: _geojson_value(value) for name, value in zip(header, values, strict=True)
        }
        features.append(
            {"type": "Feature", "geometry": _point(properties), "properties": properties}
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=str
    ).encode("utf-8")


# -- services: one row per service and offered location, for admin, CLI and API ------


class _ArrayText(Func):
    """A text array as one comma-separated cell."""

    function = "array_to_string"
    template = "%(function)s(%(expressions)s, ', ')"
    output_field = TextField()


class _X(GeoFunc):
    function = "ST_X"
    output_field = FloatField()


class _Y(GeoFunc):
    function = "ST_Y"
    output_field = FloatField()


# (column, value on Service). ``place`` is the offered location of the row (see
# service_rows); a service without one gets a single row with empty location columns.
SERVICE_COLUMNS = (
    ("service_id", F("pk")),
    ("external_id", F("external_id")),
    ("name", F("name")),
    ("organization", F("organization__name")),
    ("organization_external_id", F("organization__external_id")),
    ("status", F("status")),
    ("description", F("description")),
    ("categories", StringAgg("categories__slug", ", ", distinct=True, default="")),
    ("target_groups", StringAgg("target_groups__slug", ", ", distinct=True, default="")),
    ("min_age", F("min_age")),
    ("max_age", F("max_age")),
    ("languages", _ArrayText("languages")),
    ("is_free", F("is_free")),
    ("fees", F("fees")),
    ("legal_basis", _ArrayText("legal_basis")),
    ("opening_hours", F("opening_hours")),
    ("website", F("website")),
    ("email", F("email")),
    ("phone", F("phone")),
    ("valid_from", F("valid_from")),
    ("valid_until", F("valid_until")),
    ("last_verified", F("last_verified")),
    ("is_stale", ExpressionWrapper(not_verified_since(), output_field=BooleanField())),
    ("updated_at", F("updated_at")),
    ("location_id", F("place__pk")),
    ("location_external_id", F("place__external_id")),
    ("location_name", F("place__name")),
    ("street", F("place__street")),
    ("house_number", F("place__house_number")),
    ("postcode", F("place__postcode")),
    ("city", F("place__city")),
    ("wheelchair", F("place__wheelchair")),
    ("longitude", _X("place__point")),
    ("latitude", _Y("place__point")),
)
# The order of every service export's rows: by name, then by service and location.
SERVICE_ORDER = ("name", "service_id", "location_id")


def _service_table(services: QuerySet, locations: QuerySet[Location] | None) -> QuerySet:
    """The services of ``services``, once per offered location (only those in
    ``locations`` when given)."""
    rows = Service.objects.filter(pk__in=services.order_by().values("pk")).annotate(
        place=FilteredRelation("locations")
    )
    if locations is not None:
        rows = rows.filter(place__pk__in=locations.values("pk"))
    return rows


def service_rows(services: QuerySet, locations: QuerySet[Location] | None = None) -> QuerySet:
    """One tuple per service of ``services`` and offered location (only those in
    ``locations`` when given), in ``SERVICE_COLUMNS`` order and in ``SERVICE_ORDER``: the
    one service table of every export."""
    names = [f"_{name}" for name, _ in SERVICE_COLUMNS]
    return (
        _service_table(services, locations)
        .annotate(**{name: value for name, (_, value) in zip(names, SERVICE_COLUMNS, strict=True)})
        .values_list(*names)
        .order_by(*(f"_{name}" for name in SERVICE_ORDER))
    )


def service_lines(services: QuerySet, locations: QuerySet[Location] | None = None) -> CsvLines:
    """``service_rows`` as CSV lines that PostgreSQL writes, one ``(line,)`` a row."""
    return CsvLines(service_rows(services, locations))


def service_csv_lines(
    services: QuerySet, locations: QuerySet[Location] | None = None
) -> Iterator[str]:
    """The CSV of the service table: the header, then one line per service and offered
    location (streamed)."""
    lines = service_lines(services, locations).iterator()
    return service_table_lines(line for (line,) in lines)


def service_table_lines(lines: Iterable[str]) -> Iterator[str]:
    """The CSV text: the header line, then ``service_lines``' lines."""
    return csv_text([name for name, _ in SERVICE_COLUMNS], lines)


def _with_header(header: list[str], rows: Iterable) -> Iterator:
    yield header
    yield from rows


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
