"""Fixtures of the distribution enterprise tests (imported by name by each test file).

Two enterprises: 国药控股兰州 (Lanzhou) with reporter `dist_a`, reporting every key item (N95
and masks: none chosen), and 天水医药 (Tianshui) with reporter `dist_b`, reporting N95 only.
Time is frozen at 2020-02-20 10:00 Shanghai (tests/procurement/conftest.py: NOW)."""

import pytest

from procurement.distribution_services import distribution_enterprise_create
from supplycoord.models import Role
from tests.factories import UserFactory
from tests.procurement.conftest import credit_code

DISTRIBUTION_FIXTURES = ("dist_a", "dist_b", "enterprise_a", "enterprise_b")


@pytest.fixture
def dist_a(db):
    return UserFactory(username="dist_a", role=Role.DISTRIBUTION_REPORTER)


@pytest.fixture
def dist_b(db):
    """The outsider reporter: reports for 天水医药 only."""
    return UserFactory(username="dist_b", role=Role.DISTRIBUTION_REPORTER)


@pytest.fixture
def enterprise_a(office, lanzhou, dist_a, n95, masks):
    return distribution_enterprise_create(
        user=office,
        name="国药控股兰州有限公司",
        credit_code=credit_code(501),
        prefecture=lanzhou,
        contact="李经理",
        phone="0931-7654321",
        reporters=[dist_a],
    )


@pytest.fixture
def enterprise_b(office, tianshui, dist_b, n95):
    return distribution_enterprise_create(
        user=office,
        name="天水医药有限公司",
        credit_code=credit_code(502),
        prefecture=tianshui,
        reporters=[dist_b],
        items=[n95],
    )


def figures(purchased, shipped, in_transit, stock) -> dict:
    return {
        "purchased": purchased,
        "shipped": shipped,
        "purchase_in_transit": in_transit,
        "stock": stock,
    }
