"""Fictitious youth-office contacts for any municipality, clearly marked as demo data.

A profile's ``[demo_contacts]`` names the layers: one youth office with a public
child-protection hotline per area of ``offices_layer``, a public family-counselling
contact per area of ``counselling_layer`` and an internal social-services contact
per area of ``social_services_layer``, each responsible for its area.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from atlas.lookup.models import Responsibility
from planning_areas.models import Area
from providers.imports.writing import upsert_by_key
from providers.models import Category, Contact, Organization

DEMO_NOTE = "Fiktive Demo-Person – keine echten Kontaktdaten."
FIRST_NAMES = ["Alex", "Sascha", "Kim", "Robin", "Charlie", "Toni", "Luca", "Jona", "Maxi", "Sam"]
LAST_NAMES = ["Beispiel", "Muster", "Demo", "Platzhalter", "Probe", "Testmann", "Vorlage"]


def _demo_person(index: int) -> str:
    return f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index % len(LAST_NAMES)]} (Demo)"


@dataclass(frozen=True)
class DemoContacts:
    """Which layers get which fictitious contacts (a profile's ``[demo_contacts]``)."""

    offices_layer: str  # one youth office per area, with a public child-protection hotline
    counselling_layer: str  # a public family-counselling contact per area
    counselling_category: str
    social_services_layer: str  # an internal social-services contact per area
    phone_prefix: str = "0000"
    valid_from: datetime.date | None = None

    @classmethod
    def from_dict(cls, data: dict) -> DemoContacts:
        return cls(**data)


Wanted = list[tuple[str, dict, list[tuple[Area, Category | None]]]]


def _offices(areas: list[Area]) -> dict[int, Organization]:
    """A fictitious youth office per area of the offices layer, by area id."""
    offices, _result = upsert_by_key(
        Organization,
        {
            f"demo-jugendamt:{a.code}": {
                "name": f"Jugendamt {a.name} (Demo)",
                "kind": Organization.Kind.PUBLIC,
                "description": "Demo-Organisation: fiktives Jugendamt für Testzwecke.",
            }
            for a in areas
        },
    )
    return {a.pk: offices[f"demo-jugendamt:{a.code}"] for a in areas}


def _office_of(
    area: Area, offices: dict[int, Organization], parents: dict[int, int]
) -> Organization:
    """The office of the area's ancestor on the offices layer."""
    pk = area.pk
    while pk is not None and pk not in offices:
        pk = parents.get(pk)
    if pk is None:
        raise ValueError(f"Area {area.code} lies in no area of the offices layer.")
    return offices[pk]


def _wanted(spec: DemoContacts) -> Wanted:
    districts = list(Area.objects.filter(layer__slug=spec.offices_layer).order_by("code"))
    offices = _offices(districts)
    parents = dict(Area.objects.filter(parent__isnull=False).values_list("pk", "parent_id"))
    counselling = Category.objects.get(slug=spec.counselling_category)
    consent = datetime.date(2024, 1, 15)
    prefix = spec.phone_prefix
    wanted: Wanted = []
    for i, district in enumerate(districts):
        contact = {
            "name": f"Kinderschutz-Hotline {district.name} (Demo)",
            "role": "Kinderschutz-Hotline",
            "organization": offices[district.pk],
            "visibility": Contact.Visibility.PUBLIC,
            "publication_consent_date": consent,
            "phone": f"{prefix} 9999{i:02d}-100",
            "internal_phone": f"{prefix} 9999{i:02d}-199",
        }
        wanted.append((f"demo-kinderschutz:{district.code}", contact, [(district, None)]))
    areas = Area.objects.filter(layer__slug=spec.counselling_layer).order_by("code")
    for i, area in enumerate(areas):
        contact = {
            "name": _demo_person(i + 3),
            "role": f"Erziehungs- und Familienberatung {area.name}",
            "organization": _office_of(area, offices, parents),
            "visibility": Contact.Visibility.PUBLIC,
            "publication_consent_date": consent,
            "phone": f"{prefix} 9998{i:03d}-0",
            "internal_phone": f"{prefix} 9998{i:03d}-1",
        }
        wanted.append((f"demo-efb:{area.code}", contact, [(area, counselling)]))
    areas = Area.objects.filter(layer__slug=spec.social_services_layer).order_by("code")
    for i, area in enumerate(areas):
        contact = {
            "name": _demo_person(i),
            "role": f"Regionaler Sozialer Dienst – {area.name}",
            "organization": _office_of(area, offices, parents),
            "visibility": Contact.Visibility.INTERNAL,
            "publication_consent_date": None,
            "phone": "",
            "internal_phone": f"{prefix} 9997{i:03d}-0",
        }
        wanted.append((f"demo-rsd:{area.code}", contact, [(area, None)]))
    return wanted


def load_demo_contacts(data: dict) -> list[str]:
    """Fictitious youth-office contacts and responsibilities, clearly marked as demo data."""
    spec = DemoContacts.from_dict(data)
    created = changed = 0
    with transaction.atomic():
        for key, fields, responsibilities in _wanted(spec):
            contact = Contact.objects.filter(is_demo=True, email=_demo_email(key)).first()
            fields = {**fields, "email": _demo_email(key), "is_demo": True}
            if contact is None:
                contact = Contact.objects.create(**fields)
                created += 1
            elif any(getattr(contact, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(contact, k, v)
                contact.save()
                changed += 1
            for area, category in responsibilities:
                Responsibility.objects.get_or_create(
                    contact=contact,
                    area=area,
                    category=category,
                    defaults={"valid_from": spec.valid_from, "note": DEMO_NOTE},
                )
    count = Responsibility.objects.filter(contact__is_demo=True).count()
    return [f"demo contacts: {created} new, {changed} changed; responsibilities: {count}"]


def _demo_email(key: str) -> str:
    # The e-mail doubles as the stable key of a demo contact.
    return f"{slugify(key)}@demo.example"
