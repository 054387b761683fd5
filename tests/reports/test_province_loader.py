"""The province loader: the demo is data (supplycoord/data/demo/gansu/), read by one loader
that checks every file before saving anything, loads another folder of the same layout with
`load_demo --data DIR`, and loads the same folder twice without adding anything."""

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from allocation.models import BatchStatus, DispatchBatch, DispatchBatchLine
from allocation.selectors import allocation_totals
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import DailyFigure, Warehouse
from production.models import Licence, Problem, Producer, ProductionReport
from reports.province import GANSU, ProvinceDataInvalid, ProvinceFileError, province_read
from supplycoord.models import Norm, Prefecture, ProtectedStaff, User
from tests.reports.test_load_demo import PINNED_MODELS

TINY = Path(__file__).resolve().parent / "tiny_province"


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in PINNED_MODELS}


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", "--historical", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def gansu_copy(tmp_path):
    folder = tmp_path / "gansu"
    shutil.copytree(GANSU, folder)
    return folder


def test_the_demo_folder_reads_without_a_problem():
    province = province_read(GANSU)

    assert (province.start, province.days, province.seed) == (dt.date(2020, 1, 25), 60, 20200125)
    assert province.last_day == dt.date(2020, 3, 24)
    # 6 users, one per role, a reporter for each of the 3 distribution enterprises, 3 unit
    # requesters (issue 15), and for three-level dispatch two prefecture leads, Dingxi's
    # officer and four county officers.
    assert len(province.producers) == 25 and len(province.users) == 6 + 3 + 3 + 7


def test_it_names_the_file_row_and_field_of_every_problem(gansu_copy):
    """Two broken CSV cells and one YAML reference: all three are reported, not just the first."""
    lines = (gansu_copy / "production_lines.csv").read_text(encoding="utf-8").splitlines()
    # Row 3 as a spreadsheet shows it (the header is row 1).
    lines[2] = lines[2].replace(",50000,", ",lots,", 1)
    (gansu_copy / "production_lines.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    users = (gansu_copy / "users.csv").read_text(encoding="utf-8")
    (gansu_copy / "users.csv").write_text(
        users.replace("office_staff", "boss", 1), encoding="utf-8"
    )
    allocation = (gansu_copy / "allocation.yaml").read_text(encoding="utf-8")
    (gansu_copy / "allocation.yaml").write_text(
        allocation.replace("template: aid_sz02", "template: no_such_template", 1),
        encoding="utf-8",
    )

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(gansu_copy)

    where = {(e.file, e.row, e.field) for e in caught.value.errors}
    assert where == {
        ("production_lines.csv", 3, "daily_capacity"),
        ("users.csv", 5, "role"),
        ("allocation.yaml", "other_batches[8]", "template"),
    }
    assert "lots" in str(caught.value) and "boss" in str(caught.value)


def test_it_saves_nothing_when_a_file_is_wrong(db, gansu_copy):
    (gansu_copy / "warehouses.csv").write_text(
        "code,name_zh,name_en,kind,prefecture,address,manager\n"
        "SZ01,一库,One,provincial_reserve,999999,兰州,某人\n",
        encoding="utf-8",
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "load_demo", "--historical", "--data", str(gansu_copy), stdout=io.StringIO(), stderr=err
        )

    assert "warehouses.csv" in err.getvalue() and "“prefecture”" in err.getvalue()
    assert "999999" in err.getvalue()
    assert set(counts().values()) == {0}


def test_it_refuses_a_folder_that_is_not_there(db, tmp_path):
    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(tmp_path / "nowhere")

    assert caught.value.errors == [
        ProvinceFileError(str(tmp_path / "nowhere"), 0, "", caught.value.errors[0].message)
    ]


def test_a_missing_file_is_named(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    (folder / "licences.csv").unlink()

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(folder)

    assert [(e.file, e.row) for e in caught.value.errors] == [("licences.csv", 0)]


def test_it_loads_a_tiny_second_province_from_its_folder(db):
    """Ningxia in miniature: 2 prefectures, 5 users, 10 days, 3 batches, 2 producers."""
    out = load("--data", str(TINY))

    assert "Demo province loaded" in out
    assert set(Prefecture.objects.values_list("code", flat=True)) == {"640100", "640200"}
    assert User.objects.get(username="yinchuan_officer").prefecture.code == "640100"
    assert User.objects.get(username="nx_admin").is_superuser
    # Two prefectures × two staff categories with a rate (the other three have none).
    assert ProtectedStaff.objects.count() == 4
    assert Norm.objects.get().units_per_person_per_day == 4  # 2 a shift × 2 shifts
    dates = set(DailyFigure.objects.values_list("date", flat=True))
    assert (min(dates), max(dates)) == (dt.date(2020, 1, 25), dt.date(2020, 2, 3))
    assert set(Warehouse.objects.values_list("code", flat=True)) == {"NXR1", "NXR2", "NXH1", "NXP1"}
    assert ledger_drift() == []

    # 10,000 split 3 : 1 between the prefectures in hundreds; the aid team's 2,000 donated.
    totals = allocation_totals(dt.date(2020, 1, 1), dt.date(2020, 2, 3))
    assert (totals["total"], totals["batches"]) == (12_000, 3)
    quantities = dict(
        DispatchBatchLine.objects.values_list("batch__number", "quantity").order_by("batch__number")
    )
    assert quantities == {"2020-001": 7_500, "2020-002": 2_000, "2020-003": 2_500}
    # 2020-001 (Yinchuan) arrived one carton short; 2020-003 half there (2,500 // 2 in hundreds).
    received = dict(DispatchBatchLine.objects.values_list("batch__number", "received_quantity"))
    assert received == {"2020-001": 7_400, "2020-002": 2_000, "2020-003": 1_200}
    assert DispatchBatch.objects.get(number="2020-003").status == BatchStatus.PARTLY_RECEIVED
    assert (
        DispatchBatchLine.objects.get(batch__number="2020-002").donation.donor_name
        == "宁夏慈善总会"
    )

    mask_maker = Producer.objects.get(name="宁夏口罩厂")
    assert mask_maker.held_reserve_warehouse.code == "NXH1"
    assert list(mask_maker.reporters.values_list("username", flat=True)) == ["nx_reporter"]
    reports = ProductionReport.objects.filter(producer=mask_maker)
    assert set(reports.values_list("date", flat=True)) == {
        dt.date(2020, 1, 30) + dt.timedelta(days=n) for n in range(5)
    }
    # Its deliveries into the held reserve are the ledger's own-production receipts.
    assert all(r.reserve_receipt.warehouse.code == "NXH1" for r in reports)
    assert Licence.objects.count() == 1 and Problem.objects.get().status == "in_progress"


def test_loading_the_same_folder_twice_adds_nothing(db):
    load("--data", str(TINY))
    before = counts()

    out = load("--data", str(TINY))

    assert counts() == before
    assert "0 stock events posted" in out and "0 batches created (3 already there)" in out


def test_batches_that_do_not_add_up_are_refused_and_nothing_is_saved(db, tmp_path):
    """The three batches carry 12,000; a file promising 12,100 is refused whole."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    allocation = (folder / "allocation.yaml").read_text(encoding="utf-8")
    (folder / "allocation.yaml").write_text(
        allocation.replace("total: 12000", "total: 12100", 1), encoding="utf-8"
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "load_demo", "--historical", "--data", str(folder), stdout=io.StringIO(), stderr=err
        )

    assert "allocation.yaml" in err.getvalue() and "“total”" in err.getvalue()
    assert "12,000" in err.getvalue() and "12,100" in err.getvalue()
    assert set(counts().values()) == {0}


def test_a_wrong_reference_row_is_named_like_the_other_files(db, tmp_path):
    """The folder's own prefectures.csv is checked by the reference loader; its problem comes
    back with the file's name, and nothing is saved."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    prefectures = (folder / "prefectures.csv").read_text(encoding="utf-8")
    (folder / "prefectures.csv").write_text(
        prefectures.replace(
            "石嘴山市,Shizuishan,640000,true,true", "石嘴山市,Shizuishan,640000,maybe,true"
        ),
        encoding="utf-8",
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "load_demo", "--historical", "--data", str(folder), stdout=io.StringIO(), stderr=err
        )

    assert "prefectures.csv" in err.getvalue() and "“is_gb_code”" in err.getvalue()
    assert set(counts().values()) == {0}


# --- review findings: roles, duplicate keys, cascades, refusals of the services ---------------


@pytest.fixture
def tiny_copy(tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _append_last_row_again(path: Path) -> int:
    """Repeat the file's last row; returns the repeated row's number (the header is row 1)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[-1]]) + "\n", encoding="utf-8")
    return len(lines) + 1


def _refused(folder: Path) -> str:
    """Run the command (in English) on a folder it must refuse; returns its stderr."""
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="Nothing was saved"):
        call_command(
            "load_demo", "--historical", "--data", str(folder), stdout=io.StringIO(), stderr=err
        )
    assert set(counts().values()) == {0}
    return err.getvalue()


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("nx_office", "office_staff"),  # always: the load acts as the office
        ("nx_leader", "leadership"),  # allocation.yaml plans batches: a leader approves them
        ("nx_reporter", "producer_reporter"),  # nx_mask is marked commissioner
        ("nx_admin", "admin"),  # staff_rates.csv has rates: the admin records the staff
    ],
)
def test_a_role_the_load_acts_as_must_be_in_users_csv(db, tiny_copy, username, role):
    users = tiny_copy / "users.csv"
    users.write_text(
        "\n".join(
            line
            for line in users.read_text(encoding="utf-8").splitlines()
            if not line.startswith(f"{username},")
        )
        + "\n",
        encoding="utf-8",
    )

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(tiny_copy)
    err = _refused(tiny_copy)

    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [("users.csv", 0, "role")]
    assert f"users.csv: No user with role {role}" in err


def test_a_producer_reporter_is_needed_only_where_producers_have_a_commissioner(tiny_copy):
    users = tiny_copy / "users.csv"
    _edit(users, "nx_reporter,Tiny-reporter-1,producer_reporter,,驻企特派员,no\n", "")
    _edit(tiny_copy / "producers.csv", ",2020-01-22,yes\n", ",2020-01-22,no\n")

    assert province_read(tiny_copy).users[-1].username == "yinchuan_officer"


def test_an_officer_without_a_prefecture_is_named(db, tiny_copy):
    _edit(
        tiny_copy / "users.csv",
        "yinchuan_officer,",
        "nx_officer2,Tiny-officer-2,prefecture_officer,,无地区,no\nyinchuan_officer,",
    )

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(tiny_copy)
    _refused(tiny_copy)

    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [
        ("users.csv", 6, "prefecture")
    ]


@pytest.mark.parametrize(
    ("file", "field"),
    [
        ("users.csv", "username"),
        ("population.csv", "prefecture"),
        ("staff_rates.csv", "staff_category"),
        ("consumption_rates.csv", "item"),
        ("norms.csv", "effective_from"),
        ("warehouses.csv", "code"),
        ("reserve_inflows.csv", "channel"),
        ("producers.csv", "key"),
        ("licences.csv", "number"),
        ("problems.csv", "description"),
        ("destinations.csv", "name_zh"),
    ],
)
def test_a_repeated_key_is_named_with_its_row_and_column(tiny_copy, file, field):
    row = _append_last_row_again(tiny_copy / file)

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(tiny_copy)

    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [(file, row, field)]
    assert f"第{row - 1}行" in caught.value.errors[0].message  # "already in row N"


def test_a_repeated_username_is_refused_and_nothing_is_saved(db, tiny_copy):
    """It was an IntegrityError traceback from the users' loop."""
    row = _append_last_row_again(tiny_copy / "users.csv")

    err = _refused(tiny_copy)

    assert f"users.csv, row {row}, column “username”" in err
    assert "yinchuan_officer" in err


def test_one_wrong_date_of_a_producer_is_one_problem(gansu_copy):
    """The producer's key stays known: its lines, licences, problems are not reported too."""
    _edit(gansu_copy / "producers.csv", ",producing,2020-02-04,", ",producing,2020-02-31,")

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(gansu_copy)

    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [
        ("producers.csv", 2, "resumption_date")
    ]


def test_one_control_character_in_a_warehouse_name_is_one_problem(gansu_copy):
    """SZ01 stays a known warehouse for ledger.yaml and allocation.yaml."""
    _edit(gansu_copy / "warehouses.csv", "省级医疗物资储备一库", "省级医疗\x00物资储备一库")

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(gansu_copy)

    assert [(e.file, e.row, e.field) for e in caught.value.errors] == [
        ("warehouses.csv", 2, "name_zh")
    ]


def test_what_a_service_refuses_is_named_and_nothing_is_saved(db, tiny_copy):
    """norm_set refuses 100,000 units a person a day; the file check lets any number through.
    It was a ValidationError traceback; now it names the row and nothing is saved."""
    _edit(tiny_copy / "norms.csv", "community,FH003,2,2,,", "community,FH003,,,100000,")

    err = _refused(tiny_copy)

    assert "norms.csv, row 2, column “per_day”" in err


def test_a_user_already_there_with_another_role_is_named(db, tiny_copy):
    """Users already there are never changed; one with another role cannot act as the office."""
    User.objects.create_user("nx_office", password="x", role="leadership")

    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="Nothing was saved"):
        call_command(
            "load_demo", "--historical", "--data", str(tiny_copy), stdout=io.StringIO(), stderr=err
        )

    assert "users.csv, row 2, column “role”" in err.getvalue()
    assert "“nx_office” already exists with the role leadership, not office_staff" in err.getvalue()
    assert User.objects.count() == 1 and set(counts().values()) - {0} == {1}


def test_it_names_the_row_and_field_of_every_procurement_problem(gansu_copy):
    """procurement.yaml's tables are checked like the others: a Chinese supplier without its
    region, a price that is not yuan, a unit keeping a warehouse that does not exist, an
    enterprise whose reporter is not a distribution reporter, an order line of an unknown
    item: five problems, each by file, row (or key path) and field, all at once."""

    def edit(name, old, new):
        text = (gansu_copy / name).read_text(encoding="utf-8")
        assert old in text
        (gansu_copy / name).write_text(text.replace(old, new, 1), encoding="utf-8")

    edit("suppliers.csv", "in_province,620102,", "in_province,,")  # row 2
    edit(
        "supplier_items.csv",
        "longyuan,FH002,120000,2,10000,1.20",
        "longyuan,FH002,120000,2,10000,1.2.0",
    )  # row 3
    edit("reserve_units.csv", ",SZ02,", ",SZ09,")  # row 3
    edit("distribution_enterprises.csv", ",dist_tianshui", ",office")  # row 3
    edit("procurement.yaml", "[[FH004, 8000, 66]", "[[NOPE, 8000, 66]")

    with pytest.raises(ProvinceDataInvalid) as caught:
        province_read(gansu_copy)

    where = {(e.file, e.row, e.field) for e in caught.value.errors}
    assert where == {
        ("suppliers.csv", 2, "region"),
        ("supplier_items.csv", 3, "unit_price"),
        ("reserve_units.csv", 3, "warehouses"),
        ("distribution_enterprises.csv", 3, "reporter"),
        ("procurement.yaml", "orders.placed[1]", "lines"),
    }


def test_a_folder_without_procurement_yaml_has_no_orders(gansu_copy):
    """An office's folder may leave the inbound pipeline out: no procurement.yaml, nothing
    read of its tables, and the purchases stay plain receipts."""
    (gansu_copy / "procurement.yaml").unlink()
    for name in ("suppliers.csv", "supplier_items.csv", "reserve_units.csv"):
        (gansu_copy / name).unlink()

    assert province_read(gansu_copy).procurement == {}
