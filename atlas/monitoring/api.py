"""/api/v1/coverage/: coverage (container or 2SFCA) per area with its gaps."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .accessibility import DECAYS
from .analysis import MAX_CATCHMENT, MEASURES, MIN_CATCHMENT, CoverageQueryForm, table_for
from .population import PopulationError


class FiguresSerializer(serializers.Serializer):
    services = serializers.IntegerField()
    places = serializers.FloatField(allow_null=True)
    residents = serializers.FloatField(allow_null=True)
    per_1000 = serializers.FloatField(allow_null=True)


class CoverageRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    services = serializers.IntegerField(required=False, help_text=_("container only"))
    places = serializers.FloatField(required=False, allow_null=True, help_text=_("container only"))
    residents = serializers.FloatField(allow_null=True, help_text=_("Residents of the group."))
    per_1000 = serializers.FloatField(
        allow_null=True, help_text=_("Places (or services) per 1,000 residents of the group.")
    )
    parent = FiguresSerializer(required=False, allow_null=True)
    gap = serializers.BooleanField()
    priority = serializers.BooleanField()
    need = serializers.FloatField(allow_null=True)


class CoverageSerializer(serializers.Serializer):
    layer = serializers.CharField()
    category = serializers.CharField()
    measure = serializers.ChoiceField(choices=MEASURES)
    supply = serializers.ChoiceField(choices=["places", "services"])
    population = serializers.DictField()
    city = serializers.DictField()
    gaps = serializers.DictField()
    catchment_m = serializers.FloatField(required=False, help_text=_("2sfca only"))
    decay = serializers.CharField(required=False, help_text=_("2sfca only"))
    demand = serializers.CharField(required=False, help_text=_("2sfca only"))
    results = CoverageRowSerializer(many=True)


class CoverageView(APIView):
    """Coverage (Versorgungsquote) of a category in every area of a layer.

    ``measure=container`` (default) counts services and places in each area from the
    stored location→area links; ``measure=2sfca`` is the two-step floating catchment
    area accessibility (places within the catchment distance, shared by the residents
    who can reach them). Without ``population`` the residents follow the category's age
    range (Kitas: children under 6). Every area says whether it is a gap (below the
    share of the city median) and a priority (need indicator worse than its median).
    """

    @extend_schema(
        parameters=[
            OpenApiParameter("layer", OpenApiTypes.STR, required=True, description="Layer slug."),
            OpenApiParameter(
                "category", OpenApiTypes.STR, required=True, description="Category slug."
            ),
            OpenApiParameter(
                "population",
                OpenApiTypes.STR,
                description="Slug of a count indicator (residents); default: the category's ages.",
            ),
            OpenApiParameter("measure", OpenApiTypes.STR, enum=list(MEASURES)),
            OpenApiParameter(
                "catchment",
                OpenApiTypes.INT,
                description=f"2sfca: catchment in metres, {MIN_CATCHMENT} to {MAX_CATCHMENT}.",
            ),
            OpenApiParameter("decay", OpenApiTypes.STR, enum=list(DECAYS)),
        ],
        responses={200: CoverageSerializer, 400: OpenApiResponse(description="Bad parameter.")},
    )
    def get(self, request):
        form = CoverageQueryForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        try:
            table = table_for(form)
        except PopulationError as exc:
            raise ValidationError({"population": [str(exc)]}) from exc
        return Response(table.data)
