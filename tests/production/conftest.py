import pytest

from production.models import Producer
from supplycoord.models import Role
from tests.factories import UserFactory

# Real codes: the example of GB 32100-2015 and two registered companies.
VALID_CODES = ["91350100M000100Y43", "91110108551385082Q", "91440300708461136T"]


@pytest.fixture
def producer(lanzhou, reporter):
    p = Producer.objects.create(
        name="兰州防护用品厂", credit_code=VALID_CODES[0], prefecture=lanzhou
    )
    p.reporters.add(reporter)
    return p


@pytest.fixture
def other_producer(tianshui):
    return Producer.objects.create(
        name="天水口罩厂", credit_code=VALID_CODES[1], prefecture=tianshui
    )


@pytest.fixture
def outsider_reporter(db):
    """A reporter assigned to no producer: must see and change none."""
    return UserFactory(username="outsider_reporter", role=Role.PRODUCER_REPORTER)
