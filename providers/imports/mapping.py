"""The column mapping of a service import: a TOML file that says which column holds which field.

The format is documented in ``fixtures/mappings/README.md``. ``Mapping.load`` refuses a
mapping that names unknown fields, lacks a required one or sets unknown options, with
a message that says what to change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from .reading import Table


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
    "capacity": _("places (a whole number)"),
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


SECTIONS = {
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
# Fields left empty (and listed) when invalid, if the mapping says so, instead of rejecting.
DROPPABLE = {"website", "email", "opening_hours", "organization_website", "organization_email"}


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
        unknown_sections = set(data) - SECTIONS
        if unknown_sections:
            raise ServiceImportError(
                _("Unknown entries in the mapping: %(keys)s")
                % {"keys": ", ".join(sorted(unknown_sections))}
            )
        columns = _columns(data.get("columns") or {})
        defaults = _defaults(data.get("defaults") or {})
        _check_required(columns, defaults)
        source = _source(data.get("source") or {}, columns)
        drop_invalid = set(data.get("drop_invalid") or [])
        if drop_invalid - DROPPABLE:
            raise ServiceImportError(
                _("drop_invalid may name only %(fields)s.")
                % {"fields": ", ".join(sorted(DROPPABLE))}
            )
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
            drop_invalid=drop_invalid,
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


def _columns(raw: dict) -> dict[str, list[str]]:
    columns = {}
    for target, spec in raw.items():
        if target not in TARGETS:
            raise ServiceImportError(
                _("[columns] names an unknown field “%(field)s”; known fields: %(known)s")
                % {"field": target, "known": ", ".join(TARGETS)}
            )
        columns[target] = [spec] if isinstance(spec, str) else list(spec)
    return columns


def _defaults(defaults: dict) -> dict:
    for target in defaults:
        if target not in TARGETS or target == "external_id":
            raise ServiceImportError(
                _("[defaults] names an unknown field “%(field)s”.") % {"field": target}
            )
    return defaults


def _check_required(columns: dict, defaults: dict) -> None:
    if "external_id" not in columns:
        raise ServiceImportError(
            _("The mapping must say which column holds the external id ([columns] external_id).")
        )
    for required in ("name", "organization"):
        if required not in columns and required not in defaults:
            raise ServiceImportError(
                _("The mapping must say which column holds “%(field)s”.") % {"field": required}
            )


def _source(source: dict, columns: dict) -> dict:
    if set(source) - SOURCE_KEYS:
        raise ServiceImportError(
            _("[source] knows only %(keys)s.") % {"keys": ", ".join(sorted(SOURCE_KEYS))}
        )
    if ("x" in columns or "y" in columns) and not source.get("srid"):
        raise ServiceImportError(_("Columns x and y need srid in the [source] section."))
    return source


def _entries(data: dict, section: str) -> list[dict]:
    entries = data.get(section) or []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and e.get("slug") for e in entries
    ):
        raise ServiceImportError(
            _("[[%(section)s]] entries need at least a slug and a name.") % {"section": section}
        )
    return entries
