"""``/api/v1/addresses/?q=``: search as you type in the address index."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.core.api_tools import LookupUsersOnly
from planning_areas.address_search import MAX_QUERY_LENGTH, QueryError, search_addresses

MAX_LIMIT = 20


class AddressSearchParameters(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH,
        allow_blank=False,
        trim_whitespace=True,
        help_text=_("What was typed: street, house number, postcode, district in any order."),
        error_messages={
            "required": _("Type a street and house number into q."),
            "blank": _("Type a street and house number into q."),
            "max_length": _("q is too long (at most {max_length} characters)."),
        },
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)


class AddressSuggestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["address", "street"],
        help_text=_("“street” when no house number was typed yet: complete the text with it."),
    )
    id = serializers.IntegerField(source="address_id", allow_null=True)
    label = serializers.CharField()
    street = serializers.CharField()
    house_number = serializers.IntegerField(allow_null=True)
    house_number_suffix = serializers.CharField()
    postcode = serializers.CharField()
    district = serializers.CharField()
    has_position = serializers.BooleanField()
    address_count = serializers.IntegerField()


class UnderstoodSerializer(serializers.Serializer):
    house_number = serializers.IntegerField(allow_null=True)
    suffix = serializers.CharField()
    postcode = serializers.CharField()
    districts = serializers.ListField(child=serializers.CharField())


class AddressSearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    understood = UnderstoodSerializer()
    results = AddressSuggestionSerializer(many=True)


class AddressSearchView(APIView):
    """Address suggestions for typed text, the exact address first.

    Tolerates ``Str.``/``Straße``/``Strasse``, ``ß``/``ss``, umlauts typed as
    ``ae/oe/ue`` or dropped, missing spaces and hyphens, ``12a``/``12 A``, a
    postcode or district anywhere, and small typos. Searches are not stored or
    logged. For the users of the caseworker lookup only.
    """

    permission_classes = [LookupUsersOnly]

    # POST, not GET: what a caseworker types is a family's address and must not land in a
    # URL, where access logs, proxies and the browser history keep it.
    @extend_schema(
        request=AddressSearchParameters,
        responses=AddressSearchResponseSerializer,
        tags=["lookup"],
    )
    def post(self, request):
        parameters = AddressSearchParameters(data=request.data)
        parameters.is_valid(raise_exception=True)
        try:
            result = search_addresses(
                parameters.validated_data["q"], limit=parameters.validated_data["limit"]
            )
        except QueryError as exc:
            raise ValidationError({"q": [str(exc)]}) from exc
        payload = {
            "count": len(result.suggestions),
            "message": result.message,
            "understood": {
                "house_number": result.query.house_number,
                "suffix": result.query.suffix,
                "postcode": result.query.postcode,
                "districts": result.query.districts,
            },
            "results": result.suggestions,
        }
        return Response(AddressSearchResponseSerializer(payload).data)
