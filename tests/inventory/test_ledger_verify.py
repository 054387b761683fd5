"""`manage.py ledger_verify` finds balances that no longer equal the sum of their ledger lines."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import StockBalance
from inventory.services import stock_issue, stock_receive
from tests.factories import ItemFactory, WarehouseFactory


@pytest.fixture
def ledger(office, n95):
    """SZ01: N95 +100 −30 = 70, masks +20; SZ02: N95 +5."""
    sz01 = WarehouseFactory(code="SZ01")
    sz02 = WarehouseFactory(code="SZ02")
    masks = ItemFactory(code="FH002")
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 100), (masks, 20)], source="purchase")
    stock_issue(user=office, warehouse=sz01, lines=[(n95, 30)], issue_kind="dispatch")
    stock_receive(user=office, warehouse=sz02, lines=[(n95, 5)], source="donation")
    return sz01, sz02, masks


def verify():
    out = StringIO()
    try:
        call_command("ledger_verify", stdout=out)
    except CommandError as exc:
        return exc, out.getvalue()
    return None, out.getvalue()


def test_it_passes_when_every_balance_matches_its_ledger(ledger):
    """Balances written by the services always agree: no drift, exit code 0."""
    error, output = verify()

    assert error is None
    assert "matches" in output


def test_it_finds_a_balance_changed_behind_the_ledgers_back(ledger, n95):
    """70 in the ledger, 75 in the balance: one drift row of +5, exit code 1."""
    sz01, _sz02, _masks = ledger
    StockBalance.objects.filter(warehouse=sz01, item=n95).update(quantity=75)

    error, output = verify()

    assert error is not None
    assert error.returncode == 1
    assert "1 stock balance(s)" in str(error)
    drift = [line.split() for line in output.splitlines()[1:]]
    assert drift == [["SZ01", "FH001", "75", "70", "+5"]]


def test_it_finds_a_missing_balance_row_and_a_balance_without_lines(ledger, n95):
    """SZ02's N95 row deleted (ledger 5, no row); a stray balance of 9 with no lines at all."""
    _sz01, sz02, _masks = ledger
    StockBalance.objects.filter(warehouse=sz02, item=n95).delete()
    stray = ItemFactory(code="XD001")
    StockBalance.objects.create(warehouse=sz02, item=stray, quantity=9)

    error, output = verify()

    assert error.returncode == 1
    drift = sorted(line.split() for line in output.splitlines()[1:])
    assert drift == [["SZ02", "FH001", "(no", "row)", "5", "-5"], ["SZ02", "XD001", "9", "0", "+9"]]


def test_it_ignores_an_empty_balance_row_without_lines(db, n95):
    """A zero balance row with no lines (created, then its event refused) is no drift."""
    StockBalance.objects.create(warehouse=WarehouseFactory(code="SZ01"), item=n95, quantity=0)

    error, _output = verify()

    assert error is None
