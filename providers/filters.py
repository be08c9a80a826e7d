"""The service filter shared by the REST API and the HTML pages.

``ServiceFilterSet`` is a plain django-filter FilterSet: DRF uses it through
``DjangoFilterBackend`` (invalid input becomes HTTP 400 keyed by the parameter
name), and a Django view uses it directly::

    filterset = ServiceFilterSet(request.GET, queryset=Service.objects.published())
    if not filterset.is_valid():
        ...  # filterset.errors maps each bad parameter to messages
    services = filterset.qs

Filters on a location (``bbox``, ``near``, ``area``, ``wheelchair``) must hold
for the same location of a service; ``filterset.location_queryset()`` returns the
matching locations so a map shows only the markers that matched.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import django_filters
from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point, Polygon
from django.db.models import QuerySet
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
    TargetGroup,
    location_condition,
    search_words,
)

MAX_QUERY_LENGTH = 200


def max_radius() -> int:
    """Largest allowed ``radius`` in metres (ATLAS_API_MAX_RADIUS_METRES)."""
    return int(getattr(settings, "ATLAS_API_MAX_RADIUS_METRES", 10_000))


DEFAULT_RADIUS = 2_000


class CommaListFilter(django_filters.Filter):
    field_class = CommaListField


class BBoxFilter(django_filters.Filter):
    field_class = BBoxField


class LonLatFilter(django_filters.Filter):
    field_class = LonLatField


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class DateOrDateTimeFilter(django_filters.Filter):
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
        method="filter_q",
        max_length=MAX_QUERY_LENGTH,
        help_text=_(
            "Full-text search (German stemming) in name and description, tolerant of typos "
            "and parts of compound words. At most 200 characters."
        ),
    )
    category = CommaListFilter(
        method="filter_category",
        help_text=_(
            "Category slugs or ids, comma-separated (at most 50); sub-categories are included."
        ),
    )
    target_group = CommaListFilter(
        method="filter_target_group",
        help_text=_("Target group slugs or ids, comma-separated (at most 50)."),
    )
    organization = CommaListFilter(
        method="filter_organization",
        help_text=_("Organisation ids, comma-separated (at most 50)."),
    )
    area = CommaListFilter(
        method="filter_area",
        help_text=_(
            "Planning areas as id or layer:code (e.g. bezirke:01), comma-separated; "
            "services in their child areas are included."
        ),
    )
    bbox = BBoxFilter(
        method="filter_bbox",
        help_text=_(
            "minlon,minlat,maxlon,maxlat in WGS84; min below max, at most "
            "ATLAS_API_MAX_BBOX_DEGREES (default 2) degrees wide and high."
        ),
    )
    near = LonLatFilter(
        method="filter_near",
        help_text=_(
            "LON,LAT in WGS84: only services within `radius` metres, sorted by distance; "
            "each feature carries its distance in metres."
        ),
    )
    radius = django_filters.NumberFilter(
        method="filter_noop",
        min_value=1,
        help_text=_(
            "Search radius in metres for `near`, 1 to ATLAS_API_MAX_RADIUS_METRES "
            "(default 10000); 2000 if omitted."
        ),
    )
    age = django_filters.NumberFilter(
        method="filter_age",
        min_value=0,
        max_value=120,
        help_text=_("An age in years (0–120): services whose age range includes it."),
    )
    free = StrictBooleanFilter(
        method="filter_free",
        help_text=_("true: only free services; false: only services with fees."),
    )
    wheelchair = CommaListFilter(
        method="filter_wheelchair",
        help_text=_(
            "Wheelchair access of the location: yes, limited, no, unknown (comma-separated); "
            "true means yes."
        ),
    )
    open_now = StrictBooleanFilter(
        method="filter_open_now",
        help_text=_(
            "true: services open at this moment by their opening hours; false: closed now "
            "or without opening hours."
        ),
    )
    modified_since = DateOrDateTimeFilter(
        method="filter_modified_since",
        help_text=_("ISO 8601 date or date-time: services changed at or after it."),
    )

    class Meta:
        model = Service
        fields: list[str] = []
        form = ServiceFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.location_filters: dict[str, object] = {}
        self.near: Near | None = None
        self.search: str | None = None

    # -- service-level filters ---------------------------------------------------------

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_q(self, queryset, name: str, value: str):
        value = " ".join(value.split())
        if not search_words(value):
            # Like an empty box: "-", "…" or a byte-order mark search for nothing.
            return queryset
        self.search = value
        return queryset.search(value)

    def filter_category(self, queryset, name: str, value: list[str]):
        try:
            categories = _resolve_slugs(Category, value, "category", "/api/v1/categories/")
        except forms.ValidationError as exc:
            raise _ParameterError(name, exc) from None
        ids: set[int] = set()
        for category in categories:
            ids |= category.descendant_ids()
        return queryset.in_category_ids(ids)

    def filter_target_group(self, queryset, name: str, value: list[str]):
        try:
            groups = _resolve_slugs(TargetGroup, value, "target_group", "/api/v1/target-groups/")
        except forms.ValidationError as exc:
            raise _ParameterError(name, exc) from None
        return queryset.for_target_group_ids({g.pk for g in groups})

    def filter_organization(self, queryset, name: str, value: list[str]):
        if not all(item.isdigit() for item in value):
            raise _ParameterError(
                name, forms.ValidationError(_("Expected organisation ids (whole numbers)."))
            )
        ids = {int(item) for item in value}
        known = set(Organization.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if ids - known:
            raise _ParameterError(
                name,
                forms.ValidationError(
                    _("Unknown organisation id: %(ids)s (see /api/v1/organizations/).")
                    % {"ids": ", ".join(str(i) for i in sorted(ids - known)[:5])}
                ),
            )
        return queryset.filter(organization_id__in=ids)

    def filter_age(self, queryset, name, value):
        if value != int(value):
            raise _ParameterError(name, forms.ValidationError(_("Expected a whole number.")))
        return queryset.for_age(int(value))

    def filter_free(self, queryset, name: str, value: bool):
        return queryset.filter(is_free=value)

    def filter_open_now(self, queryset, name: str, value: bool):
        return queryset.open_at(timezone.localtime(), is_open=value)

    def filter_modified_since(self, queryset, name: str, value: datetime.datetime):
        return queryset.filter(updated_at__gte=value)

    # -- location-level filters: collected, applied together in filter_queryset ---------

    def filter_area(self, queryset, name: str, value: list[str]):
        try:
            areas = resolve_area_keys(value)
        except forms.ValidationError as exc:
            raise _ParameterError(name, exc) from None
        self.location_filters["area_ids"] = Area.objects.descendant_ids(areas)
        return queryset

    def filter_bbox(self, queryset, name: str, value: Polygon):
        self.location_filters["bbox"] = value
        return queryset

    def filter_near(self, queryset, name: str, value: Point):
        radius = self.form.cleaned_data.get("radius") or DEFAULT_RADIUS
        self.near = Near(value, float(radius))
        self.location_filters["near"] = self.near
        return queryset

    def filter_wheelchair(self, queryset, name: str, value: list[str]):
        allowed = {choice.value for choice in Location.Wheelchair}
        values = {"yes" if v.lower() == "true" else v.lower() for v in value}
        if values - allowed:
            raise _ParameterError(
                name,
                forms.ValidationError(
                    _("Allowed values: %(allowed)s.") % {"allowed": ", ".join(sorted(allowed))}
                ),
            )
        self.location_filters["wheelchair"] = values
        return queryset

    def filter_queryset(self, queryset):
        self.location_filters = {}
        self.near = None
        self.search = None
        try:
            queryset = super().filter_queryset(queryset)
        except _ParameterError as exc:
            # Surface as a form error so DRF answers 400 and HTML views can show it.
            self.form.add_error(exc.name, exc.error)
            raise exc.as_validation_error() from None
        if self.near:
            return queryset.nearest_first(
                self.near.point, location_condition("locations__", **self._location_arguments())
            )
        if self.location_filters:
            queryset = queryset.with_location_in(self.location_queryset())
        if self.search:
            return queryset.order_by("-rank", "name", "pk")
        return queryset.order_by("name", "pk")

    def location_queryset(self) -> QuerySet[Location]:
        """Locations satisfying every location-level filter (all locations if none)."""
        return Location.objects.matching(**self._location_arguments())

    def _location_arguments(self) -> dict:
        f = self.location_filters
        return {
            "bbox": f.get("bbox"),
            "near": (f["near"].point, f["near"].radius) if "near" in f else None,
            "area_ids": f.get("area_ids"),
            "wheelchair": f.get("wheelchair"),
        }

    @property
    def has_location_filters(self) -> bool:
        return bool(self.location_filters)

    def is_valid(self) -> bool:
        """Validate the parameters, including those only checkable against the database."""
        if not super().is_valid():
            return False
        try:
            self.qs  # noqa: B018 - resolving slugs and keys may add errors
        except forms.ValidationError:
            return False
        return not self.form.errors


class _ParameterError(Exception):
    """A filter method's error, carried out of django-filter with its parameter name."""

    def __init__(self, name: str, error: forms.ValidationError):
        super().__init__(name)
        self.name = name
        self.error = error

    def as_validation_error(self) -> forms.ValidationError:
        return forms.ValidationError({self.name: self.error.messages})
