"""Indicators and their values per layer, as JSON or GeoJSON."""

from __future__ import annotations

import json

from django import forms
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import F, Value
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from atlas.core.api_tools import GeoJSONRenderer, RawJSONRenderer, feature_collection
from atlas.core.forms import StrictBooleanField
from atlas.core.geojson import COORDINATE_PRECISION, SimplifyPreserveTopology

from ..indicator_values import values_on_layer
from ..models import Area, Indicator, Layer

MAX_SIMPLIFY = 0.01


class IndicatorSerializer(serializers.ModelSerializer):
    weight = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    numerator = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    denominator = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Indicator
        fields = (
            "slug",
            "name",
            "unit",
            "description",
            "source",
            "licence",
            "reference_date",
            "polarity",
            "aggregation",
            "weight",
            "numerator",
            "denominator",
            "scale",
            "age_from",
            "age_below",
            "value_labels",
        )


class IndicatorValueRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    label = serializers.CharField(help_text=_("The word for a coded value, else empty."))


class IndicatorValuesSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    layer = serializers.CharField()
    period = serializers.DateField(allow_null=True)
    aggregated_from = serializers.CharField(
        allow_null=True,
        help_text=_("Slug of the finer layer the values were combined from, if not stored."),
    )
    method = serializers.CharField(
        help_text=_(
            "How the values reached this layer: stored, nested or composed (exact),"
            " crosswalk_address_codes, crosswalk_address_points, crosswalk_area,"
            " crosswalk_mixed or point_on_surface (estimates)."
        )
    )
    method_label = serializers.CharField(help_text=_("The method in words, to show beside."))
    exact = serializers.BooleanField(help_text=_("False for estimates."))
    results = IndicatorValueRowSerializer(many=True)


class ValuesQueryForm(forms.Form):
    layer = forms.SlugField(max_length=80)
    simplify = forms.FloatField(required=False, min_value=0, max_value=MAX_SIMPLIFY)
    geometry = StrictBooleanField(required=False)

    def clean_layer(self):
        slug = self.cleaned_data["layer"]
        layer = Layer.objects.filter(slug=slug).first()
        if layer is None:
            raise forms.ValidationError(
                _("Unknown layer “%(slug)s”; see /api/v1/layers/ for the slugs."),
                params={"slug": slug},
            )
        return layer


class IndicatorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Indicators (Indikatoren): what each figure is, its source and how it aggregates."""

    serializer_class = IndicatorSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,80}"
    pagination_class = None
    filter_backends: list = []
    queryset = Indicator.objects.select_related("weight", "numerator", "denominator")

    @extend_schema(
        parameters=[
            OpenApiParameter("layer", OpenApiTypes.STR, required=True, description="Layer slug."),
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["json", "geojson"],
                description="geojson: a FeatureCollection with the areas' geometries.",
            ),
            OpenApiParameter(
                "simplify",
                OpenApiTypes.DOUBLE,
                description="GeoJSON: simplification tolerance in degrees, 0 to 0.01.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                IndicatorValuesSerializer,
                description="JSON; with format=geojson a FeatureCollection whose properties "
                "are code, name, value and label.",
            )
        },
    )
    @action(detail=True, renderer_classes=[RawJSONRenderer, GeoJSONRenderer])
    def values(self, request, slug=None):
        """The indicator's value in every area of a layer (stored, or combined from a finer
        layer by the indicator's aggregation rule)."""
        indicator = self.get_object()
        form = ValuesQueryForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        layer = form.cleaned_data["layer"]
        found = values_on_layer(indicator, layer)
        areas = Area.objects.filter(layer=layer).order_by("code")
        meta = {
            "indicator": indicator.slug,
            "layer": layer.slug,
            "period": found.period.isoformat() if found.period else None,
            "aggregated_from": found.source_layer.slug if found.source_layer else None,
            "method": found.method,
            "method_label": found.method_label,
            "exact": found.is_exact,
        }
        if request.accepted_renderer.format == "geojson":
            return Response(self._features(areas, found.values, indicator, form, meta))
        rows = [
            {
                "code": code,
                "name": name,
                "value": found.values.get(pk),
                "label": indicator.label(found.values.get(pk)),
            }
            for pk, code, name in areas.values_list("pk", "code", "name")
        ]
        return Response({**meta, "results": rows})

    def _features(self, areas, values, indicator, form, meta):
        simplify = form.cleaned_data.get("simplify")
        if form.cleaned_data.get("geometry") is False:
            geometry = Value(None, output_field=GeometryField())
            areas = areas.annotate(geojson=Value("null"))
        else:
            geometry = (
                SimplifyPreserveTopology(
                    "geometry", Value(float(simplify)), output_field=GeometryField(srid=4326)
                )
                if simplify
                else F("geometry")
            )
            areas = areas.annotate(geojson=AsGeoJSON(geometry, precision=COORDINATE_PRECISION))
        features = []
        for pk, code, name, text in areas.values_list("pk", "code", "name", "geojson"):
            value = values.get(pk)
            properties = json.dumps(
                {"code": code, "name": name, "value": value, "label": indicator.label(value)},
                ensure_ascii=False,
            )
            features.append(
                f'{{"type": "Feature", "id": {pk}, "geometry": {text or "null"}, '
                f'"properties": {properties}}}'
            )
        return feature_collection(features, **meta)
