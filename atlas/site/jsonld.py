"""schema.org JSON-LD for a service page, so search engines understand what is offered where."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from providers.models import Contact, Location, Service


def _place(location: Location) -> dict:
    return {
        "@type": "Place",
        "name": location.name,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": " ".join(p for p in (location.street, location.house_number) if p),
            "postalCode": location.postcode,
            **({"addressLocality": location.city} if location.city else {}),
            "addressCountry": "DE",
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": round(location.point.y, 6),
            "longitude": round(location.point.x, 6),
        },
    }


def service_jsonld(
    request: HttpRequest, service: Service, locations: list[Location], contacts: list[Contact]
) -> dict:
    """A schema.org ``Service`` with its provider, places and public contact points."""
    provider = {"@type": "Organization", "name": service.organization.name}
    if service.organization.website:
        provider["url"] = service.organization.website
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Service",
        "@id": request.build_absolute_uri(reverse("atlas:service_detail", args=[service.pk])),
        "url": request.build_absolute_uri(reverse("atlas:service_detail", args=[service.pk])),
        "name": service.name,
        "provider": provider,
        "isAccessibleForFree": service.is_free,
    }
    if service.description:
        data["description"] = service.description
    categories = [c.name for c in service.categories.all()]
    if categories:
        data["serviceType"] = categories
    audiences = [t.name for t in service.target_groups.all()]
    if audiences:
        data["audience"] = [{"@type": "Audience", "audienceType": a} for a in audiences]
    if locations:
        data["availableChannel"] = [
            {"@type": "ServiceChannel", "serviceLocation": _place(location)}
            for location in locations
        ]
        if locations[0].city:
            data["areaServed"] = locations[0].city
    points = []
    for contact in contacts:
        point = {"@type": "ContactPoint", "name": contact.name}
        if contact.role:
            point["contactType"] = contact.role
        if contact.phone:
            point["telephone"] = contact.phone
        if contact.email:
            point["email"] = contact.email
        points.append(point)
    if service.phone or service.email:
        points.append(
            {
                "@type": "ContactPoint",
                **({"telephone": service.phone} if service.phone else {}),
                **({"email": service.email} if service.email else {}),
            }
        )
    if points:
        provider["contactPoint"] = points
    if service.website:
        data["sameAs"] = service.website
    return data
