"""Layers and areas: lists, an area by its official key, and point lookup (as mapit does)."""

from __future__ import annotations

import json

from django import forms
from django.db.models import Count, Value
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from atlas.core.api_tools import (
    PAGE_PARAMETERS,
    GeoJSONRenderer,
    RawJSON,
    RawJSONRenderer,
    feature_collection,
    page_links,
    parse_page,
)
from atlas.core.forms import LonLatField, StrictBooleanField
from atlas.core.geojson import JSONText

from .. import geojson
from ..models import Area, Layer
from ..point_lookup import features_at
from .serializers import (
    AreaDetailFeatureSerializer,
    AreaFeatureCollectionSerializer,
    AreaRefSerializer,
    LayerSerializer,
)

MAX_SIMPLIFY = 0.01  # degrees, about 1 km


class AreaQueryForm(forms.Form):
    layer = forms.SlugField(required=False, max_length=80)
    point = LonLatField(required=False)
    simplify = forms.FloatField(required=False, min_value=0, max_value=MAX_SIMPLIFY)
    geometry = StrictBooleanField(required=False)

    def clean_layer(self):
        slug = self.cleaned_data.get("layer")
        if slug and not Layer.objects.filter(slug=slug).exists():
            raise forms.ValidationError(
                _("Unknown layer “%(slug)s”; see /api/v1/layers/ for the slugs."),
                params={"slug": slug},
            )
        return slug or None


def _parse(request, fields: tuple[str, ...]) -> dict:
    form = AreaQueryForm(request.query_params)
    form.fields = {name: form.fields[name] for name in fields}
    if not form.is_valid():
        raise ValidationError(form.errors)
    return form.cleaned_data


LAYER_PARAMETER = OpenApiParameter(
    "layer", OpenApiTypes.STR, description="Slug of a layer (see /api/v1/layers/)."
)
POINT_PARAMETER = OpenApiParameter(
    "point",
    OpenApiTypes.STR,
    description="LON,LAT in WGS84: only areas containing this point, on every current layer.",
)
SIMPLIFY_PARAMETER = OpenApiParameter(
    "simplify",
    OpenApiTypes.DOUBLE,
    description="Simplification tolerance in degrees, 0 to 0.01 (topology preserved).",
)
GEOMETRY_PARAMETER = OpenApiParameter(
    "geometry",
    OpenApiTypes.BOOL,
    description="false leaves out the geometries (geometry: null) to keep responses small.",
)


class LayerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Layers (Gliederungen) of planning areas, coarsest first."""

    serializer_class = LayerSerializer
    lookup_field = "slug"
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return (
            Layer.objects.select_related("parent")
            .annotate(area_count=Count("areas"))
            .order_by("level", "name")
        )


class AreaViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Planning areas as GeoJSON; by default on every current layer."""

    renderer_classes = [RawJSONRenderer, GeoJSONRenderer]
    filter_backends: list = []
    pagination_class = None
    queryset = Area.objects.none()

    @extend_schema(
        parameters=[
            LAYER_PARAMETER,
            POINT_PARAMETER,
            SIMPLIFY_PARAMETER,
            GEOMETRY_PARAMETER,
            *PAGE_PARAMETERS,
        ],
        responses={200: AreaFeatureCollectionSerializer},
    )
    def list(self, request, *args, **kwargs):
        params = _parse(request, ("layer", "point", "simplify", "geometry"))
        page, size = parse_page(request)
        if params["point"] is not None and not params["layer"] and not params["simplify"]:
            return self._point_lookup(request, params, page, size)
        areas = Area.objects.all()
        if params["layer"]:
            areas = areas.filter(layer__slug=params["layer"])
        else:
            areas = areas.current()
        if params["point"] is not None:
            areas = areas.containing(params["point"])
        areas = areas.order_by("layer__level", "layer__slug", "code")
        start = (page - 1) * size
        features = geojson.area_features(
            areas[start : start + size],
            with_geometry=params["geometry"] is not False,
            simplify=params["simplify"] or None,
        )
        # A short first page is the whole answer (a point on one layer): no count query.
        count = len(features) if page == 1 and len(features) < size else areas.count()
        next_url, previous_url = page_links(request, page, size, count)
        return Response(
            feature_collection(features, count=count, next=next_url, previous=previous_url)
        )

    def _point_lookup(self, request, params: dict, page: int, size: int) -> Response:
        point = params["point"]
        found = features_at(point.x, point.y, with_geometry=params["geometry"] is not False)
        start = (page - 1) * size
        next_url, previous_url = page_links(request, page, size, len(found))
        return Response(
            feature_collection(
                found[start : start + size], count=len(found), next=next_url, previous=previous_url
            )
        )


class LayerAreaDetailView(APIView):
    """One area by its layer slug and official code, with its parent, ancestors and children."""

    renderer_classes = [RawJSONRenderer, GeoJSONRenderer]

    @extend_schema(
        parameters=[SIMPLIFY_PARAMETER, GEOMETRY_PARAMETER],
        responses={200: AreaDetailFeatureSerializer},
    )
    def get(self, request, slug: str, code: str):
        params = _parse(request, ("simplify", "geometry"))
        area = get_object_or_404(
            Area.objects.select_related("layer", "parent__layer").by_key(slug, code)
        )
        children = Area.objects.filter(parent=area).select_related("layer").order_by("code")
        ancestors = area.ancestors()
        for ancestor in ancestors:
            ancestor.layer  # noqa: B018 - loaded for the key
        refs = {
            "parent": AreaRefSerializer(area.parent).data if area.parent_id else None,
            "ancestors": AreaRefSerializer(ancestors, many=True).data,
            "children": AreaRefSerializer(children, many=True).data,
        }
        # The references go into the one area feature PostgreSQL builds (the geometry is
        # never parsed and printed again in Python).
        (feature_text,) = geojson.area_features(
            Area.objects.filter(pk=area.pk),
            with_geometry=params["geometry"] is not False,
            simplify=params["simplify"] or None,
            **{name: JSONText(Value(json.dumps(ref))) for name, ref in refs.items()},
        )
        return Response(RawJSON(feature_text))
