"""Exports of services, organisations, locations and contacts as CSV, Excel and GeoJSON.

The one export stack: one table definition per model (columns and how to read them)
feeds all formats, so the admin action and ``manage.py export_data`` give the same files;
the API's download of a filtered service list (one row per offered location, streamed)
has its columns here too. Every cell passes ``atlas.core.spreadsheets`` (formulas
defused). Internal contact data is only included when asked for and allowed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.contrib.gis.db.models.functions import GeoFunc
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import FloatField, Prefetch, QuerySet
from openpyxl import Workbook

from atlas.core.spreadsheets import csv_lines, xlsx_row

from .models import Contact, Location, Organization, Service, ServiceAtLocation

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


def _point(location: Location | None):
    if location is None or location.point is None:
        return None
    return {
        "type": "Point",
        "coordinates": [round(location.point.x, 7), round(location.point.y, 7)],
    }


def _first_location(service: Service) -> Location | None:
    locations = list(service.locations.all())
    return locations[0] if locations else None


SERVICE_COLUMNS = [
    Column("id", lambda s: s.pk),
    Column("external_id", lambda s: s.external_id),
    Column("name", lambda s: s.name),
    Column("organization", lambda s: s.organization.name),
    Column("organization_external_id", lambda s: s.organization.external_id),
    Column("status", lambda s: s.status),
    Column("description", lambda s: s.description),
    Column("categories", lambda s: _join(c.slug for c in s.categories.all())),
    Column("target_groups", lambda s: _join(g.slug for g in s.target_groups.all())),
    Column("min_age", lambda s: s.min_age),
    Column("max_age", lambda s: s.max_age),
    Column("languages", lambda s: _join(s.languages)),
    Column("is_free", lambda s: "yes" if s.is_free else "no"),
    Column("fees", lambda s: s.fees),
    Column("legal_basis", lambda s: _join(s.legal_basis)),
    Column("opening_hours", lambda s: s.opening_hours),
    Column("phone", lambda s: s.phone),
    Column("email", lambda s: s.email),
    Column("website", lambda s: s.website),
    Column("valid_from", lambda s: s.valid_from),
    Column("valid_until", lambda s: s.valid_until),
    Column("last_verified", lambda s: s.last_verified),
    Column("is_stale", lambda s: "yes" if s.is_stale else "no"),
    Column("locations", lambda s: _join(loc.external_id or loc.pk for loc in s.locations.all())),
    Column("street", lambda s: getattr(_first_location(s), "street", "")),
    Column("house_number", lambda s: getattr(_first_location(s), "house_number", "")),
    Column("postcode", lambda s: getattr(_first_location(s), "postcode", "")),
    Column("city", lambda s: getattr(_first_location(s), "city", "")),
    Column("latitude", lambda s: _first_location(s) and round(_first_location(s).point.y, 7)),
    Column("longitude", lambda s: _first_location(s) and round(_first_location(s).point.x, 7)),
    Column("updated_at", lambda s: s.updated_at),
]
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
    """Columns and an efficiently prefetched queryset for ``queryset``'s model."""
    model = queryset.model
    if model is Service:
        return SERVICE_COLUMNS, queryset.select_related("organization").prefetch_related(
            "categories", "target_groups", Prefetch("locations", Location.objects.order_by("pk"))
        )
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
    columns, rows = table_for(queryset, internal=internal)
    rows = rows.order_by("pk")
    table = ([c.read(obj) for c in columns] for obj in rows)
    if fmt == "csv":
        lines = csv_lines([[c.name for c in columns], *table], delimiter=";")
        return "".join(lines).encode("utf-8")
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(queryset.model._meta.verbose_name_plural.title()[:31])
        sheet.append([c.name for c in columns])
        for values in table:
            sheet.append(xlsx_row(sheet, values))
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    features = []
    for obj in rows:
        properties = {c.name: _geojson_value(c.read(obj)) for c in columns}
        if isinstance(obj, Service):
            locations = list(obj.locations.all()) or [None]
            for location in locations:
                features.append(
                    {"type": "Feature", "geometry": _point(location), "properties": properties}
                )
        else:
            location = obj if isinstance(obj, Location) else None
            features.append(
                {"type": "Feature", "geometry": _point(location), "properties": properties}
            )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=str
    ).encode("utf-8")


# -- the API's download of a filtered list: one row per offered location, streamed -----

SERVICE_LOCATION_COLUMNS = (
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


class _X(GeoFunc):
    function = "ST_X"
    output_field = FloatField()


class _Y(GeoFunc):
    function = "ST_Y"
    output_field = FloatField()


def service_location_rows(
    services: QuerySet, locations: QuerySet[Location] | None = None
) -> QuerySet:
    """One tuple per offered location of ``services``, in ``SERVICE_LOCATION_COLUMNS`` order."""
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
        .values_list(*(source for _, source in SERVICE_LOCATION_COLUMNS))
    )


def service_csv_lines(
    services: QuerySet, locations: QuerySet[Location] | None = None
) -> Iterator[str]:
    """The header line, then one line per offered location (comma-separated)."""
    header = [name for name, _ in SERVICE_LOCATION_COLUMNS]
    rows = service_location_rows(services, locations).iterator(chunk_size=2000)
    return csv_lines(_with_header(header, rows))


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
