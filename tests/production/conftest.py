import pytest

from inventory.models import WarehouseKind
from production.models import LineStatus, Producer, ProductionLine
from supplycoord.models import Role
from tests.factories import UserFactory, WarehouseFactory

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


@pytest.fixture
def held_warehouse(lanzhou):
    """The producer-held reserve (代储) warehouse of `producer` once linked to it."""
    return WarehouseFactory(
        code="DC09",
        name_zh="兰州防护用品厂代储库",
        name_en="Lanzhou protective held reserve",
        kind=WarehouseKind.PRODUCER_HELD,
        prefecture=lanzhou,
    )


@pytest.fixture
def reporting_producer(producer, n95, held_warehouse):
    """`producer` with one commissioned N95 line of 100,000 a day and its held reserve."""
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100_000, status=LineStatus.COMMISSIONED
    )
    producer.held_reserve_warehouse = held_warehouse
    producer.save()
    return producer


@pytest.fixture
def other_reporting_producer(other_producer, n95):
    """`other_producer` (Tianshui) with one commissioned N95 line of 50,000 a day."""
    ProductionLine.objects.create(
        producer=other_producer, item=n95, daily_capacity=50_000, status=LineStatus.COMMISSIONED
    )
    return other_producer
