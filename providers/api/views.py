"""Viewsets of the provider API: services (GeoJSON), organisations, locations, contacts,
categories and target groups. Views parse input and render; queries live in models,
filters in ``providers.filters``, GeoJSON assembly in ``providers.features``."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from atlas.core.api_tools import (
    CSVRenderer,
    GeoJSONRenderer,
    RawJSON,
    RawJSONRenderer,
    StrictGeoJSONPagination,
    StrictPageNumberPagination,
    feature_collection,
    page_links,
    parse_page,
)
from atlas.core.compression import streaming_download
from atlas.core.roles import can_see_internal_contacts

from .. import export_files, exports, service_pages
from .. import features as service_features
from ..filters import (
    ServiceFilterSet,
    ServiceQuery,
    matched_locations,
    parse_service_query,
    service_queryset,
)
from ..models import Category, Contact, Location, Organization, Service, TargetGroup
from ..rules import can_edit_everything
from .permissions import ReadAnyoneWriteByRules
from .serializers import (
    CategoryTreeSerializer,
    InternalContactSerializer,
    LocationSerializer,
    OrganizationSerializer,
    PublicContactSerializer,
    ServiceDetailFeatureSerializer,
    ServiceExportSerializer,
    ServiceFeatureCollectionSerializer,
    ServiceWriteSerializer,
    TargetGroupSerializer,
)
from .writes import ReviewedWritesMixin

SERVICE_PAGE_SIZE = 100


def parsed_query(request) -> ServiceQuery:
    """The request's filter parameters as a description; a 400 naming each bad one."""
    try:
        return parse_service_query(request.query_params)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from None


@extend_schema_view(
    list=extend_schema(
        summary=_("Services as GeoJSON, one feature per location"),
        responses={200: ServiceFeatureCollectionSerializer},
    ),
    retrieve=extend_schema(
        summary=_("One service as a GeoJSON Feature"),
        responses={200: ServiceDetailFeatureSerializer},
    ),
    create=extend_schema(summary=_("Create a service")),
    update=extend_schema(summary=_("Replace a service")),
    partial_update=extend_schema(summary=_("Change a service")),
    destroy=extend_schema(summary=_("Delete a service")),
)
class ServiceViewSet(ReviewedWritesMixin, viewsets.ModelViewSet):
    """Published services. Reading is keyless; writing needs the organisation's rights."""

    queryset = Service.objects.all()
    serializer_class = ServiceWriteSerializer
    permission_classes = [ReadAnyoneWriteByRules]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ServiceFilterSet
    pagination_class = StrictPageNumberPagination

    def get_renderers(self):
        if self.action in ("list", "retrieve", "export_geojson"):
            return [RawJSONRenderer(), GeoJSONRenderer()]
        if self.action == "export_csv":
            # JSON stays acceptable so that a 400 can still be read.
            return [CSVRenderer(), RawJSONRenderer()]
        return super().get_renderers()

    def get_queryset(self):
        if self.action in ("list", "export_csv", "export_geojson"):
            return Service.objects.published()
        return Service.objects.visible_to(self.request.user)

    def list(self, request, *args, **kwargs):
        query = parsed_query(request)
        page, size = parse_page(request, SERVICE_PAGE_SIZE)
        start = (page - 1) * size
        # The list is of published services (get_queryset), as service_pages reads them.
        features, count = service_pages.page(
            query, start, size, internal=can_see_internal_contacts(request.user)
        )
        next_url, previous_url = page_links(request, page, size, count)
        return Response(
            feature_collection(
                [features] if features else [], count=count, next=next_url, previous=previous_url
            )
        )

    def retrieve(self, request, *args, **kwargs):
        service = self.get_object()
        text = service_features.detail_feature(
            service.pk, internal=can_see_internal_contacts(request.user)
        )
        if text is None:
            raise Http404
        return Response(RawJSON(text))

    @extend_schema(
        summary=_("Filtered services as CSV (one row per location)"),
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="text/csv")},
    )
    def export_csv(self, request):
        query = parsed_query(request)
        if query == ServiceQuery():
            return export_files.csv_response(request, self.get_queryset())
        return streaming_download(
            request,
            exports.service_csv_lines(
                service_queryset(query, self.get_queryset()),
                locations=matched_locations(query),
            ),
            content_type="text/csv; charset=utf-8",
            filename="angebote.csv",
        )

    @extend_schema(
        summary=_("Filtered services as a complete GeoJSON download"),
        responses={200: ServiceExportSerializer},
    )
    def export_geojson(self, request):
        query = parsed_query(request)
        internal = can_see_internal_contacts(request.user)
        if query == ServiceQuery() and not internal:
            return export_files.geojson_response(request, self.get_queryset())
        features = service_features.export_features(
            service_queryset(query, self.get_queryset()),
            locations=matched_locations(query),
            near=query.near.point if query.near else None,
            internal=internal,
        )
        return streaming_download(
            request,
            exports.feature_collection_chunks(features),
            content_type="application/geo+json",
            filename="angebote.geojson",
        )


class OrganizationViewSet(ReviewedWritesMixin, viewsets.ModelViewSet):
    """Organisations (Träger). The public sees those with published services."""

    serializer_class = OrganizationSerializer
    permission_classes = [ReadAnyoneWriteByRules]
    pagination_class = StrictPageNumberPagination
    filter_backends: list = []

    def get_queryset(self):
        return Organization.objects.visible_to(self.request.user).order_by("name", "pk")


class LocationViewSet(ReviewedWritesMixin, viewsets.ModelViewSet):
    """Locations (Standorte) as GeoJSON. The public sees those offering published services."""

    serializer_class = LocationSerializer
    permission_classes = [ReadAnyoneWriteByRules]
    pagination_class = StrictGeoJSONPagination
    filter_backends: list = []

    def get_queryset(self):
        return Location.objects.visible_to(self.request.user).order_by("name", "pk")


class ContactViewSet(ReviewedWritesMixin, viewsets.ModelViewSet):
    """Contact persons. Anonymous users see public ones; caseworkers also internal ones
    with their internal phone numbers (a separate serializer)."""

    permission_classes = [ReadAnyoneWriteByRules]
    pagination_class = StrictPageNumberPagination
    filter_backends: list = []

    def get_queryset(self):
        user = self.request.user
        contacts = Contact.objects.visible_to(user)
        if self.request.method not in SAFE_METHODS and user.is_authenticated:
            # Writers reach their organisations' internal contacts too; rules decide the rest.
            if can_edit_everything.test(user):
                contacts = Contact.objects.all()
            else:
                contacts = Contact.objects.filter(
                    Q(pk__in=contacts.values("pk")) | Q(organization__editors=user)
                ).distinct()
        return contacts.order_by("name", "pk")

    def get_serializer_class(self):
        if self.request is not None and (
            can_see_internal_contacts(self.request.user)
            or self.request.method not in ("GET", "HEAD", "OPTIONS")
        ):
            return InternalContactSerializer
        return PublicContactSerializer


@extend_schema_view(
    list=extend_schema(summary=_("The category tree (top-level categories with children)"))
)
class CategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Service categories as a tree; ``category=`` filters include sub-categories."""

    serializer_class = CategoryTreeSerializer
    lookup_field = "slug"
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return Category.objects.order_by("sort_order", "name")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        by_parent: dict[int, list[Category]] = {}
        for category in Category.objects.order_by("sort_order", "name"):
            by_parent.setdefault(category.parent_id, []).append(category)
        context["children_by_parent"] = by_parent
        return context

    def list(self, request, *args, **kwargs):
        context = self.get_serializer_context()
        roots = context["children_by_parent"].get(None, [])
        return Response(CategoryTreeSerializer(roots, many=True, context=context).data)


class TargetGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TargetGroupSerializer
    lookup_field = "slug"
    pagination_class = None
    filter_backends: list = []
    queryset = TargetGroup.objects.order_by("sort_order", "name")


__all__ = [
    "CategoryViewSet",
    "ContactViewSet",
    "LocationViewSet",
    "OrganizationViewSet",
    "ServiceViewSet",
    "TargetGroupViewSet",
    "status",
]
