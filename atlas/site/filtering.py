"""The public site's one entry point to the service filters shared with the REST API.

The filtering itself is ``providers.filters`` (parse_service_query, service_queryset); this
module only adapts the
HTML form's way of sending several values (repeated check boxes) to the API's way (one
comma-separated value) and drops the parameters that are page state, not filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from providers.filters import matched_locations, parse_service_query, service_queryset
from providers.models import Location, Service

# Check boxes in the filter form that may be ticked more than once.
LIST_PARAMETERS = ("category", "target_group", "wheelchair", "area", "organization")
# Parameters of the pages themselves (map layer, list page), not filters.
PAGE_PARAMETERS = ("page", "areas")


@dataclass
class FilterResult:
    services: QuerySet[Service]
    locations: QuerySet[Location] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    # False when only places (``locations``) narrow the published services: readers of
    # stored rows that know "published" themselves (the map's markers) skip ``services``.
    narrows_services: bool = True

    @property
    def narrowed_services(self) -> QuerySet[Service] | None:
        """``services`` if a filter other than the places narrows them, else None."""
        return self.services if self.narrows_services else None

    @property
    def is_valid(self) -> bool:
        return not self.errors


def api_parameters(params: QueryDict) -> QueryDict:
    """The request's filters as the API spells them."""
    result = params.copy()
    for name in PAGE_PARAMETERS:
        result.pop(name, None)
    for name in LIST_PARAMETERS:
        values = [v for value in result.getlist(name) for v in value.split(",") if v.strip()]
        if values:
            result.setlist(name, [",".join(values)])
        else:
            result.pop(name, None)
    return result


def filter_services(params: QueryDict) -> FilterResult:
    """Published services narrowed by the query parameters, exactly as the API narrows them.

    ``locations`` is set when a filter concerns the place (area, near, bbox, wheelchair):
    then only those locations of a service matched and only they belong on the map.
    """
    try:
        query = parse_service_query(api_parameters(params))
    except ValidationError as exc:
        errors = {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
        return FilterResult(services=Service.objects.none(), errors=errors)
    services = service_queryset(query, Service.objects.published())
    return FilterResult(
        services=services,
        locations=matched_locations(query),
        narrows_services=query.has_service_filters,
    )


def selected_values(params: QueryDict, name: str) -> list[str]:
    """Values of a list parameter, whether sent repeated or comma-separated."""
    return [v for value in params.getlist(name) for v in value.split(",") if v]
