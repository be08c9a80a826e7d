import datetime

import pytest

from atlas.lookup.models import Responsibility
from tests.factories import ResponsibilityFactory

pytestmark = pytest.mark.django_db


def test_current_responsibilities_exclude_ended_ones():
    active = ResponsibilityFactory()
    ResponsibilityFactory(valid_until=datetime.date(2020, 1, 1))
    assert list(Responsibility.objects.current()) == [active]
