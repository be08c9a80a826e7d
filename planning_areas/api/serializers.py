"""Serializers of the planning-area API; fields listed explicitly."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ..models import Area, Layer


class LayerSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    is_current = serializers.BooleanField(read_only=True)
    area_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Layer
        fields = (
            "id",
            "slug",
            "name",
            "level",
            "parent",
            "description",
            "valid_from",
            "valid_until",
            "is_current",
            "source",
            "licence",
            "area_count",
        )


class AreaRefSerializer(serializers.ModelSerializer):
    """An area named by id and official key (``layer:code``)."""

    layer = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    key = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = ("id", "layer", "code", "name", "key")

    def get_key(self, area: Area) -> str:
        return f"{area.layer.slug}:{area.code}"


class AreaPropertiesSerializer(serializers.Serializer):
    """Documentation of the properties PostgreSQL writes (see ``geojson.py``)."""

    id = serializers.IntegerField()
    layer = serializers.CharField(help_text=_("Slug of the layer."))
    code = serializers.CharField(help_text=_("Official key of the area."))
    key = serializers.CharField(help_text=_("layer:code, usable as `area=` filter on services."))
    name = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True, help_text=_("Id of the parent area."))
    population = serializers.IntegerField(allow_null=True)
    indicators = serializers.DictField(
        child=serializers.FloatField(),
        help_text=_("The newest value of each indicator, by indicator slug."),
    )


class AreaDetailPropertiesSerializer(AreaPropertiesSerializer):
    parent = AreaRefSerializer(allow_null=True)
    ancestors = AreaRefSerializer(many=True)
    children = AreaRefSerializer(many=True)


class GeoJSONMultiPolygonSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["MultiPolygon", "Polygon", "GeometryCollection"])
    coordinates = serializers.ListField(child=serializers.JSONField(), required=False)


class AreaFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = GeoJSONMultiPolygonSerializer(allow_null=True)
    properties = AreaPropertiesSerializer()


@extend_schema_serializer(many=False)
class AreaFeatureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    features = AreaFeatureSerializer(many=True)


class AreaDetailFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = GeoJSONMultiPolygonSerializer(allow_null=True)
    properties = AreaDetailPropertiesSerializer()
