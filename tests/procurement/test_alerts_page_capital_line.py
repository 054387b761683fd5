"""The alerts page tells the office and leadership when a reserve-task unit's commitments
exceed its working-capital line (issue 14: "an alert when commitments exceed the line"), and
tells a prefecture officer nothing of procurement."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from procurement.models import FundingSource
from procurement.services import reserve_unit_update
from tests.procurement.conftest import TODAY


def test_an_overdrawn_unit_is_on_the_alerts_page(
    client, office, leader, officer, unit, make_order, n95
):
    # 10,000 N95 at 3.50 = 35,000.00 committed; the line lowered to 30,000.00 is 5,000.00 over.
    make_order(
        [(n95, 10_000, "3.50", TODAY + dt.timedelta(days=3))],
        buyer_unit=unit,
        funding=FundingSource.WORKING_CAPITAL,
    )
    reserve_unit_update(user=office, unit=unit, capital_granted=Decimal("30000.00"))
    for reader in (office, leader):
        client.force_login(reader)
        page = client.get(reverse("reports:alerts")).content.decode()
        assert 'id="capital-alert"' in page
        assert f'data-unit="{unit.pk}"' in page
        assert "5,000.00" in page
    client.force_login(officer)
    page = client.get(reverse("reports:alerts")).content.decode()
    assert 'id="capital-alert"' not in page and 'id="overdue-inbound"' not in page


def test_a_unit_within_its_line_raises_nothing(client, office, unit, make_order, n95, frozen_time):
    make_order(
        [(n95, 100, "3.50", TODAY + dt.timedelta(days=3))],
        buyer_unit=unit,
        funding=FundingSource.WORKING_CAPITAL,
    )
    client.force_login(office)
    assert 'id="capital-alert"' not in client.get(reverse("reports:alerts")).content.decode()
