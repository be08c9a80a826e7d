"""Organisations (Träger), their services (Angebote), locations (Standorte) and contacts.

The entities follow Open Referral HSDS 3.0 (organization, service, location,
service_at_location, contact) so that a complete HSDS export is a mapping,
not a redesign. One module per entity; everything is importable from here, as
migrations and the other apps expect.
"""

# The editorial workflow's models live in providers/editorial.py; importing them registers them.
from ..editorial import PendingChange, ProblemReport, ServiceDeletion
from .common import ChoiceArrayField, Language, LegalBasis, TimeStamped
from .contacts import Contact, ContactQuerySet
from .features import ServiceFeature, ServiceFeatureQuerySet, ServiceMarker, ServiceMarkerQuerySet
from .locations import Location, LocationQuerySet, location_condition
from .organizations import Organization, OrganizationQuerySet
from .services import (
    MAX_SEARCH_WORDS,
    MAX_WORD_EXPANSIONS,
    SEARCH_CONFIG,
    SEARCH_EXPANSION_CACHE_SECONDS,
    SEARCH_WORD,
    SearchWord,
    SearchWordQuerySet,
    Service,
    ServiceAtLocation,
    ServiceQuerySet,
    not_verified_since,
    search_words,
    verified_limit,
)
from .taxonomy import Category, TargetGroup

__all__ = [
    "Category",
    "ChoiceArrayField",
    "Contact",
    "ContactQuerySet",
    "Language",
    "LegalBasis",
    "Location",
    "LocationQuerySet",
    "MAX_SEARCH_WORDS",
    "MAX_WORD_EXPANSIONS",
    "Organization",
    "OrganizationQuerySet",
    "PendingChange",
    "ProblemReport",
    "SEARCH_CONFIG",
    "SEARCH_EXPANSION_CACHE_SECONDS",
    "SEARCH_WORD",
    "search_words",
    "location_condition",
    "SearchWord",
    "SearchWordQuerySet",
    "Service",
    "ServiceAtLocation",
    "ServiceDeletion",
    "ServiceFeature",
    "ServiceFeatureQuerySet",
    "ServiceMarker",
    "ServiceMarkerQuerySet",
    "ServiceQuerySet",
    "TargetGroup",
    "TimeStamped",
    "not_verified_since",
    "verified_limit",
]
