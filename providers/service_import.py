"""Importing services (with their organisations and locations) from a table and a mapping.

The mapping is a TOML file (documented in ``fixtures/mappings/README.md``) that
says which column holds which field. The import is idempotent by external id,
reports every rejected row with the reason, and is all or nothing: one bad row
and nothing is written.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.db.models import CheckConstraint
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .geocoding import AddressIndexGeocoder
from .imports import taxonomy
from .models import (
    Category,
    Language,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)
from .services import sync_m2m, upsert_by_key
from .tabular import Table, TableError, read_table
from .validators import validate_opening_hours


class ServiceImportError(Exception):
    """The mapping or the file is unusable as a whole; the message says what to change."""


# Target field → (what it is, whether a row needs it). Documented in fixtures/mappings/README.md.
TARGETS: dict[str, str] = {
    "external_id": _("key of the service in the source (required)"),
    "name": _("name of the service (required)"),
    "description": _("description"),
    "organization": _("name of the organisation (Träger) (required)"),
    "organization_external_id": _("key of the organisation in the source"),
    "organization_kind": _("public, free or other"),
    "organization_website": _("website of the organisation"),
    "organization_email": _("e-mail of the organisation"),
    "organization_phone": _("phone of the organisation"),
    "location_name": _("name of the location (default: the service's name)"),
    "street": _("street"),
    "house_number": _("house number"),
    "postcode": _("postcode"),
    "city": _("city"),
    "latitude": _("latitude (WGS84)"),
    "longitude": _("longitude (WGS84)"),
    "x": _("easting in [source] srid"),
    "y": _("northing in [source] srid"),
    "wheelchair": _("yes, limited, no or unknown"),
    "phone": _("phone"),
    "email": _("e-mail"),
    "website": _("website"),
    "opening_hours": _("opening hours in OpenStreetMap syntax"),
    "min_age": _("minimum age"),
    "max_age": _("maximum age"),
    "is_free": _("free of charge (yes/no)"),
    "fees": _("fees"),
    "source": _("where the data comes from, for the maps' data credit (usually in [defaults])"),
    "licence": _("licence of the data, e.g. dl-de/by-2-0 (usually in [defaults])"),
    "languages": _("language codes, separated by commas"),
    "categories": _("category slugs (or values translated by [values.categories])"),
    "target_groups": _("target group slugs (or values translated by [values.target_groups])"),
    "last_verified": _("date of the last check (YYYY-MM-DD or DD.MM.YYYY)"),
    "status": _("draft, published or archived"),
}
LIST_TARGETS = {"categories", "target_groups", "languages"}
SOURCE_KEYS = {"delimiter", "encoding", "sheet", "header_rows", "srid"}


@dataclass
class Mapping:
    columns: dict[str, list[str]]
    defaults: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    external_id_prefix: str = ""
    organization_id_prefix: str = "traeger:"
    categories: list[dict[str, str]] = field(default_factory=list)
    target_groups: list[dict[str, str]] = field(default_factory=list)
    drop_invalid: set[str] = field(default_factory=set)
    name: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ServiceImportError(
                _("Mapping file not found: %(path)s") % {"path": path}
            ) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ServiceImportError(
                _("The mapping %(path)s is not valid TOML: %(error)s")
                % {"path": path.name, "error": exc}
            ) from exc
        return cls.from_dict(data, name=path.name)

    @classmethod
    def from_dict(cls, data: dict, *, name: str = "") -> Mapping:
        unknown_sections = set(data) - {
            "columns",
            "defaults",
            "values",
            "source",
            "external_id_prefix",
            "organization_id_prefix",
            "categories",
            "target_groups",
            "drop_invalid",
        }
        if unknown_sections:
            raise ServiceImportError(
                _("Unknown entries in the mapping: %(keys)s")
                % {"keys": ", ".join(sorted(unknown_sections))}
            )
        raw_columns = data.get("columns") or {}
        columns = {}
        for target, spec in raw_columns.items():
            if target not in TARGETS:
                raise ServiceImportError(
                    _("[columns] names an unknown field “%(field)s”; known fields: %(known)s")
                    % {"field": target, "known": ", ".join(TARGETS)}
                )
            columns[target] = [spec] if isinstance(spec, str) else list(spec)
        defaults = data.get("defaults") or {}
        for target in defaults:
            if target not in TARGETS or target == "external_id":
                raise ServiceImportError(
                    _("[defaults] names an unknown field “%(field)s”.") % {"field": target}
                )
        if "external_id" not in columns:
            raise ServiceImportError(
                _(
                    "The mapping must say which column holds the external id ([columns]"
                    " external_id)."
                )
            )
        for required in ("name", "organization"):
            if required not in columns and required not in defaults:
                raise ServiceImportError(
                    _("The mapping must say which column holds “%(field)s”.") % {"field": required}
                )
        source = data.get("source") or {}
        if set(source) - SOURCE_KEYS:
            raise ServiceImportError(
                _("[source] knows only %(keys)s.") % {"keys": ", ".join(sorted(SOURCE_KEYS))}
            )
        droppable = {
            "website",
            "email",
            "opening_hours",
            "organization_website",
            "organization_email",
        }
        if set(data.get("drop_invalid") or []) - droppable:
            raise ServiceImportError(
                _("drop_invalid may name only %(fields)s.")
                % {"fields": ", ".join(sorted(droppable))}
            )
        if ("x" in columns or "y" in columns) and not source.get("srid"):
            raise ServiceImportError(_("Columns x and y need srid in the [source] section."))
        return cls(
            columns=columns,
            defaults=defaults,
            values={
                k: {str(a): str(b) for a, b in v.items()}
                for k, v in (data.get("values") or {}).items()
            },
            source=source,
            external_id_prefix=data.get("external_id_prefix", ""),
            organization_id_prefix=data.get("organization_id_prefix", "traeger:"),
            categories=_entries(data, "categories"),
            target_groups=_entries(data, "target_groups"),
            drop_invalid=set(data.get("drop_invalid") or []),
            name=name,
        )

    def check_columns(self, table: Table) -> None:
        """Refuse a mapping that names columns the file does not have."""
        missing = sorted(
            {c for specs in self.columns.values() for c in specs if c not in table.columns}
        )
        if missing:
            raise ServiceImportError(
                _(
                    "The mapping names columns that are not in the file: %(missing)s. The file"
                    " has: %(have)s"
                )
                % {"missing": ", ".join(missing), "have": ", ".join(table.columns)}
            )


def _entries(data: dict, section: str) -> list[dict]:
    entries = data.get(section) or []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and e.get("slug") for e in entries
    ):
        raise ServiceImportError(
            _("[[%(section)s]] entries need at least a slug and a name.") % {"section": section}
        )
    return entries


@dataclass
class RowError:
    number: int
    key: str
    messages: list[str]

    def __str__(self) -> str:
        key = f" ({self.key})" if self.key else ""
        return _("row %(n)d%(key)s: %(messages)s") % {
            "n": self.number,
            "key": key,
            "messages": "; ".join(self.messages),
        }


@dataclass
class ServiceImportReport:
    rows: int = 0
    rejected: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    organizations: str = ""
    locations: str = ""
    services: str = ""
    links_changed: int = 0
    categories_created: list[str] = field(default_factory=list)
    target_groups_created: list[str] = field(default_factory=list)
    new_services: int = 0
    changed_services: int = 0
    unchanged_services: int = 0
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary_lines(self) -> list[str]:
        lines = [
            _("%(rows)d rows read, %(rejected)d rejected.")
            % {"rows": self.rows, "rejected": len(self.rejected)}
        ]
        for error in self.rejected[:200]:
            lines.append(f"  {error}")
        if len(self.rejected) > 200:
            lines.append(_("  … and %(n)d more rejected rows") % {"n": len(self.rejected) - 200})
        if self.rejected:
            lines.append(_("Nothing was imported: correct the rejected rows and try again."))
            return lines
        lines.append(
            _("Services: %(new)d new, %(changed)d changed, %(same)d unchanged")
            % {
                "new": self.new_services,
                "changed": self.changed_services,
                "same": self.unchanged_services,
            }
        )
        if self.committed:
            lines.append(_("Organisations: %(r)s") % {"r": self.organizations})
            lines.append(_("Locations: %(r)s") % {"r": self.locations})
        if self.categories_created:
            lines.append(
                _("Categories created: %(slugs)s") % {"slugs": ", ".join(self.categories_created)}
            )
        if self.target_groups_created:
            lines.append(
                _("Target groups created: %(slugs)s")
                % {"slugs": ", ".join(self.target_groups_created)}
            )
        lines.extend(f"  {note}" for note in self.notes[:50])
        if not self.committed:
            lines.append(_("Dry run: nothing was written. Pass --commit to import."))
        return lines


@dataclass
class PreparedRow:
    key: str
    service: dict[str, Any]
    organization_key: str
    organization: dict[str, Any]
    location: dict[str, Any]
    categories: list[str]
    target_groups: list[str]


TRUE = {"1", "true", "yes", "ja", "j", "y", "x", "wahr"}
FALSE = {"0", "false", "no", "nein", "n", "falsch", ""}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%dT%H:%M:%S")
SPLIT = re.compile(r"\s*[,;|]\s*")
_url = URLValidator()
_email = EmailValidator()


def _date(value: str) -> datetime.date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _website(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        value = f"http://{value}"
    return value


class RowReader:
    """Turns one source row into the values of an organisation, a location and a service."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.category_slugs = set(Category.objects.values_list("slug", flat=True)) | {
            c["slug"] for c in mapping.categories
        }
        self.group_slugs = set(TargetGroup.objects.values_list("slug", flat=True)) | {
            g["slug"] for g in mapping.target_groups
        }
        self.geocoder: AddressIndexGeocoder | None = None
        self.srid = mapping.source.get("srid")

    def raw(self, row, target: str) -> str:
        specs = self.mapping.columns.get(target)
        if specs:
            value = " ".join(p for p in (row.values.get(c, "").strip() for c in specs) if p)
        else:
            value = ""
        if not value and target in self.mapping.defaults:
            default = self.mapping.defaults[target]
            value = ", ".join(map(str, default)) if isinstance(default, list) else str(default)
        translate = self.mapping.values.get(target)
        if translate and target not in LIST_TARGETS:
            value = translate.get(value, translate.get("*", value))
        return value

    def values_list(self, row, target: str) -> list[str]:
        value = self.raw(row, target)
        items = [v for v in SPLIT.split(value) if v] if value else []
        translate = self.mapping.values.get(target, {})
        result = []
        for item in items:
            mapped = translate.get(item, translate.get("*", item))
            result.extend(v for v in SPLIT.split(mapped) if v)
        return list(dict.fromkeys(result))

    def read(self, row) -> tuple[PreparedRow | None, list[str], str]:
        errors: list[str] = []
        dropped: list[str] = []

        def invalid(target: str, message: str) -> None:
            if target in self.mapping.drop_invalid:
                dropped.append(message)
            else:
                errors.append(message)

        key_value = self.raw(row, "external_id")
        key = f"{self.mapping.external_id_prefix}{key_value}" if key_value else ""
        if not key_value:
            errors.append(_("external id is empty"))
        elif len(key) > 100:
            errors.append(_("external id is longer than 100 characters"))
        name = self.raw(row, "name")
        if not name:
            errors.append(_("name is empty"))
        organization_name = self.raw(row, "organization") or name
        if not organization_name:
            errors.append(_("organisation is empty"))

        service: dict[str, Any] = {
            "name": name[:255],
            "description": self.raw(row, "description"),
            "phone": self.raw(row, "phone")[:60],
            "fees": self.raw(row, "fees")[:255],
            "source": self.raw(row, "source")[:200],
            "licence": self.raw(row, "licence")[:100],
            "opening_hours": self.raw(row, "opening_hours"),
        }
        for target in ("website", "email"):
            value = self.raw(row, target)
            if target == "website":
                value = _website(value)
            try:
                if value:
                    (_url if target == "website" else _email)(value)
                service[target] = value[:500]
            except ValidationError:
                service[target] = ""
                invalid(
                    target,
                    _("%(field)s “%(value)s” is not valid") % {"field": target, "value": value},
                )
        try:
            validate_opening_hours(service["opening_hours"])
        except ValidationError as exc:
            service["opening_hours"] = ""
            invalid("opening_hours", " ".join(exc.messages))
        for target in ("min_age", "max_age"):
            value = self.raw(row, target)
            if not value:
                service[target] = None
                continue
            try:
                service[target] = int(float(value.replace(",", ".")))
                if not 0 <= service[target] <= 120:
                    raise ValueError
            except ValueError:
                errors.append(
                    _("%(field)s “%(value)s” is not an age") % {"field": target, "value": value}
                )
        if (
            service.get("min_age") is not None
            and service.get("max_age") is not None
            and service["min_age"] > service["max_age"]
        ):
            errors.append(_("the minimum age is above the maximum age"))
        is_free = self.raw(row, "is_free").lower()
        if "is_free" in self.mapping.columns or "is_free" in self.mapping.defaults:
            if is_free in TRUE:
                service["is_free"] = True
            elif is_free in FALSE:
                service["is_free"] = False
            else:
                errors.append(_("is_free “%(value)s” is neither yes nor no") % {"value": is_free})
        status = self.raw(row, "status") or Service.Status.PUBLISHED
        if status not in Service.Status.values:
            errors.append(
                _("status “%(value)s” is not one of %(allowed)s")
                % {"value": status, "allowed": ", ".join(Service.Status.values)}
            )
        service["status"] = status
        verified = self.raw(row, "last_verified")
        service["last_verified"] = None
        if verified:
            try:
                service["last_verified"] = _date(verified)
            except ValueError:
                errors.append(_("last_verified “%(value)s” is not a date") % {"value": verified})
        languages = self.values_list(row, "languages")
        bad_languages = [code for code in languages if code not in Language.values]
        if bad_languages:
            errors.append(
                _("unknown language codes: %(codes)s") % {"codes": ", ".join(bad_languages)}
            )
        service["languages"] = languages
        categories = self.values_list(row, "categories")
        unknown = [c for c in categories if c not in self.category_slugs]
        if unknown:
            errors.append(_("unknown categories: %(slugs)s") % {"slugs": ", ".join(unknown)})
        groups = self.values_list(row, "target_groups")
        unknown = [g for g in groups if g not in self.group_slugs]
        if unknown:
            errors.append(_("unknown target groups: %(slugs)s") % {"slugs": ", ".join(unknown)})

        kind = self.raw(row, "organization_kind") or Organization.Kind.FREE
        if kind not in Organization.Kind.values:
            errors.append(
                _(
                    "organisation kind “%(value)s” is not one of %(allowed)s; translate it in"
                    " [values.organization_kind]"
                )
                % {"value": kind, "allowed": ", ".join(Organization.Kind.values)}
            )
        organization_key = self.raw(row, "organization_external_id")
        organization_key = (
            f"{self.mapping.organization_id_prefix}{organization_key}"
            if organization_key
            else f"{self.mapping.organization_id_prefix}{slugify(organization_name)[:80]}"
        )
        organization = {
            "name": organization_name[:255],
            "kind": kind,
            "website": _website(self.raw(row, "organization_website"))[:500],
        }
        if "organization_email" in self.mapping.columns:
            organization["email"] = self.raw(row, "organization_email")
        if "organization_phone" in self.mapping.columns:
            organization["phone"] = self.raw(row, "organization_phone")[:60]
        if organization["website"]:
            try:
                _url(organization["website"])
            except ValidationError:
                organization["website"] = (
                    ""  # a Träger's broken link is no reason to reject its service
                )

        point, point_error, note = self.position(row)
        if point_error:
            errors.append(point_error)
        wheelchair = self.raw(row, "wheelchair") or Location.Wheelchair.UNKNOWN
        if wheelchair not in Location.Wheelchair.values:
            errors.append(
                _("wheelchair “%(value)s” is not one of %(allowed)s")
                % {"value": wheelchair, "allowed": ", ".join(Location.Wheelchair.values)}
            )
        location = {
            "name": (self.raw(row, "location_name") or name)[:255],
            "street": self.raw(row, "street")[:200],
            "house_number": self.raw(row, "house_number")[:20],
            "postcode": self.raw(row, "postcode")[:10],
            "city": (self.raw(row, "city") or settings.ATLAS_DEFAULT_CITY)[:100],
            "point": point,
            "wheelchair": wheelchair,
        }
        if not errors:
            errors.extend(
                model_errors(Service, service, _("service"), self.mapping.drop_invalid, dropped)
                + model_errors(
                    Organization,
                    organization,
                    _("organisation"),
                    # A Träger's broken link is no reason to reject its service (see above).
                    {"website"}
                    | {
                        t.removeprefix("organization_")
                        for t in self.mapping.drop_invalid
                        if t.startswith("organization_")
                    },
                    dropped,
                )
                + model_errors(Location, location, _("location"), set(), dropped)
            )
            if dropped:
                note = _note_dropped(note, dropped)
        if errors:
            return None, errors, key
        return (
            PreparedRow(
                key=key,
                service=service,
                organization_key=organization_key[:100],
                organization=organization,
                location=location,
                categories=categories,
                target_groups=groups,
            ),
            [],
            note,
        )

    def position(self, row) -> tuple[Point | None, str, str]:
        """The row's point: its geometry, its coordinate columns, or the address index."""
        if row.point is not None:
            lon, lat = row.point
        elif self.raw(row, "latitude") or self.raw(row, "longitude"):
            try:
                lat = float(self.raw(row, "latitude").replace(",", "."))
                lon = float(self.raw(row, "longitude").replace(",", "."))
            except ValueError:
                return (
                    None,
                    _("latitude/longitude “%(lat)s”/“%(lon)s” are not numbers")
                    % {
                        "lat": self.raw(row, "latitude"),
                        "lon": self.raw(row, "longitude"),
                    },
                    "",
                )
        elif self.raw(row, "x") or self.raw(row, "y"):
            try:
                x = float(self.raw(row, "x").replace(",", "."))
                y = float(self.raw(row, "y").replace(",", "."))
            except ValueError:
                return None, _("x/y are not numbers"), ""
            point = Point(x, y, srid=self.srid)
            point.transform(settings.ATLAS_SRID)
            lon, lat = point.x, point.y
        else:
            if self.geocoder is None:
                self.geocoder = AddressIndexGeocoder()
            result = self.geocoder.geocode(
                self.raw(row, "street"), self.raw(row, "house_number"), self.raw(row, "postcode")
            )
            if result.point is None:
                return None, result.error, ""
            lon, lat = result.point
            return Point(lon, lat, srid=settings.ATLAS_SRID), "", result.note
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
            return (
                None,
                _(
                    "coordinates %(lat)s, %(lon)s are not a position on earth (latitude and"
                    " longitude swapped, or not WGS84?)"
                )
                % {"lat": lat, "lon": lon},
                "",
            )
        return Point(lon, lat, srid=settings.ATLAS_SRID), "", ""


def _note_dropped(note: str, dropped: list[str]) -> str:
    return "; ".join(
        [*([note] if note else []), _("left empty: %(what)s") % {"what": "; ".join(dropped)}]
    )


# Fields the import never sets from a row: keys, links and what the database derives.
NOT_FROM_ROWS = {"id", "external_id", "organization", "search_vector", "created", "modified"}


def model_errors(model, values: dict, label: str, droppable: set[str], dropped: list[str]) -> list:
    """What the model itself says of ``values`` (lengths, validators, choices, checks).

    The same validation the commit's database would apply, run on the dry run: each
    field's ``clean`` and every ``CheckConstraint``. Uniqueness of external ids is
    the import's key (an existing id is updated), so unique constraints are left out.
    A field named in ``droppable`` is emptied instead, and listed in ``dropped``.
    """
    instance = model(**values)
    exclude = {f.name for f in model._meta.fields if f.name not in values} | NOT_FROM_ROWS
    errors = _field_errors(instance, exclude)
    for name in list(errors):
        if name in droppable and not model._meta.get_field(name).null:
            values[name] = ""
            setattr(instance, name, "")
            dropped.append(f"{name}: {' '.join(errors.pop(name))}")
    messages = [f"{label} {name}: {' '.join(texts)}" for name, texts in sorted(errors.items())]
    for constraint in model._meta.constraints:
        if isinstance(constraint, CheckConstraint) and not errors:
            try:
                constraint.validate(model, instance, exclude=exclude - {"id"})
            except ValidationError as exc:
                messages.append(f"{label}: {' '.join(exc.messages)}")
    return messages


def _field_errors(instance, exclude: set[str]) -> dict[str, list[str]]:
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        return {name: list(texts) for name, texts in exc.message_dict.items()}
    for model_field in instance._meta.fields:
        value = getattr(instance, model_field.attname, None)
        if model_field.name not in exclude and isinstance(value, str) and "\x00" in value:
            return {model_field.name: [_("contains a NUL byte")]}
    return {}


Progress = Callable[[int], None]


def import_services(
    path: str | Path,
    mapping: Mapping,
    *,
    commit: bool = False,
    user=None,
    progress: Progress | None = None,
    allowed_organizations: set[int] | None = None,
) -> ServiceImportReport:
    """Read ``path`` with ``mapping`` and create or update its services.

    A dry run unless ``commit``. All or nothing: with any rejected row,
    nothing is written. ``allowed_organizations`` (ids) restricts an
    organisation editor to services of their own organisations.
    """
    try:
        table = read_table(
            path,
            delimiter=mapping.source.get("delimiter"),
            encoding=mapping.source.get("encoding"),
            sheet=mapping.source.get("sheet"),
            header_rows=int(mapping.source.get("header_rows", 1)),
            srid=mapping.source.get("srid"),
        )
    except TableError as exc:
        raise ServiceImportError(str(exc)) from exc
    mapping.check_columns(table)
    if not table.rows:
        raise ServiceImportError(_("The file has no data rows."))
    report = ServiceImportReport(rows=len(table.rows))
    reader = RowReader(mapping)
    prepared: dict[str, PreparedRow] = {}
    first_row: dict[str, int] = {}
    for done, row in enumerate(table.rows, start=1):
        result, errors, info = reader.read(row)
        key = result.key if result else info
        if result is not None and result.key in prepared:
            errors = [_("external id occurs already in row %(n)d") % {"n": first_row[result.key]}]
            result = None
        if errors:
            report.rejected.append(RowError(row.number, key if not result else "", errors))
        else:
            prepared[result.key] = result
            first_row[result.key] = row.number
            if info:
                report.notes.append(f"{_('row')} {row.number}: {info}")
        if progress:
            progress(done)
    if report.rejected:
        return report

    if allowed_organizations is not None:
        _check_organization_scope(prepared, allowed_organizations, report, first_row)
        if report.rejected:
            return report

    existing = {s.external_id: s for s in Service.objects.filter(external_id__in=list(prepared))}
    for key, row in prepared.items():
        service = existing.get(key)
        if service is None:
            report.new_services += 1
        elif any(getattr(service, k) != v for k, v in row.service.items()):
            report.changed_services += 1
        else:
            report.unchanged_services += 1
    taxonomies = _taxonomies(mapping, commit=False)
    report.categories_created = taxonomies[0].created
    report.target_groups_created = taxonomies[1].created
    if not commit:
        return report
    reason = _("import from %(file)s") % {"file": Path(path).name}
    with transaction.atomic():
        _taxonomies(mapping, commit=True)
        _write(prepared, report, user=user, reason=reason)
    report.committed = True
    return report


def _check_organization_scope(prepared, allowed: set[int], report, first_row) -> None:
    keys = {row.organization_key for row in prepared.values()}
    known = dict(Organization.objects.filter(external_id__in=keys).values_list("external_id", "pk"))
    for key, row in prepared.items():
        pk = known.get(row.organization_key)
        if pk is None or pk not in allowed:
            report.rejected.append(
                RowError(
                    first_row[key],
                    key,
                    [
                        _(
                            "you may only import services of your own organisations, not of"
                            " “%(org)s”"
                        )
                        % {"org": row.organization["name"]}
                    ],
                )
            )


def _taxonomies(mapping: Mapping, *, commit: bool):
    """The mapping's own categories and target groups, created if missing (never changed)."""
    try:
        return (
            taxonomy.apply(Category, mapping.categories, commit=commit, update=False),
            taxonomy.apply(TargetGroup, mapping.target_groups, commit=commit, update=False),
        )
    except taxonomy.TaxonomyError as exc:
        raise ServiceImportError(str(exc)) from exc


def _write(prepared: dict[str, PreparedRow], report: ServiceImportReport, *, user, reason) -> None:
    organization_rows: dict[str, dict] = {}
    for row in prepared.values():
        merged = organization_rows.setdefault(row.organization_key, dict(row.organization))
        if row.organization["kind"] == Organization.Kind.PUBLIC:
            merged["kind"] = Organization.Kind.PUBLIC
        merged["website"] = merged["website"] or row.organization["website"]
    organizations, org_result = upsert_by_key(
        Organization, organization_rows, user=user, reason=reason
    )
    locations, loc_result = upsert_by_key(
        Location,
        {
            key: {**row.location, "organization_id": organizations[row.organization_key].pk}
            for key, row in prepared.items()
        },
        user=user,
        reason=reason,
    )
    Location.objects.filter(
        pk__in=[locations[k].pk for k in loc_result.changed_keys]
    ).refresh_areas()
    services, svc_result = upsert_by_key(
        Service,
        {
            key: {**row.service, "organization_id": organizations[row.organization_key].pk}
            for key, row in prepared.items()
        },
        user=user,
        reason=reason,
    )
    categories = dict(Category.objects.values_list("slug", "pk"))
    groups = dict(TargetGroup.objects.values_list("slug", "pk"))
    ids = [s.pk for s in services.values()]
    links = sync_m2m(
        Service.categories.through,
        "service_id",
        "category_id",
        [(services[k].pk, categories[c]) for k, r in prepared.items() for c in r.categories],
        source_ids=ids,
    )
    links += sync_m2m(
        Service.target_groups.through,
        "service_id",
        "targetgroup_id",
        [(services[k].pk, groups[g]) for k, r in prepared.items() for g in r.target_groups],
        source_ids=ids,
    )
    # Locations an editor added by hand stay linked: the import only adds its own.
    current = set(
        ServiceAtLocation.objects.filter(service_id__in=ids).values_list(
            "service_id", "location_id"
        )
    )
    links += sync_m2m(
        ServiceAtLocation,
        "service_id",
        "location_id",
        current | {(services[k].pk, locations[k].pk) for k in prepared},
        source_ids=ids,
    )
    report.organizations = str(org_result)
    report.locations = str(loc_result)
    report.services = str(svc_result)
    report.links_changed = links
