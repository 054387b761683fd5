"""Every <select> of destinations is grouped by kind, in DestinationKind's order (prefectures,
counties, provincial institutions, aid teams, other provinces), and ordered by code within a
group (the GB/T 2260 code of the prefecture or county; by name where there is none)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from allocation.models import Destination, DestinationKind
from supplycoord.models import County
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def destinations(lanzhou, tianshui):
    """Created in a scrambled order: the picker must not follow insertion or Chinese names."""
    make = Destination.objects.create
    make(kind=DestinationKind.OTHER_PROVINCE, name_zh="天津市", name_en="Tianjin")
    make(
        kind=DestinationKind.PREFECTURE,
        name_zh="天水市卫健委",
        name_en="Tianshui HC",
        prefecture=tianshui,
    )
    make(kind=DestinationKind.AID_TEAM, name_zh="援鄂医疗队", name_en="Hubei aid team")
    make(
        kind=DestinationKind.COUNTY,
        name_zh="榆中县",
        name_en="Yuzhong",
        prefecture=lanzhou,
        county=County.objects.create(prefecture=lanzhou, code="620123", name_zh="榆中县"),
    )
    make(
        kind=DestinationKind.COUNTY,
        name_zh="城关区",
        name_en="Chengguan",
        prefecture=lanzhou,
        county=County.objects.create(prefecture=lanzhou, code="620102", name_zh="城关区"),
    )
    make(
        kind=DestinationKind.PROVINCIAL_INSTITUTION,
        name_zh="甘肃省人民医院",
        name_en="Gansu Provincial Hospital",
    )
    make(
        kind=DestinationKind.PREFECTURE,
        name_zh="兰州市卫健委",
        name_en="Lanzhou HC",
        prefecture=lanzhou,
    )
    make(kind=DestinationKind.PREFECTURE, name_zh="停用", prefecture=lanzhou, active=False)


def groups_of(html, select_name):
    select = re.search(rf'<select name="{select_name}".*?</select>', html, re.S).group(0)
    return [
        (label, re.findall(r"<option[^>]*>([^<]+)</option>", body))
        for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    ]


EXPECTED = [
    ("Prefecture", ["620100 Lanzhou HC", "620500 Tianshui HC"]),
    ("County", ["620102 Chengguan", "620123 Yuzhong"]),
    ("Provincial medical institution", ["Gansu Provincial Hospital"]),
    ("Aid team", ["Hubei aid team"]),
    ("Other province or city", ["Tianjin"]),
]


def test_the_batch_form_groups_destinations_by_kind_and_orders_them_by_code(
    client, office, destinations
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=office.username, password=PASSWORD)

    page = client.get(reverse("allocation:batch_new")).text

    # The inactive 停用 is not offered on a new batch.
    assert groups_of(page, "destination") == EXPECTED


def test_the_batch_list_filter_groups_them_too_in_chinese(client, office, destinations):
    assert client.login(username=office.username, password=PASSWORD)

    page = client.get(reverse("allocation:batch_list")).text

    groups = groups_of(page, "destination")
    # Five groups in the same order; the filter also offers the inactive destination.
    assert [names for _label, names in groups] == [
        # Same code 620100: by Chinese name (停 U+505C before 兰 U+5170).
        ["620100 停用", "620100 兰州市卫健委", "620500 天水市卫健委"],
        ["620102 城关区", "620123 榆中县"],
        ["甘肃省人民医院"],
        ["援鄂医疗队"],
        ["天津市"],
    ]
