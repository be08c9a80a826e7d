"""The service filters shared by the REST API and the HTML pages.

A request's parameters become an immutable description, and plain functions build the
querysets from it::

    query = parse_service_query(request.GET)  # ValidationError: message_dict per parameter
    services = service_queryset(query, Service.objects.published())
    locations = matched_locations(query)  # None without location filters

Filters on a location (``bbox``, ``near``, ``area``, ``wheelchair``) must hold for the same
location of a service; ``matched_locations`` returns those locations so a map shows only
the markers that matched. ``ServiceFilterSet`` declares the parameters (form fields,
OpenAPI schema through ``DjangoFilterBackend``) and filters through the same functions.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass

import django_filters
from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from atlas.core.forms import (
    BBoxField,
    CommaListField,
    DateOrDateTimeField,
    LonLatField,
    StrictBooleanField,
)
from planning_areas.models import Area

from .models import (
    Category,
    Location,
    Organization,
    Service,
    ServiceQuerySet,
    TargetGroup,
    location_condition,
    search_words,
)

MAX_QUERY_LENGTH = 200


def max_radius() -> int:
    """Largest allowed ``radius`` in metres (ATLAS_API_MAX_RADIUS_METRES)."""
    return int(getattr(settings, "ATLAS_API_MAX_RADIUS_METRES", 5_000))


DEFAULT_RADIUS = 2_000


# Based on CharFilter/BooleanFilter (only the form field differs) so that drf-spectacular
# knows their schema types: their parameters name no model field, and a plain Filter gave a
# warning per parameter in `check --deploy`.
class CommaListFilter(django_filters.CharFilter):
    field_class = CommaListField


class BBoxFilter(django_filters.CharFilter):
    field_class = BBoxField


class LonLatFilter(django_filters.CharFilter):
    field_class = LonLatField


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class DateOrDateTimeFilter(django_filters.CharFilter):
    field_class = DateOrDateTimeField


class ServiceFilterForm(forms.Form):
    """Checks between parameters: ``radius`` needs ``near`` and has a ceiling."""

    def clean(self):
        data = super().clean()
        radius = data.get("radius")
        if radius is not None:
            if not data.get("near") and "near" not in self.errors:
                self.add_error("radius", _("radius needs near=LON,LAT."))
            elif radius > max_radius():
                self.add_error(
                    "radius",
                    _("The radius may be at most %(max)d metres.") % {"max": max_radius()},
                )
        return data


@dataclass(frozen=True)
class Near:
    point: Point
    radius: float


def _resolve_slugs(model, items: list[str], param: str, listing: str) -> list:
    """Objects for slugs (or numeric ids); unknown ones raise naming the parameter."""
    ids = {int(i) for i in items if i.isdigit()}
    slugs = {i for i in items if not i.isdigit()}
    found = list(model.objects.filter(pk__in=ids)) + list(model.objects.filter(slug__in=slugs))
    known = {str(o.pk) for o in found} | {o.slug for o in found}
    unknown = [i for i in items if i not in known]
    if unknown:
        raise forms.ValidationError(
            _("Unknown %(param)s: %(values)s. Use the slugs listed at %(listing)s."),
            code="unknown",
            params={"param": param, "values": ", ".join(unknown[:5]), "listing": listing},
        )
    return found


def resolve_area_keys(items: list[str]) -> list[Area]:
    """Areas for ids (``123``) or official keys (``layer-slug:code``)."""
    areas = []
    unknown = []
    for item in items:
        if item.isdigit():
            area = Area.objects.filter(pk=int(item)).first()
        elif ":" in item:
            layer, code = item.split(":", 1)
            area = Area.objects.by_key(layer, code).first()
        else:
            area = None
        if area is None:
            unknown.append(item)
        else:
            areas.append(area)
    if unknown:
        raise forms.ValidationError(
            _(
                "Unknown area: %(values)s. Give an area id or layer:code, "
                "e.g. bezirke:01 (see /api/v1/areas/)."
            ),
            code="unknown",
            params={"values": ", ".join(unknown[:5])},
        )
    return areas


class ServiceFilterSet(django_filters.FilterSet):
    """Every public filter on services; parameter names are part of the API contract."""

    q = django_filters.CharFilter(
        method="keep",
        max_length=MAX_QUERY_LENGTH,
        help_text=_(
            "Full-text search (German stemming) in name and description, tolerant of typos "
            "and parts of compound words. At most 200 characters."
        ),
    )
    category = CommaListFilter(
        method="keep",
        help_text=_(
            "Category slugs or ids, comma-separated (at most 50); sub-categories are included."
        ),
    )
    target_group = CommaListFilter(
        method="keep",
        help_text=_("Target group slugs or ids, comma-separated (at most 50)."),
    )
    organization = CommaListFilter(
        method="keep",
        help_text=_("Organisation ids, comma-separated (at most 50)."),
    )
    area = CommaListFilter(
        method="keep",
        help_text=_(
            "Planning areas as id or layer:code (e.g. bezirke:01), comma-separated; "
            "services in their child areas are included."
        ),
    )
    bbox = BBoxFilter(
        method="keep",
        help_text=_(
            "minlon,minlat,maxlon,maxlat in WGS84; min below max, at most "
            "ATLAS_API_MAX_BBOX_DEGREES (default 2) degrees wide and high."
        ),
    )
    near = LonLatFilter(
        method="keep",
        help_text=_(
            "LON,LAT in WGS84: only services within `radius` metres, sorted by distance; "
            "each feature carries its distance in metres."
        ),
    )
    radius = django_filters.NumberFilter(
        method="keep",
        min_value=1,
        help_text=_(
            "Search radius in metres for `near`, 1 to ATLAS_API_MAX_RADIUS_METRES "
            "(default 5000); 2000 if omitted."
        ),
    )
    age = django_filters.NumberFilter(
        method="keep",
        min_value=0,
        max_value=120,
        help_text=_("An age in years (0–120): services whose age range includes it."),
    )
    free = StrictBooleanFilter(
        method="keep",
        help_text=_("true: only free services; false: only services with fees."),
    )
    wheelchair = CommaListFilter(
        method="keep",
        help_text=_(
            "Wheelchair access of the location: yes, limited, no, unknown (comma-separated); "
            "true means yes."
        ),
    )
    open_now = StrictBooleanFilter(
        method="keep",
        help_text=_(
            "true: services open at this moment by their opening hours; false: closed now "
            "or without opening hours."
        ),
    )
    modified_since = DateOrDateTimeFilter(
        method="keep",
        help_text=_("ISO 8601 date or date-time: services changed at or after it."),
    )

    class Meta:
        model = Service
        fields: list[str] = []
        form = ServiceFilterForm

    def keep(self, queryset, name, value):
        """Each filter only declares its parameter (form field, schema, help text); the
        work is done by ``describe`` and ``service_queryset`` from the cleaned form."""
        return queryset

    def filter_queryset(self, queryset):
        return service_queryset(describe(self.form.cleaned_data), queryset)


# -- the request as an immutable description, and the querysets built from it -----------


@dataclass(frozen=True)
class ServiceQuery:
    """What a request asks for, parsed and resolved (ids, not slugs). Immutable: the
    querysets are plain functions of it, so nothing depends on the order of calls."""

    search: str | None = None
    category_ids: frozenset[int] | None = None
    target_group_ids: frozenset[int] | None = None
    organization_ids: frozenset[int] | None = None
    age: int | None = None
    free: bool | None = None
    open_now: bool | None = None
    modified_since: datetime.datetime | None = None
    area_ids: frozenset[int] | None = None
    bbox: Polygon | None = None
    near: Near | None = None
    wheelchair: frozenset[str] | None = None

    @property
    def has_service_filters(self) -> bool:
        """Whether anything but the places narrows the published services."""
        return any(
            value is not None
            for value in (
                self.search,
                self.category_ids,
                self.target_group_ids,
                self.organization_ids,
                self.age,
                self.free,
                self.open_now,
                self.modified_since,
            )
        )

    @property
    def has_location_filters(self) -> bool:
        return any(
            value is not None for value in (self.area_ids, self.bbox, self.near, self.wheelchair)
        )

    def location_arguments(self) -> dict:
        return {
            "bbox": self.bbox,
            "near": (self.near.point, self.near.radius) if self.near else None,
            "area_ids": self.area_ids,
            "wheelchair": self.wheelchair,
        }


@functools.cache
def _query_form_class() -> type[forms.Form]:
    """The filter set's form class, built once per process: the filter set declares the
    parameters only (limits from settings are checked in ``describe``), and building it for
    every request (a copy of each filter, a form field and label for each) made parsing a
    near= request take 3.4 ms instead of 0.5 ms (load 7-8)."""
    return ServiceFilterSet().get_form_class()


def parse_service_query(data) -> ServiceQuery:
    """The description of the query parameters ``data``; a ``forms.ValidationError`` whose
    ``message_dict`` maps each bad parameter to its messages otherwise."""
    form = _query_form_class()(data)
    if not form.is_valid():
        raise forms.ValidationError(form.errors.as_data())
    return describe(form.cleaned_data)


def describe(cleaned: dict) -> ServiceQuery:
    """Resolve the cleaned parameters (slugs, keys and ids checked against the database)."""
    values: dict = {}
    for name, resolve in _RESOLVERS.items():
        value = cleaned.get(name)
        if value in (None, "", []):
            continue
        try:
            values.update(resolve(value, cleaned))
        except forms.ValidationError as exc:
            raise forms.ValidationError({name: exc.messages}) from None
    return ServiceQuery(**values)


def _search(value: str, cleaned: dict) -> dict:
    value = " ".join(value.split())
    # Like an empty box: "-", "…" or a byte-order mark search for nothing.
    return {"search": value} if search_words(value) else {}


def _categories(value: list[str], cleaned: dict) -> dict:
    ids: set[int] = set()
    for category in _resolve_slugs(Category, value, "category", "/api/v1/categories/"):
        ids |= category.descendant_ids()
    return {"category_ids": frozenset(ids)}


def _target_groups(value: list[str], cleaned: dict) -> dict:
    groups = _resolve_slugs(TargetGroup, value, "target_group", "/api/v1/target-groups/")
    return {"target_group_ids": frozenset(g.pk for g in groups)}


def _organizations(value: list[str], cleaned: dict) -> dict:
    if not all(item.isdigit() for item in value):
        raise forms.ValidationError(_("Expected organisation ids (whole numbers)."))
    ids = {int(item) for item in value}
    unknown = ids - set(Organization.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if unknown:
        raise forms.ValidationError(
            _("Unknown organisation id: %(ids)s (see /api/v1/organizations/).")
            % {"ids": ", ".join(str(i) for i in sorted(unknown)[:5])}
        )
    return {"organization_ids": frozenset(ids)}


def _age(value, cleaned: dict) -> dict:
    if value != int(value):
        raise forms.ValidationError(_("Expected a whole number."))
    return {"age": int(value)}


def _areas(value: list[str], cleaned: dict) -> dict:
    return {"area_ids": frozenset(Area.objects.descendant_ids(resolve_area_keys(value)))}


def _near(value: Point, cleaned: dict) -> dict:
    return {"near": Near(value, float(cleaned.get("radius") or DEFAULT_RADIUS))}


def _wheelchair(value: list[str], cleaned: dict) -> dict:
    allowed = {choice.value for choice in Location.Wheelchair}
    values = {"yes" if v.lower() == "true" else v.lower() for v in value}
    if values - allowed:
        raise forms.ValidationError(
            _("Allowed values: %(allowed)s.") % {"allowed": ", ".join(sorted(allowed))}
        )
    return {"wheelchair": frozenset(values)}


def _as(name: str):
    return lambda value, cleaned: {name: value}


_RESOLVERS = {
    "q": _search,
    "category": _categories,
    "target_group": _target_groups,
    "organization": _organizations,
    "age": _age,
    "free": _as("free"),
    "open_now": _as("open_now"),
    "modified_since": _as("modified_since"),
    "area": _areas,
    "bbox": _as("bbox"),
    "near": _near,
    "wheelchair": _wheelchair,
}


def service_queryset(query: ServiceQuery, services: ServiceQuerySet) -> ServiceQuerySet:
    """``services`` narrowed and ordered as ``query`` asks: nearest first with ``near``,
    best match first with a search, else by name."""
    if query.category_ids is not None:
        services = services.in_category_ids(query.category_ids)
    if query.target_group_ids is not None:
        services = services.for_target_group_ids(query.target_group_ids)
    if query.organization_ids is not None:
        services = services.filter(organization_id__in=query.organization_ids)
    if query.age is not None:
        services = services.for_age(query.age)
    if query.free is not None:
        services = services.filter(is_free=query.free)
    if query.open_now is not None:
        services = services.open_at(timezone.localtime(), is_open=query.open_now)
    if query.modified_since is not None:
        services = services.filter(updated_at__gte=query.modified_since)
    if query.search:
        services = services.search(query.search)
    if query.near:
        return services.nearest_first(query.near.point, matched_condition(query, "locations__"))
    if query.has_location_filters:
        services = services.offered_where(matched_condition(query, "location__"))
    if query.search:
        return services.order_by("-rank", "name", "pk")
    return services.order_by("name", "pk")


def location_queryset(query: ServiceQuery) -> QuerySet[Location]:
    """Locations satisfying every location-level filter of ``query`` (all if none)."""
    return Location.objects.matching(**query.location_arguments())


def matched_locations(query: ServiceQuery) -> QuerySet[Location] | None:
    """The locations a map or export should show: those the location filters matched, or
    ``None`` (every location of each service) without location filters."""
    return location_queryset(query) if query.has_location_filters else None


def matched_condition(query: ServiceQuery, prefix: str) -> Q | None:
    """``matched_locations`` as a condition on the location at ``prefix`` (see
    ``location_condition``), for a query that joins that location itself; ``None``
    without location filters."""
    if not query.has_location_filters:
        return None
    return location_condition(prefix, **query.location_arguments())
