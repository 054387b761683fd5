"""Migration allocation/0009: lines kept before issue 15 get their prefecture's destination."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from allocation.models import Destination, ProposalLine

BEFORE = ("allocation", "0008_requests")


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_it_fills_the_claimant_of_existing_lines(office, lanzhou, tianshui, n95):
    """Lanzhou has an (inactive) prefecture destination and a county one: its line gets the
    prefecture one. Tianshui has none: one is created with its code. The source
    "avg_consumption_7d" becomes "consumption"."""
    MigrationExecutor(connection).migrate([BEFORE])
    try:
        old = MigrationExecutor(connection).loader.project_state([BEFORE]).apps
        OldDestination = old.get_model("allocation", "Destination")
        county = OldDestination.objects.create(
            kind="county", name_zh="城关区", prefecture_id=lanzhou.pk, code="620102"
        )
        to_lanzhou = OldDestination.objects.create(
            kind="prefecture", name_zh="兰州市", prefecture_id=lanzhou.pk, active=False
        )
        proposal = old.get_model("allocation", "Proposal").objects.create(
            name="old",
            date=dt.date(2020, 2, 20),
            created_by_id=office.pk,
            created_at=timezone.now(),
            updated_at=timezone.now(),
        )
        item = old.get_model("allocation", "ProposalItem").objects.create(
            proposal=proposal,
            item_id=n95.pk,
            on_hand=100,
            committed=0,
            reserve_floor=0,
            quantity=100,
            pack_size=1,
        )
        OldLine = old.get_model("allocation", "ProposalLine")
        for prefecture in (lanzhou, tianshui):
            OldLine.objects.create(
                proposal_item=item,
                prefecture_id=prefecture.pk,
                stock=10,
                arriving_3d=0,
                rate=Decimal(5),
                rate_source="avg_consumption_7d",
                proposed=50,
                quantity=50,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    lines = {
        line.prefecture.code: line for line in ProposalLine.objects.select_related("prefecture")
    }
    assert lines["620100"].destination_id == to_lanzhou.pk != county.pk
    created = Destination.objects.get(kind="prefecture", prefecture=tianshui)
    assert lines["620500"].destination == created
    assert (created.code, created.name_zh, created.active) == ("620500", tianshui.name_zh, True)
    assert {line.rate_source for line in lines.values()} == {"consumption"}
