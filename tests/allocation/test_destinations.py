"""Destinations: a county names its county and the prefecture it belongs to."""

import pytest
from django.core.exceptions import ValidationError

from allocation.models import Destination, DestinationKind
from supplycoord.models import County


def test_it_requires_a_county_destination_to_sit_in_its_prefecture(lanzhou, tianshui):
    county = County.objects.create(prefecture=lanzhou, code="620102", name_zh="城关区")

    with pytest.raises(ValidationError):
        Destination(kind=DestinationKind.COUNTY, name_zh="城关区", prefecture=lanzhou).clean()
    with pytest.raises(ValidationError):
        Destination(
            kind=DestinationKind.COUNTY, name_zh="城关区", prefecture=tianshui, county=county
        ).clean()
    Destination(
        kind=DestinationKind.COUNTY, name_zh="城关区", prefecture=lanzhou, county=county
    ).clean()


def test_it_refuses_a_county_on_another_kind_of_destination(lanzhou):
    county = County.objects.create(prefecture=lanzhou, code="620102", name_zh="城关区")

    with pytest.raises(ValidationError):
        Destination(kind=DestinationKind.AID_TEAM, name_zh="医疗队", county=county).clean()
