"""The API's front door: /api/v1/ lists its endpoints, so a client (or a person) can start there."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

ENDPOINTS = {
    "services": "api:service-list",
    "organizations": "api:organization-list",
    "locations": "api:location-list",
    "contacts": "api:contact-list",
    "categories": "api:category-list",
    "target-groups": "api:target-group-list",
    "layers": "api:layer-list",
    "areas": "api:area-list",
    "addresses": "api:address-search",
    "lookup": "api:lookup",
    "schema": "api:schema",
    "docs": "api:docs",
}


class ApiRootView(APIView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({name: reverse(url, request=request) for name, url in ENDPOINTS.items()})
