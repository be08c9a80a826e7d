"""Property-based test of the whole API against its own OpenAPI schema (schemathesis).

Bounded examples per operation; the checks are: no server error, responses and
content types as documented.
"""

import datetime
import json

import pytest
import schemathesis
from django.contrib.gis.geos import Point
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.config import SchemathesisConfig

from providers.models import Contact
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    TargetGroupFactory,
    square,
)

MAX_EXAMPLES = 5


@pytest.fixture
def api_data(db):
    layer = LayerFactory(slug="bezirke", valid_from=datetime.date(2021, 1, 1))
    district = AreaFactory(layer=layer, code="01", geometry=square(13.3, 52.45, 0.2))
    AreaFactory(
        layer=LayerFactory(slug="regionen", parent=layer, level=2),
        code="0101",
        parent=district,
        geometry=square(13.3, 52.45, 0.1),
    )
    family = CategoryFactory(slug="familie")
    CategoryFactory(slug="familienzentrum", parent=family)
    group = TargetGroupFactory(slug="kinder")
    for i in range(3):
        service = ServiceFactory(
            name=f"Familienzentrum {i}",
            opening_hours="Mo-Fr 09:00-17:00",
            min_age=0,
            max_age=12,
            locations=[LocationFactory(point=Point(13.35 + i / 100, 52.5, srid=4326))],
            categories=[family],
        )
        service.target_groups.add(group)
        ContactFactory(
            organization=service.organization,
            service=service,
            visibility=Contact.Visibility.PUBLIC,
            publication_consent_date="2025-01-01",
        )
    ServiceFactory(last_verified=None)


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request, which would end
    the test transaction; Django's test client disconnects this signal the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded when the module is collected. The schema comes from drf-spectacular's generator
# directly: through the app, the request would pass the throttles, which count in the
# database, and no database is open while tests are collected.
WSGI_APP = get_wsgi_application()
SCHEMA_PATH = "/api/v1/schema/?format=json"
SCHEMA = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)


def load_schema(config: dict):
    loaded = schemathesis.openapi.from_dict(SCHEMA, config=SchemathesisConfig.from_dict(config))
    loaded.app = WSGI_APP
    loaded.location = SCHEMA_PATH
    return loaded


@pytest.fixture(autouse=True)
def unlimited_requests(settings):
    """Hundreds of generated requests per operation: a 429 would hide what the request
    does (tests/security/test_throttles.py tests the limits)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": None, "anon": None},
    }


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# Every operation, fuzzed with a bounded number of examples (loaded at collection: making
# the schema touches no database).
schema = load_schema(
    {
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": False}},
        "generation": {"max-examples": MAX_EXAMPLES},
    }
)
# The read endpoints with many parameters also get the coverage phase: boundary and
# invalid values of every parameter.
boundary_schema = load_schema(
    {
        "phases": {
            "stateful": {"enabled": False},
            "examples": {"enabled": False},
            "fuzzing": {"enabled": False},
        }
    }
).include(method="GET", path_regex=r"^/api/v1/(services|areas)/$")


@pytest.mark.usefixtures("api_data", "keep_test_connection")
@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema(case):
    # identity: the WSGI transport does not undo the exports' gzip (tested on its own in
    # tests/providers/test_export_streaming.py), and the schema describes the decoded body.
    case.call_and_validate(
        headers={"Host": "localhost", "Accept-Encoding": "identity"}, checks=CHECKS
    )


@pytest.mark.usefixtures("api_data", "keep_test_connection")
@boundary_schema.parametrize()
@SETTINGS
def test_filter_boundaries_never_break_the_api(case):
    # identity: the WSGI transport does not undo the exports' gzip (tested on its own in
    # tests/providers/test_export_streaming.py), and the schema describes the decoded body.
    case.call_and_validate(
        headers={"Host": "localhost", "Accept-Encoding": "identity"}, checks=CHECKS
    )
