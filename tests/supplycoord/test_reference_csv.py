"""Reference data from CSV: the shipped files load, bad files are refused whole, row by row."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from supplycoord.models import County, Item, ItemCategory, Prefecture, Province, StaffCategory
from supplycoord.services import (
    SHIPPED_FILES,
    ReferenceDataInvalid,
    reference_load_csv,
    reference_load_shipped,
)


@pytest.fixture(autouse=True)
def _english():
    """These tests read the messages in English, whatever language an earlier test left on."""
    with translation.override("en"):
        yield


ITEM_HEADER = "code,name_zh,name_en,category,unit,specification,pack_size,is_key,sort_order\n"
PREFECTURE_HEADER = "level,code,name_zh,name_en,parent_code,is_gb_code,active,priority_weight\n"


def csv_file(text: str) -> io.StringIO:
    return io.StringIO(text)


def error_keys(excinfo) -> set[tuple[int, str]]:
    return {(e.row, e.field) for e in excinfo.value.errors}


def test_it_loads_the_shipped_files(db):
    """The shipped CSVs give Gansu, its 14 GB prefectures plus Lanzhou New Area, ≥30 items."""
    results = reference_load_shipped()

    assert [r["kind"] for r in results] == ["prefectures", "counties", "items", "staff_categories"]
    assert Province.objects.get().code == "620000"
    assert Prefecture.objects.filter(is_gb_code=True).count() == 14
    new_area = Prefecture.objects.get(code="LZXQ")
    assert (new_area.is_gb_code, new_area.name_zh) == (False, "兰州新区")
    assert Prefecture.objects.get(code="622900").name_zh == "临夏回族自治州"
    assert County.objects.get(code="620102").prefecture.code == "620100"
    assert Item.objects.count() >= 30
    assert set(Item.objects.values_list("category", flat=True)) == set(ItemCategory.values)
    assert 20 <= Item.objects.filter(is_key=True).count() <= 30
    n95 = Item.objects.get(code="FH001")
    assert (n95.category, n95.unit, n95.is_key) == ("protective", "piece", True)
    assert StaffCategory.objects.filter(code="fever_clinic").exists()


def test_it_changes_nothing_when_the_same_files_are_loaded_again(db):
    """A second load of the shipped files upserts by code: every row unchanged, no duplicates."""
    reference_load_shipped()
    counts = (Prefecture.objects.count(), Item.objects.count(), Item.history.count())

    results = reference_load_shipped()

    assert all(r["created"] == r["updated"] == 0 for r in results)
    assert (Prefecture.objects.count(), Item.objects.count(), Item.history.count()) == counts


def test_it_updates_changed_rows_and_records_the_user_in_history(db, admin_user):
    """A changed name is an update by code, and the history row names who loaded the file."""
    reference_load_csv(kind="items", path_or_file=SHIPPED_FILES["items"])
    text = SHIPPED_FILES["items"].read_text(encoding="utf-8")
    edited = text.replace("医用外科口罩,Surgical mask", "医用外科口罩,Surgical face mask")

    result = reference_load_csv(kind="items", path_or_file=csv_file(edited), user=admin_user)

    assert (result["created"], result["updated"]) == (0, 1)
    item = Item.objects.get(code="FH002")
    assert item.name_en == "Surgical face mask"
    assert item.history.first().history_user == admin_user


def test_it_refuses_a_bad_item_file_with_row_and_field_errors_and_saves_nothing(db):
    """Every wrong cell is named by its row (header = row 1) and column; no row is saved."""
    text = ITEM_HEADER + (
        "FH001,N95口罩,N95,protective,piece,,20,true,10\n"  # row 2: fine
        "FH002,外科口罩,Surgical,protective,pcs,,50,true,20\n"  # row 3: unknown unit
        "FH003,一次性口罩,Disposable,masks,piece,,0,maybe,30\n"  # row 4: category, pack, bool
        "FH001,重复,Duplicate,protective,piece,,1,false,40\n"  # row 5: duplicate code
        ",无编码,No code,protective,piece,,1,false,x\n"  # row 6: code, sort order
    )

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="items", path_or_file=csv_file(text))

    assert error_keys(excinfo) == {
        (3, "unit"),
        (4, "category"),
        (4, "pack_size"),
        (4, "is_key"),
        (5, "code"),
        (6, "code"),
        (6, "sort_order"),
    }
    assert "Row 3" in str(excinfo.value.errors[0]) and "unit" in str(excinfo.value.errors[0])
    assert Item.objects.count() == 0


def test_it_refuses_a_number_of_more_digits_than_int_reads(db):
    text = ITEM_HEADER + "FH001,N95口罩,N95,protective,piece,,20,true," + "9" * 5000 + "\n"

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="items", path_or_file=csv_file(text))

    assert error_keys(excinfo) == {(2, "sort_order")}
    assert Item.objects.count() == 0


def test_it_refuses_missing_and_unknown_columns(db):
    """A header without a required column, or with a misspelt one, is refused before any row."""
    text = "code,name_zh,category,unit,pack_size,is_kye,sort_order\nFH001,N95,protective,piece,1,true,1\n"

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="items", path_or_file=csv_file(text))

    assert error_keys(excinfo) == {(1, "is_kye"), (1, "is_key")}


def test_it_checks_prefecture_codes_against_gb_rules(db):
    """GB prefecture codes end in 00 within their province; a non-GB code may not look GB."""
    text = PREFECTURE_HEADER + (
        "province,620000,甘肃省,Gansu,,true,true,\n"
        "prefecture,620101,兰州市,Lanzhou,620000,true,true,1\n"  # row 3: not a prefecture code
        "prefecture,610100,西安市,Xi'an,620000,true,true,1\n"  # row 4: another province
        "prefecture,629900,新区,New area,620000,false,true,1\n"  # row 5: non-GB but GB-like
        "prefecture,LZXQ,兰州新区,Lanzhou New Area,990000,false,true,0.5\n"  # row 6
    )

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="prefectures", path_or_file=csv_file(text))

    assert error_keys(excinfo) == {
        (3, "code"),
        (4, "code"),
        (5, "code"),
        (6, "parent_code"),
        (6, "priority_weight"),
    }
    assert Province.objects.count() == 0


def test_it_refuses_counties_of_an_unknown_prefecture(db):
    """Counties need their prefecture loaded first, and a code inside it."""
    reference_load_csv(kind="prefectures", path_or_file=SHIPPED_FILES["prefectures"])
    text = (
        "code,prefecture_code,name_zh,name_en\n"
        "620102,620100,城关区,Chengguan\n"
        "620502,620100,秦州区,Qinzhou\n"  # row 3: belongs to Tianshui, not Lanzhou
        "620102,629900,城关区,Chengguan\n"  # row 4: unknown prefecture and duplicate code
    )

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="counties", path_or_file=csv_file(text))

    assert error_keys(excinfo) == {(3, "code"), (4, "code"), (4, "prefecture_code")}
    assert County.objects.count() == 0


def test_it_reads_uploaded_bytes_with_an_excel_byte_order_mark(db):
    """An upload saved by Excel as “CSV UTF-8” (bytes with a BOM) loads like a plain file."""
    data = ("\ufeff" + ITEM_HEADER + "FH001,N95口罩,N95,protective,piece,,20,是,10\n").encode()

    result = reference_load_csv(kind="items", path_or_file=io.BytesIO(data))

    assert result["created"] == 1
    assert Item.objects.get(code="FH001").is_key is True


def test_it_refuses_a_file_that_is_not_utf8(db):
    """A GBK-encoded file is refused with a hint to save it as UTF-8."""
    data = (ITEM_HEADER + "FH001,口罩,N95,protective,piece,,20,true,10\n").encode("gbk")

    with pytest.raises(ReferenceDataInvalid) as excinfo:
        reference_load_csv(kind="items", path_or_file=io.BytesIO(data))

    assert "UTF-8" in str(excinfo.value.errors[0])


def test_it_loads_and_refuses_through_the_command(db, tmp_path):
    """`load_reference items file.csv` loads a good file, and names row and column of a bad one."""
    good = tmp_path / "items.csv"
    good.write_text(ITEM_HEADER + "FH001,N95口罩,N95,protective,piece,,20,true,10\n", "utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(ITEM_HEADER + "FH009,手套,Gloves,protective,pcs,,1,true,10\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()

    call_command("load_reference", "items", str(good), stdout=out)
    with pytest.raises(CommandError):
        call_command("load_reference", "items", str(bad), stdout=out, stderr=err)

    assert "1 created" in out.getvalue()
    assert "Row 2" in err.getvalue() and "unit" in err.getvalue()
    assert list(Item.objects.values_list("code", flat=True)) == ["FH001"]


def test_it_loads_every_shipped_file_with_all(db):
    """`load_reference --all` loads the four shipped files in dependency order."""
    out = io.StringIO()

    call_command("load_reference", "--all", stdout=out)

    assert Prefecture.objects.count() == 15
    assert County.objects.exists() and StaffCategory.objects.count() == 5
