"""Open Referral HSDS 3.0 export: the atlas's public data as HSDS tables.

Tables: organizations, services, locations, addresses, service_at_locations, contacts,
phones, schedules, languages, taxonomies, taxonomy_terms and attributes (the links of
services to taxonomy terms). Identifiers are UUIDs derived from the atlas's own keys
(UUID 5), so they stay the same from one export to the next. Only public data goes out:
published services and public contacts, never internal phone numbers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from .models import Category, Contact, Language, Location, Organization, Service

NAMESPACE = uuid.UUID("6f1d1a53-1d0b-4c57-9a55-3a0f5d1c2b7e")  # the atlas's HSDS namespace
TABLES = (
    "organizations",
    "services",
    "locations",
    "addresses",
    "service_at_locations",
    "contacts",
    "phones",
    "schedules",
    "languages",
    "taxonomies",
    "taxonomy_terms",
    "attributes",
)
SCHEMA_OF = {
    "organizations": "organization",
    "services": "service",
    "locations": "location",
    "addresses": "address",
    "service_at_locations": "service_at_location",
    "contacts": "contact",
    "phones": "phone",
    "schedules": "schedule",
    "languages": "language",
    "taxonomies": "taxonomy",
    "taxonomy_terms": "taxonomy_term",
    "attributes": "attribute",
}
STATUS = {
    Service.Status.PUBLISHED: "active",
    Service.Status.DRAFT: "inactive",
    Service.Status.ARCHIVED: "defunct",
}
DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
RULE = re.compile(
    r"^(?P<days>(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
    r"(?:\s*,\s*(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(?:Mo|Tu|We|Th|Fr|Sa|Su))?)*)"
    r"\s+(?P<times>\d{2}:\d{2}-\d{2}:\d{2}(?:\s*,\s*\d{2}:\d{2}-\d{2}:\d{2})*)$"
)


def hsds_id(kind: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def _clean(record: dict) -> dict:
    """HSDS leaves unknown values out rather than sending empty strings or nulls."""
    return {k: v for k, v in record.items() if v not in (None, "", [])}


def _days(spec: str) -> list[str]:
    days: list[str] = []
    for part in re.split(r"\s*,\s*", spec):
        if "-" in part:
            first, last = (DAYS.index(p.strip()) for p in part.split("-"))
            days.extend(
                DAYS[first : last + 1] if first <= last else DAYS[first:] + DAYS[: last + 1]
            )
        else:
            days.append(part.strip())
    return days


def opening_hours_to_schedules(opening_hours: str) -> list[dict] | None:
    """Weekly RRULE rows for simple OpenStreetMap opening hours, or None if too complex.

    “Mo-Fr 09:00-17:00; Sa 10:00-14:00” becomes one row per rule and time span;
    holidays, exceptions and months are kept as text (HSDS ``description``).
    """
    rows = []
    for rule in (r.strip() for r in opening_hours.split(";") if r.strip()):
        match = RULE.match(rule)
        if not match:
            return None
        byday = ",".join(d.upper() for d in _days(match["days"]))
        for span in re.split(r"\s*,\s*", match["times"]):
            opens, closes = span.split("-")
            rows.append(
                {
                    "freq": "WEEKLY",
                    "wkst": "MO",
                    "byday": byday,
                    "opens_at": opens,
                    "closes_at": closes,
                }
            )
    return rows or None


def _services(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("organization").prefetch_related(
        "categories",
        Prefetch("locations", Location.objects.order_by("pk")),
        Prefetch("contacts", Contact.objects.public().order_by("pk")),
    )


def build(services: QuerySet | None = None) -> dict[str, list[dict]]:
    """All HSDS tables for ``services`` (default: every published service)."""
    services = _services(services if services is not None else Service.objects.published())
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    organizations: dict[int, Organization] = {}
    locations: dict[int, Location] = {}
    categories: set[int] = set()
    language_names = dict(Language.choices)

    for service in services.order_by("pk"):
        sid = hsds_id("service", service.pk)
        organizations[service.organization_id] = service.organization
        tables["services"].append(
            {"name": service.name}  # required by HSDS, even when a source left it empty
            | _clean(
                {
                    "id": sid,
                    "organization_id": hsds_id("organization", service.organization_id),
                    "name": service.name,
                    "description": service.description,
                    "url": service.website,
                    "email": service.email,
                    "status": STATUS[service.status],
                    "fees_description": service.fees if not service.is_free else "kostenfrei",
                    "minimum_age": service.min_age,
                    "maximum_age": service.max_age,
                    "assured_date": service.last_verified.isoformat()
                    if service.last_verified
                    else None,
                }
            )
        )
        if service.phone:
            tables["phones"].append(
                {
                    "id": hsds_id("service-phone", service.pk),
                    "service_id": sid,
                    "number": service.phone,
                    "type": "voice",
                }
            )
        for code in service.languages:
            tables["languages"].append(
                {
                    "id": hsds_id("service-language", f"{service.pk}:{code}"),
                    "service_id": sid,
                    "code": code,
                    "name": str(language_names.get(code, code)),
                }
            )
        if service.opening_hours:
            rules = opening_hours_to_schedules(service.opening_hours) or [{}]
            for index, rule in enumerate(rules):
                tables["schedules"].append(
                    {
                        "id": hsds_id("schedule", f"{service.pk}:{index}"),
                        "service_id": sid,
                        "description": service.opening_hours,
                        **rule,
                    }
                )
        for category in service.categories.all():
            categories.add(category.pk)
            tables["attributes"].append(
                {
                    "id": hsds_id("attribute", f"{service.pk}:{category.pk}"),
                    "link_id": sid,
                    "link_type": "service_type",
                    "link_entity": "service",
                    "taxonomy_term_id": hsds_id("category", category.pk),
                }
            )
        for location in service.locations.all():
            locations[location.pk] = location
            tables["service_at_locations"].append(
                {
                    "id": hsds_id("service_at_location", f"{service.pk}:{location.pk}"),
                    "service_id": sid,
                    "location_id": hsds_id("location", location.pk),
                }
            )
        for contact in service.contacts.all():
            tables["contacts"].extend(_contact(contact))
            tables["phones"].extend(_contact_phones(contact))

    # Public contacts not tied to a service (e.g. a youth office's hotline) go out with
    # their organisation, even one that runs no service itself.
    for contact in (
        Contact.objects.public()
        .filter(service__isnull=True)
        .select_related("organization")
        .order_by("pk")
    ):
        organizations.setdefault(contact.organization_id, contact.organization)
        tables["contacts"].extend(_contact(contact))
        tables["phones"].extend(_contact_phones(contact))

    for organization in sorted(organizations.values(), key=lambda o: o.pk):
        oid = hsds_id("organization", organization.pk)
        tables["organizations"].append(
            {
                "id": oid,
                "name": organization.name,
                # HSDS requires a description; an empty one is allowed.
                "description": organization.description,
                **_clean({"email": organization.email, "website": organization.website}),
            }
        )
        if organization.phone:
            tables["phones"].append(
                {
                    "id": hsds_id("organization-phone", organization.pk),
                    "organization_id": oid,
                    "number": organization.phone,
                    "type": "voice",
                }
            )
    for location in sorted(locations.values(), key=lambda loc: loc.pk):
        lid = hsds_id("location", location.pk)
        tables["locations"].append(
            _clean(
                {
                    "id": lid,
                    "location_type": "physical",
                    "organization_id": hsds_id("organization", location.organization_id)
                    if location.organization_id
                    else None,
                    "name": location.name,
                    "latitude": round(location.point.y, 7),
                    "longitude": round(location.point.x, 7),
                    "external_identifier": location.external_id,
                }
            )
        )
        if location.street:
            tables["addresses"].append(
                {
                    "id": hsds_id("address", location.pk),
                    "location_id": lid,
                    "address_1": " ".join(p for p in (location.street, location.house_number) if p),
                    "city": location.city,
                    # Required by HSDS; empty where the operator has not named the state.
                    "state_province": settings.ATLAS_STATE,
                    "postal_code": location.postcode,
                    "country": "DE",
                    "address_type": "physical",
                }
            )
    tables["taxonomies"].append(
        {
            "id": hsds_id("taxonomy", "categories"),
            "name": "Sozialraum-Atlas",
            "description": "Kategorien des Sozialraum-Atlas",
            "version": "1",
        }
    )
    wanted = _with_ancestors(categories)
    for category in Category.objects.filter(pk__in=wanted).order_by("pk"):
        tables["taxonomy_terms"].append(
            _clean(
                {
                    "id": hsds_id("category", category.pk),
                    "code": category.slug,
                    "name": category.name,
                    "description": category.description,
                    "parent_id": hsds_id("category", category.parent_id)
                    if category.parent_id
                    else None,
                    "taxonomy": "Sozialraum-Atlas",
                    "taxonomy_id": hsds_id("taxonomy", "categories"),
                    "language": "de",
                }
            )
            | {"description": category.description}
        )
    return tables


def _with_ancestors(ids: set[int]) -> set[int]:
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    result = set()
    for pk in ids:
        while pk is not None and pk not in result:
            result.add(pk)
            pk = parents.get(pk)
    return result


def _contact(contact: Contact) -> Iterator[dict]:
    yield _clean(
        {
            "id": hsds_id("contact", contact.pk),
            "organization_id": hsds_id("organization", contact.organization_id),
            "service_id": hsds_id("service", contact.service_id) if contact.service_id else None,
            "name": contact.name,
            "title": contact.role,
            "email": contact.email,
        }
    )


def _contact_phones(contact: Contact) -> Iterator[dict]:
    # Only the public number: the internal line never leaves the atlas.
    if contact.phone:
        yield {
            "id": hsds_id("contact-phone", contact.pk),
            "contact_id": hsds_id("contact", contact.pk),
            "number": contact.phone,
            "type": "voice",
        }
