import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from atlas.lookup.models import Responsibility
from planning_areas.address_search import street_key
from planning_areas.models import Address, Area, Layer, Street
from providers.models import (
    Category,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)


def square(x: float, y: float, size: float = 0.01) -> MultiPolygon:
    """A square MultiPolygon with its south-west corner at (x, y), in WGS84."""
    return MultiPolygon(
        Polygon(((x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y))), srid=4326
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])
        if create:
            self.save()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Kategorie {n}")
    slug = factory.Sequence(lambda n: f"kategorie-{n}")


class TargetGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetGroup
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Zielgruppe {n}")
    slug = factory.Sequence(lambda n: f"zielgruppe-{n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Träger {n} e.V.")
    kind = Organization.Kind.FREE


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Standort {n}")
    street = "Musterstraße"
    house_number = factory.Sequence(lambda n: str(n + 1))
    postcode = "10115"
    point = factory.LazyFunction(lambda: Point(13.4, 52.52, srid=4326))


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Angebot {n}")
    description = "Ein Angebot für Familien im Kiez."
    status = Service.Status.PUBLISHED
    last_verified = factory.LazyFunction(datetime.date.today)

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        for location in extracted or []:
            ServiceAtLocation.objects.create(service=self, location=location)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if extracted:
            self.categories.set(extracted)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Person {n}")
    role = "Sozialarbeit"
    phone = "030 123456"
    internal_phone = "030 999-1"
    visibility = Contact.Visibility.INTERNAL


class LayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Layer
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Gliederung {n}")
    slug = factory.Sequence(lambda n: f"gliederung-{n}")
    level = 1


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    layer = factory.SubFactory(LayerFactory)
    code = factory.Sequence(lambda n: f"{n:08d}")
    name = factory.Sequence(lambda n: f"Planungsraum {n}")
    geometry = factory.LazyFunction(lambda: square(13.39, 52.51, 0.02))


class ResponsibilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Responsibility

    contact = factory.SubFactory(ContactFactory)
    area = factory.SubFactory(AreaFactory)


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Street
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Musterstraße {n}")
    key = factory.LazyAttribute(lambda s: street_key(s.name))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    street = factory.SubFactory(StreetFactory)
    house_number = factory.Sequence(lambda n: n + 1)
    house_number_suffix = ""
    postcode = "10115"
    district = "Mitte"
    point = None
