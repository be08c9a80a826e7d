"""``/api/v1/lookup/``: address or point → areas, responsible contacts, nearby services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.core.api_tools import LookupUsersOnly
from atlas.core.roles import can_see_internal_contacts
from planning_areas.address_search import (
    MAX_QUERY_LENGTH,
    QueryError,
    search_addresses,
    street_key,
)
from planning_areas.api.addresses import AddressSuggestionSerializer
from providers.models import Category

from .queries import (
    MAX_SERVICE_LIMIT,
    LookupResult,
    find_address,
    lookup_address,
    lookup_point,
)


class LookupParameters(serializers.Serializer):
    address = serializers.CharField(
        required=False,
        max_length=MAX_QUERY_LENGTH,
        help_text=gettext_lazy("Address as typed; the best match is looked up."),
    )
    address_id = serializers.IntegerField(
        required=False, min_value=1, help_text=gettext_lazy("An id from /addresses/.")
    )
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    category = serializers.SlugField(
        required=False, help_text=gettext_lazy("Only contacts and services of this category.")
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_SERVICE_LIMIT)

    def validate_category(self, value: str) -> Category:
        category = Category.objects.filter(slug=value).first()
        if category is None:
            raise serializers.ValidationError(_("Unknown category “%(slug)s”.") % {"slug": value})
        return category

    def validate(self, attrs):
        has_point = "lat" in attrs or "lon" in attrs
        if has_point and not ("lat" in attrs and "lon" in attrs):
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: _("Give both lat and lon.")})
        given = [k for k in ("address", "address_id") if k in attrs] + (
            ["lat"] if has_point else []
        )
        if len(given) != 1:
            raise serializers.ValidationError(
                {"address": _("Give exactly one of address, address_id, or lat and lon.")}
            )
        return attrs


class LayerRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class AreaHitSerializer(serializers.Serializer):
    layer = LayerRefSerializer(source="area.layer")
    code = serializers.CharField(source="area.code")
    name = serializers.CharField(source="area.name")
    approximate = serializers.BooleanField()


class AddressSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    label = serializers.CharField()
    street = serializers.CharField(source="street.name")
    house_number = serializers.IntegerField(allow_null=True)
    house_number_suffix = serializers.CharField()
    postcode = serializers.CharField()
    district = serializers.CharField()
    has_position = serializers.SerializerMethodField()

    def get_has_position(self, address) -> bool:
        return address.point is not None


class PointSerializer(serializers.Serializer):
    lat = serializers.FloatField(source="y")
    lon = serializers.FloatField(source="x")


class ResponsibleContactSerializer(serializers.Serializer):
    name = serializers.CharField(source="contact.name")
    role = serializers.CharField(source="contact.role")
    organization = serializers.CharField(source="contact.organization.name")
    phone = serializers.CharField(source="contact.phone")
    email = serializers.CharField(source="contact.email")
    languages = serializers.ListField(source="contact.languages", child=serializers.CharField())
    area = serializers.CharField(source="area.name")
    area_code = serializers.CharField(source="area.code")
    layer = serializers.CharField(source="area.layer.name")
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    inherited = serializers.BooleanField(
        help_text=gettext_lazy("Responsible for a parent area, not the most specific one.")
    )


class ResponsibleInternalContactSerializer(ResponsibleContactSerializer):
    visibility = serializers.CharField(source="contact.visibility")
    internal_phone = serializers.CharField(source="contact.internal_phone")


class NearbyLocationSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField(source="point.y")
    lon = serializers.FloatField(source="point.x")


class NearbyServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="service.pk")
    name = serializers.CharField(source="service.name")
    organization = serializers.CharField(source="service.organization.name")
    phone = serializers.CharField(source="service.phone")
    website = serializers.CharField(source="service.website")
    categories = serializers.SerializerMethodField()
    location = NearbyLocationSerializer()
    distance_m = serializers.SerializerMethodField()

    def get_categories(self, nearby) -> list[str]:
        return [c.slug for c in nearby.service.categories.all()]

    def get_distance_m(self, nearby) -> int:
        return round(nearby.distance_m)


class LookupResponseSerializer(serializers.Serializer):
    match = serializers.ChoiceField(
        choices=["exact", "closest", "none", "point"],
        help_text=gettext_lazy("How the address text was matched; “point” for lat/lon."),
    )
    address = AddressSerializer(allow_null=True)
    point = PointSerializer(allow_null=True)
    approximate = serializers.BooleanField(
        help_text=gettext_lazy(
            "True when the address has no position: services and some areas are approximate."
        )
    )
    areas = AreaHitSerializer(many=True)
    missing_layers = LayerRefSerializer(many=True)
    contacts = ResponsibleContactSerializer(many=True)
    services = NearbyServiceSerializer(many=True)
    messages = serializers.ListField(child=serializers.CharField())
    suggestions = AddressSuggestionSerializer(many=True)


def serialize_lookup(result: LookupResult, *, user, match: str, suggestions=()) -> dict:
    contact_serializer = (
        ResponsibleInternalContactSerializer
        if can_see_internal_contacts(user)
        else ResponsibleContactSerializer
    )
    return {
        "match": match,
        "address": AddressSerializer(result.address).data if result.address else None,
        "point": PointSerializer(result.point).data if result.point else None,
        "approximate": result.approximate,
        "areas": AreaHitSerializer(result.areas, many=True).data,
        "missing_layers": LayerRefSerializer(result.missing_layers, many=True).data,
        "contacts": contact_serializer(result.contacts, many=True).data,
        "services": NearbyServiceSerializer(result.services, many=True).data,
        "messages": [str(m) for m in result.messages],
        "suggestions": AddressSuggestionSerializer(list(suggestions), many=True).data,
    }


def resolve_address_text(text: str):
    """The best address for typed text, whether it is exact, and the other suggestions."""
    result = search_addresses(text, limit=5)
    addresses = [s for s in result.suggestions if s.kind == "address"]
    if not addresses:
        message = result.message or _("Please add the house number.")
        return None, "none", result.suggestions, message
    best = addresses[0]
    parsed = result.query
    exact = (
        street_key(best.street) in parsed.street_keys
        and best.house_number == parsed.house_number
        and best.house_number_suffix == parsed.suffix
        and (not parsed.postcode or parsed.postcode == best.postcode)
    )
    return find_address(best.address_id), ("exact" if exact else "closest"), addresses[1:], ""


def run_lookup(params: dict, user) -> dict:
    """Run a lookup for validated :class:`LookupParameters`; shared by the API and the page."""
    options = {"user": user, "category": params.get("category")}
    if params.get("limit"):
        options["limit"] = params["limit"]
    if "lat" in params:
        point = Point(params["lon"], params["lat"], srid=settings.ATLAS_SRID)
        return serialize_lookup(lookup_point(point, **options), user=user, match="point")
    if "address_id" in params:
        address = find_address(params["address_id"])
        if address is None:
            raise ValidationError({"address_id": [_("No address with this id.")]})
        match, suggestions, message = "exact", [], ""
    else:
        try:
            address, match, suggestions, message = resolve_address_text(params["address"])
        except QueryError as exc:
            raise ValidationError({"address": [str(exc)]}) from exc
    if address is None:
        empty = serialize_lookup(LookupResult(), user=user, match="none", suggestions=suggestions)
        empty["messages"] = [message]
        return empty
    data = serialize_lookup(
        lookup_address(address, **options), user=user, match=match, suggestions=suggestions
    )
    if match == "closest":
        data["messages"].insert(
            0,
            _("No exact match; showing the closest address: %(label)s.") % {"label": address.label},
        )
    return data


class LookupView(APIView):
    """Areas, responsible contacts and nearby services for an address or a point.

    For caseworkers, editors and admins (who also see internal contacts with their
    internal phone numbers), like the lookup page. Lookups are not stored or logged.
    """

    permission_classes = [LookupUsersOnly]

    # POST, like the page and the suggestions: addresses and points stay out of URLs.
    @extend_schema(request=LookupParameters, responses=LookupResponseSerializer, tags=["lookup"])
    def post(self, request):
        parameters = LookupParameters(data=request.data)
        parameters.is_valid(raise_exception=True)
        return Response(run_lookup(parameters.validated_data, request.user))
