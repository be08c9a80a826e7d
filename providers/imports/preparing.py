"""Preparing a service import: one source row becomes an organisation, a location and a service.

``RowReader.read`` turns a row into the values to store, or the list of what is wrong
with it. Every value is checked the way the commit would check it: the importer's own
rules (ages, yes/no, dates, known categories), then the models' fields and
``CheckConstraint``s (``model_errors``), so a dry run that passes means the commit does.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db.models import CheckConstraint
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ..models import Category, Language, Location, Organization, Service, TargetGroup
from ..validators import validate_opening_hours
from .geocoding import AddressIndexGeocoder
from .mapping import LIST_TARGETS, Mapping
from .reading import SourceRow

TRUE = {"1", "true", "yes", "ja", "j", "y", "x", "wahr"}
FALSE = {"0", "false", "no", "nein", "n", "falsch", ""}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%dT%H:%M:%S")
SPLIT = re.compile(r"\s*[,;|]\s*")
_url = URLValidator()
_email = EmailValidator()
# Fields the import never sets from a row: keys, links and what the database derives.
NOT_FROM_ROWS = {"id", "external_id", "organization", "search_vector", "created", "modified"}


@dataclass
class PreparedRow:
    key: str
    service: dict[str, Any]
    organization_key: str
    organization: dict[str, Any]
    location: dict[str, Any]
    categories: list[str]
    target_groups: list[str]


@dataclass
class RowCheck:
    """What is wrong with one row, and which invalid values the mapping lets us leave empty."""

    drop_invalid: set[str]
    errors: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def invalid(self, target: str, message: str) -> None:
        (self.dropped if target in self.drop_invalid else self.errors).append(message)


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


def _number(value: str) -> float:
    return float(value.replace(",", "."))


def _note_dropped(note: str, dropped: list[str]) -> str:
    return "; ".join(
        [*([note] if note else []), _("left empty: %(what)s") % {"what": "; ".join(dropped)}]
    )


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

    def raw(self, row: SourceRow, target: str) -> str:
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

    def values_list(self, row: SourceRow, target: str) -> list[str]:
        value = self.raw(row, target)
        items = [v for v in SPLIT.split(value) if v] if value else []
        translate = self.mapping.values.get(target, {})
        result = []
        for item in items:
            mapped = translate.get(item, translate.get("*", item))
            result.extend(v for v in SPLIT.split(mapped) if v)
        return list(dict.fromkeys(result))

    def read(self, row: SourceRow) -> tuple[PreparedRow | None, list[str], str]:
        """(the prepared row, [], a note) or (None, what is wrong, the row's key)."""
        check = RowCheck(self.mapping.drop_invalid)
        key = self._key(row, check)
        name = self.raw(row, "name")
        if not name:
            check.errors.append(_("name is empty"))
        organization_name = self.raw(row, "organization") or name
        if not organization_name:
            check.errors.append(_("organisation is empty"))
        service = self._service(row, name, check)
        categories = self._known(row, "categories", self.category_slugs, check)
        groups = self._known(row, "target_groups", self.group_slugs, check)
        organization_key, organization = self._organization(row, organization_name, check)
        point, point_error, note = self.position(row)
        if point_error:
            check.errors.append(point_error)
        location = self._location(row, name, point, check)
        if not check.errors:
            self._validate_with_models(service, organization, location, check)
        if check.errors:
            return None, check.errors, key
        if check.dropped:
            note = _note_dropped(note, check.dropped)
        prepared = PreparedRow(
            key=key,
            service=service,
            organization_key=organization_key,
            organization=organization,
            location=location,
            categories=categories,
            target_groups=groups,
        )
        return prepared, [], note

    def _key(self, row: SourceRow, check: RowCheck) -> str:
        value = self.raw(row, "external_id")
        key = f"{self.mapping.external_id_prefix}{value}" if value else ""
        if not value:
            check.errors.append(_("external id is empty"))
        elif len(key) > 100:
            check.errors.append(_("external id is longer than 100 characters"))
        return key

    # --- the service ------------------------------------------------------------------------

    def _service(self, row: SourceRow, name: str, check: RowCheck) -> dict[str, Any]:
        service: dict[str, Any] = {
            "name": name[:255],
            "description": self.raw(row, "description"),
            "phone": self.raw(row, "phone")[:60],
            "fees": self.raw(row, "fees")[:255],
            "source": self.raw(row, "source")[:200],
            "licence": self.raw(row, "licence")[:100],
        }
        self._contact(row, service, check)
        self._ages(row, service, check)
        self._capacity(row, service, check)
        self._is_free(row, service, check)
        service["status"] = self._choice(
            row,
            "status",
            Service.Status.PUBLISHED,
            Service.Status.values,
            _("status “%(value)s” is not one of %(allowed)s"),
            check,
        )
        service["last_verified"] = self._verified(row, check)
        service["languages"] = self._languages(row, check)
        return service

    def _contact(self, row: SourceRow, service: dict, check: RowCheck) -> None:
        for target, validate in (("website", _url), ("email", _email)):
            value = self.raw(row, target)
            if target == "website":
                value = _website(value)
            try:
                if value:
                    validate(value)
                service[target] = value[:500]
            except ValidationError:
                service[target] = ""
                check.invalid(
                    target,
                    _("%(field)s “%(value)s” is not valid") % {"field": target, "value": value},
                )
        service["opening_hours"] = self.raw(row, "opening_hours")
        try:
            validate_opening_hours(service["opening_hours"])
        except ValidationError as exc:
            service["opening_hours"] = ""
            check.invalid("opening_hours", " ".join(exc.messages))

    def _ages(self, row: SourceRow, service: dict, check: RowCheck) -> None:
        for target in ("min_age", "max_age"):
            value = self.raw(row, target)
            service[target] = None
            if not value:
                continue
            try:
                age = int(_number(value))
            except ValueError:
                age = -1
            if 0 <= age <= 120:
                service[target] = age
            else:
                check.errors.append(
                    _("%(field)s “%(value)s” is not an age") % {"field": target, "value": value}
                )
        low, high = service["min_age"], service["max_age"]
        if low is not None and high is not None and low > high:
            check.errors.append(_("the minimum age is above the maximum age"))

    def _capacity(self, row: SourceRow, service: dict, check: RowCheck) -> None:
        # Only a mapping that names places sets them: others keep what editors entered.
        if "capacity" not in self.mapping.columns and "capacity" not in self.mapping.defaults:
            return
        value = self.raw(row, "capacity")
        service["capacity"] = None
        if not value:
            return
        try:
            places = int(_number(value))
        except ValueError:
            places = -1
        if places >= 0:
            service["capacity"] = places
        else:
            check.errors.append(
                _("capacity “%(value)s” is not a number of places") % {"value": value}
            )

    def _is_free(self, row: SourceRow, service: dict, check: RowCheck) -> None:
        if "is_free" not in self.mapping.columns and "is_free" not in self.mapping.defaults:
            return
        value = self.raw(row, "is_free").lower()
        if value in TRUE:
            service["is_free"] = True
        elif value in FALSE:
            service["is_free"] = False
        else:
            check.errors.append(_("is_free “%(value)s” is neither yes nor no") % {"value": value})

    def _choice(self, row, target: str, default: str, allowed, message: str, check) -> str:
        value = self.raw(row, target) or default
        if value not in allowed:
            check.errors.append(message % {"value": value, "allowed": ", ".join(allowed)})
        return value

    def _verified(self, row: SourceRow, check: RowCheck) -> datetime.date | None:
        value = self.raw(row, "last_verified")
        if not value:
            return None
        try:
            return _date(value)
        except ValueError:
            check.errors.append(_("last_verified “%(value)s” is not a date") % {"value": value})
            return None

    def _languages(self, row: SourceRow, check: RowCheck) -> list[str]:
        languages = self.values_list(row, "languages")
        bad = [code for code in languages if code not in Language.values]
        if bad:
            check.errors.append(_("unknown language codes: %(codes)s") % {"codes": ", ".join(bad)})
        return languages

    def _known(self, row: SourceRow, target: str, known: set[str], check: RowCheck) -> list[str]:
        slugs = self.values_list(row, target)
        unknown = [s for s in slugs if s not in known]
        if unknown and target == "categories":
            check.errors.append(_("unknown categories: %(slugs)s") % {"slugs": ", ".join(unknown)})
        elif unknown:
            check.errors.append(
                _("unknown target groups: %(slugs)s") % {"slugs": ", ".join(unknown)}
            )
        return slugs

    # --- the organisation and the location --------------------------------------------------

    def _organization(self, row: SourceRow, name: str, check: RowCheck) -> tuple[str, dict]:
        kind = self.raw(row, "organization_kind") or Organization.Kind.FREE
        if kind not in Organization.Kind.values:
            check.errors.append(
                _(
                    "organisation kind “%(value)s” is not one of %(allowed)s; translate it in"
                    " [values.organization_kind]"
                )
                % {"value": kind, "allowed": ", ".join(Organization.Kind.values)}
            )
        prefix = self.mapping.organization_id_prefix
        own_key = self.raw(row, "organization_external_id")
        key = f"{prefix}{own_key}" if own_key else f"{prefix}{slugify(name)[:80]}"
        organization = {
            "name": name[:255],
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
                organization["website"] = ""  # a Träger's broken link is no reason to reject
        return key[:100], organization

    def _location(self, row: SourceRow, name: str, point, check: RowCheck) -> dict:
        wheelchair = self._choice(
            row,
            "wheelchair",
            Location.Wheelchair.UNKNOWN,
            Location.Wheelchair.values,
            _("wheelchair “%(value)s” is not one of %(allowed)s"),
            check,
        )
        return {
            "name": (self.raw(row, "location_name") or name)[:255],
            "street": self.raw(row, "street")[:200],
            "house_number": self.raw(row, "house_number")[:20],
            "postcode": self.raw(row, "postcode")[:10],
            "city": (self.raw(row, "city") or settings.ATLAS_DEFAULT_CITY)[:100],
            "point": point,
            "wheelchair": wheelchair,
        }

    def _validate_with_models(self, service, organization, location, check: RowCheck) -> None:
        drop = self.mapping.drop_invalid
        # A Träger's website is always droppable (as above); its e-mail if the mapping says so.
        organization_drop = {"website"} | {
            t.removeprefix("organization_") for t in drop if t.startswith("organization_")
        }
        check.errors.extend(
            model_errors(Service, service, _("service"), drop, check.dropped)
            + model_errors(
                Organization, organization, _("organisation"), organization_drop, check.dropped
            )
            + model_errors(Location, location, _("location"), set(), check.dropped)
        )

    # --- the position -----------------------------------------------------------------------

    def position(self, row: SourceRow) -> tuple[Point | None, str, str]:
        """(point, error, note): the row's geometry, its coordinate columns, or the address
        index."""
        if row.point is not None:
            return self._on_earth(*row.point)
        if self.raw(row, "latitude") or self.raw(row, "longitude"):
            return self._from_lat_lon(row)
        if self.raw(row, "x") or self.raw(row, "y"):
            return self._from_xy(row)
        return self._geocoded(row)

    def _from_lat_lon(self, row: SourceRow) -> tuple[Point | None, str, str]:
        lat, lon = self.raw(row, "latitude"), self.raw(row, "longitude")
        try:
            return self._on_earth(_number(lon), _number(lat))
        except ValueError:
            return (
                None,
                _("latitude/longitude “%(lat)s”/“%(lon)s” are not numbers")
                % {"lat": lat, "lon": lon},
                "",
            )

    def _from_xy(self, row: SourceRow) -> tuple[Point | None, str, str]:
        try:
            point = Point(_number(self.raw(row, "x")), _number(self.raw(row, "y")), srid=self.srid)
        except ValueError:
            return None, _("x/y are not numbers"), ""
        point.transform(settings.ATLAS_SRID)
        return self._on_earth(point.x, point.y)

    def _geocoded(self, row: SourceRow) -> tuple[Point | None, str, str]:
        if self.geocoder is None:
            self.geocoder = AddressIndexGeocoder()
        result = self.geocoder.geocode(
            self.raw(row, "street"), self.raw(row, "house_number"), self.raw(row, "postcode")
        )
        if result.point is None:
            return None, result.error, ""
        lon, lat = result.point
        return Point(lon, lat, srid=settings.ATLAS_SRID), "", result.note

    @staticmethod
    def _on_earth(lon: float, lat: float) -> tuple[Point | None, str, str]:
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
