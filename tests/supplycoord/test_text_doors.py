"""The doors without a form or a JSON body apply the same text and date rules: management
commands, the reason of an import, a batch attachment's description."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from allocation.models import Destination, DestinationKind
from allocation.services import AllocationInvalid, batch_attach, batch_create
from inventory.services import DailyFiguresInvalid, daily_figures_submit
from supplycoord.models import Item
from supplycoord.services import ReferenceDataInvalid, reference_load_csv
from tests.factories import WarehouseFactory

ITEM_HEADER = "code,name_zh,name_en,category,unit,specification,pack_size,is_key,sort_order\n"


def test_a_reference_csv_with_a_control_character_in_a_name_is_refused(db):
    text = ITEM_HEADER + "FH009,口罩\x01,Mask,protective,piece,,1,true,1\n"

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="items", path_or_file=io.StringIO(text))

    assert [(e.row, e.field) for e in excinfo.value.errors] == [(2, "name_zh")]
    assert not Item.objects.exists()


def test_load_reference_refuses_a_username_with_nul(db):
    with pytest.raises(CommandError):
        call_command("load_reference", "items", "--user", "off\x00ice", stdout=io.StringIO())


@pytest.mark.parametrize("date", ["1999-12-31", "0202-02-10", "2999-01-01"])
def test_build_snapshots_refuses_dates_outside_the_reportable_range(db, date):
    with pytest.raises(CommandError):
        call_command("build_snapshots", "--date", date, stdout=io.StringIO())


def test_an_import_reason_with_a_control_character_is_refused(officer, n95):
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": timezone.localdate(),
        **dict.fromkeys(("stock", "received", "consumption", "demand"), 1),
        "expected_arrivals_3d": 0,
    }

    with pytest.raises(DailyFiguresInvalid) as excinfo:
        daily_figures_submit(user=officer, rows=[row], reason="typo\x00")

    assert [(e.row, e.field) for e in excinfo.value.errors] == [(0, "reason")]


def test_a_reason_may_span_lines(officer, n95):
    row = {
        "prefecture": "620100",
        "item": "FH001",
        "date": timezone.localdate(),
        **dict.fromkeys(("stock", "received", "consumption", "demand"), 1),
        "expected_arrivals_3d": 0,
    }
    assert daily_figures_submit(user=officer, rows=[row], reason="one\r\ntwo\tthree").created == 1


def test_an_attachment_description_with_nul_is_refused(office, n95, lanzhou):
    warehouse = WarehouseFactory(code="SZ01")
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    batch = batch_create(
        user=office,
        source_warehouse=warehouse,
        destination=destination,
        lines=[{"item": n95, "quantity": 1, "channel": "reserve"}],
        planned_dispatch_date=timezone.localdate() + dt.timedelta(days=1),
    )
    upload = SimpleUploadedFile("approval.pdf", b"%PDF-1.4", content_type="application/pdf")

    with pytest.raises(AllocationInvalid):
        batch_attach(user=office, batch=batch, file=upload, description="批文\x00")

    assert not batch.attachments.exists()
