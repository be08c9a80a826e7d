"""Serializers of the provider API. Fields are always listed explicitly.

Public and internal contact serializers are separate classes: the internal ones
add ``internal_phone`` and ``visibility`` and are only chosen for users who may
see internal contacts (``atlas.core.roles.can_see_internal_contacts``).
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from .. import features
from ..models import (
    Category,
    Contact,
    Language,
    LegalBasis,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TargetGroup,
)


@extend_schema_field({"type": "string", "description": "An e-mail address, or empty."})
class OptionalEmailField(serializers.EmailField):
    """E-mail that may be blank; documented as a plain string (``format: email`` would
    reject the empty string that stands for “none”)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "description": "A web address, or empty."})
class OptionalURLField(serializers.URLField):
    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class BlankableFieldsSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.EmailField: OptionalEmailField,
        models.URLField: OptionalURLField,
    }


# -- taxonomies ---------------------------------------------------------------------------


class CategoryBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = features.CATEGORY_FIELDS


class CategoryTreeSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    children = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = (
            "id",
            "slug",
            "name",
            "description",
            "icon",
            "colour",
            "parent",
            "children",
        )

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_children(self, category: Category) -> list[dict]:
        by_parent = self.context.get("children_by_parent")
        children = (
            by_parent.get(category.pk, [])
            if by_parent is not None
            else list(category.children.all())
        )
        return CategoryTreeSerializer(children, many=True, context=self.context).data


class TargetGroupBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetGroup
        fields = features.TARGET_GROUP_FIELDS


class TargetGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetGroup
        fields = ("id", "slug", "name", "description")


# -- organisations, contacts, locations ---------------------------------------------------


class OrganizationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = features.ORGANIZATION_FIELDS


class OrganizationSerializer(BlankableFieldsSerializer):
    class Meta:
        model = Organization
        fields = ("id", "name", "kind", "description", "website", "email", "phone", "updated_at")
        read_only_fields = ("id", "updated_at")


class PublicEmbeddedContactSerializer(BlankableFieldsSerializer):
    """A public contact as embedded in a service."""

    class Meta:
        model = Contact
        fields = features.PUBLIC_CONTACT_FIELDS


class InternalEmbeddedContactSerializer(BlankableFieldsSerializer):
    """A contact as embedded in a service, for caseworkers: internal ones included."""

    class Meta:
        model = Contact
        fields = features.INTERNAL_CONTACT_FIELDS


class PublicContactSerializer(BlankableFieldsSerializer):
    class Meta:
        model = Contact
        fields = ("id", "name", "role", "phone", "email", "languages", "organization", "service")
        read_only_fields = fields


class InternalContactSerializer(BlankableFieldsSerializer):
    """Read and write serializer for caseworkers, editors and admins."""

    class Meta:
        model = Contact
        fields = (
            "id",
            "name",
            "role",
            "phone",
            "email",
            "languages",
            "organization",
            "service",
            "visibility",
            "internal_phone",
            "publication_consent_date",
        )
        read_only_fields = ("id",)

    def validate(self, attrs):
        instance = Contact(**{**self._current(), **attrs})
        try:
            instance.clean()
        except Exception as exc:  # django ValidationError → DRF ValidationError
            from django.core.exceptions import ValidationError as DjangoValidationError

            if isinstance(exc, DjangoValidationError):
                raise serializers.ValidationError(exc.message_dict) from None
            raise
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            name: getattr(self.instance, name)
            for name in ("organization", "service", "visibility", "publication_consent_date")
        }


class LocationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = features.LOCATION_FIELDS


POINT_SCHEMA = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "example": [10.45, 51.16],
        },
    },
}


@extend_schema_field(POINT_SCHEMA)
class PointField(serializers.Field):
    """A GeoJSON Point in WGS84; anything else is a 400 naming the field."""

    default_error_messages = {
        "invalid": _(
            "Expected a GeoJSON Point in WGS84, "
            # Doubled braces: DRF formats error messages with str.format.
            'e.g. {{"type": "Point", "coordinates": [10.45, 51.16]}}.'
        ),
        "srid": _("Only WGS84 (EPSG:4326) coordinates are accepted."),
        "range": _("Longitude must lie between -180 and 180, latitude between -90 and 90."),
    }

    def to_representation(self, value: Point) -> dict:
        return {"type": "Point", "coordinates": [round(value.x, 6), round(value.y, 6)]}

    def to_internal_value(self, data) -> Point:
        if not isinstance(data, dict) or data.get("type") != "Point":
            self.fail("invalid")
        crs = data.get("crs")
        if crs is not None:
            name = (
                str((crs.get("properties") or {}).get("name", "")) if isinstance(crs, dict) else ""
            )
            if not (name.endswith("4326") or name.endswith("CRS84")):
                self.fail("srid")
        coordinates = data.get("coordinates")
        if (
            not isinstance(coordinates, list)
            or len(coordinates) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
        ):
            self.fail("invalid")
        lon, lat = (float(c) for c in coordinates)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            self.fail("range")
        point = GEOSGeometry(f"POINT({lon!r} {lat!r})", srid=4326)
        if not point.valid:
            self.fail("invalid")
        return point


class LocationSerializer(GeoFeatureModelSerializer):
    point = PointField()

    class Meta:
        model = Location
        geo_field = "point"
        fields = (
            "id",
            "organization",
            "name",
            "street",
            "house_number",
            "postcode",
            "city",
            "wheelchair",
            "is_outside_areas",
            "updated_at",
        )
        read_only_fields = ("id", "is_outside_areas", "updated_at")


# -- services -----------------------------------------------------------------------------


class ServiceLocationSerializer(LocationBriefSerializer):
    """Documentation only: a location inside a service detail."""

    point = PointField()

    class Meta(LocationBriefSerializer.Meta):
        fields = (*LocationBriefSerializer.Meta.fields, "point")


class ServicePropertiesSerializer(serializers.Serializer):
    """Documentation of the properties PostgreSQL writes (see ``geojson.py``)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    organization = OrganizationBriefSerializer()
    categories = CategoryBriefSerializer(many=True)
    target_groups = TargetGroupBriefSerializer(many=True)
    min_age = serializers.IntegerField(allow_null=True)
    max_age = serializers.IntegerField(allow_null=True)
    languages = serializers.ListField(child=serializers.ChoiceField(choices=Language.choices))
    is_free = serializers.BooleanField()
    fees = serializers.CharField(allow_blank=True)
    opening_hours = serializers.CharField(
        allow_blank=True, help_text=_("OpenStreetMap opening_hours syntax.")
    )
    website = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    contacts = PublicEmbeddedContactSerializer(
        many=True,
        help_text=_("Public contacts; caseworkers also get internal ones with internal_phone."),
    )
    last_verified = serializers.DateField(allow_null=True)
    is_stale = serializers.BooleanField(
        help_text=_("Not verified within ATLAS_VERIFICATION_MAX_AGE_DAYS (default 365).")
    )
    updated_at = serializers.DateTimeField()


class ServiceListPropertiesSerializer(ServicePropertiesSerializer):
    location = LocationBriefSerializer()
    distance = serializers.FloatField(
        required=False, help_text=_("Metres from `near`; only present with `near`.")
    )


class ServiceDetailPropertiesSerializer(ServicePropertiesSerializer):
    locations = ServiceLocationSerializer(many=True)


class GeoJSONPointSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class GeoJSONGeometrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point", "MultiPoint"])
    coordinates = serializers.ListField(child=serializers.JSONField())


class ServiceFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField(help_text=_("Id of the service-at-location link."))
    geometry = GeoJSONPointSerializer()
    properties = ServiceListPropertiesSerializer()


@extend_schema_serializer(many=False)
class ServiceFeatureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    count = serializers.IntegerField(help_text=_("Number of services matching the filters."))
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    features = ServiceFeatureSerializer(many=True)


class ServiceExportSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = ServiceFeatureSerializer(many=True)


class ServiceDetailFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField(help_text=_("Id of the service."))
    geometry = GeoJSONGeometrySerializer(allow_null=True)
    properties = ServiceDetailPropertiesSerializer()


class ServiceWriteSerializer(BlankableFieldsSerializer):
    """Create and update services. Categories and target groups by slug."""

    categories = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), many=True, required=False
    )
    target_groups = serializers.SlugRelatedField(
        slug_field="slug", queryset=TargetGroup.objects.all(), many=True, required=False
    )
    locations = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), many=True, required=False
    )
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=Language.choices), required=False
    )
    legal_basis = serializers.ListField(
        child=serializers.ChoiceField(choices=LegalBasis.choices), required=False
    )

    class Meta:
        model = Service
        fields = (
            "id",
            "organization",
            "name",
            "description",
            "categories",
            "target_groups",
            "locations",
            "min_age",
            "max_age",
            "languages",
            "is_free",
            "fees",
            "legal_basis",
            "opening_hours",
            "website",
            "email",
            "phone",
            "status",
            "valid_from",
            "valid_until",
            "last_verified",
            "updated_at",
        )
        read_only_fields = ("id", "updated_at")

    def validate(self, attrs):
        from django.core.exceptions import ValidationError as DjangoValidationError

        plain = {
            k: v for k, v in attrs.items() if k not in ("categories", "target_groups", "locations")
        }
        candidate = Service(**{**self._current(), **plain})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        locations = attrs.get("locations")
        organization = attrs.get("organization") or getattr(self.instance, "organization", None)
        if locations and organization is not None:
            foreign = [
                loc.pk for loc in locations if loc.organization_id not in (None, organization.pk)
            ]
            if foreign:
                raise serializers.ValidationError(
                    {"locations": _("Locations must belong to the service's organisation.")}
                )
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            name: getattr(self.instance, name)
            for name in ("min_age", "max_age", "valid_from", "valid_until", "is_free", "fees")
        }

    def create(self, validated_data):
        return self._save(Service(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)

    def _save(self, service: Service, data: dict) -> Service:
        from django.db import transaction

        relations = {
            k: data.pop(k) for k in ("categories", "target_groups", "locations") if k in data
        }
        with transaction.atomic():
            for name, value in data.items():
                setattr(service, name, value)
            service.save()
            if "categories" in relations:
                service.categories.set(relations["categories"])
            if "target_groups" in relations:
                service.target_groups.set(relations["target_groups"])
            if "locations" in relations:
                wanted = {loc.pk for loc in relations["locations"]}
                ServiceAtLocation.objects.filter(service=service).exclude(
                    location_id__in=wanted
                ).delete()
                existing = set(
                    ServiceAtLocation.objects.filter(service=service).values_list(
                        "location_id", flat=True
                    )
                )
                for pk in wanted - existing:
                    ServiceAtLocation.objects.create(service=service, location_id=pk)
        return service
