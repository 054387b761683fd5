from decimal import Decimal

from production.models import RawMaterial, RawMaterialKind


def make(producer, stock, daily_use):
    return RawMaterial(
        producer=producer,
        material=RawMaterialKind.MELT_BLOWN,
        stock=Decimal(stock),
        daily_use=Decimal(daily_use),
        unit="t",
    )


def test_it_counts_whole_days_of_raw_material_left(producer):
    assert make(producer, "2.5", "0.8").days_left == 3


def test_it_has_no_days_left_when_nothing_is_used(producer):
    assert make(producer, "2.5", "0").days_left is None
