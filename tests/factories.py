"""Factories for the shared core and daily figures. Codes are GB-like and deterministic."""

import datetime as dt

import factory
from django.utils import timezone

from inventory.models import DailyFigure, Warehouse, WarehouseKind
from supplycoord.models import (
    Item,
    ItemCategory,
    Prefecture,
    ProtectedStaff,
    Province,
    Role,
    StaffCategory,
    Unit,
    User,
)


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Province
        django_get_or_create = ("code",)

    code = "620000"
    name_zh = "甘肃省"
    name_en = "Gansu"


class PrefectureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prefecture
        django_get_or_create = ("code",)

    province = factory.SubFactory(ProvinceFactory)
    code = factory.Sequence(lambda n: f"62{n + 1:02d}00")
    name_zh = factory.Sequence(lambda n: f"测试市{n + 1}")
    name_en = factory.Sequence(lambda n: f"Test City {n + 1}")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n + 1:03d}")
    name_zh = factory.Sequence(lambda n: f"测试物资{n + 1}")
    name_en = factory.Sequence(lambda n: f"Test item {n + 1}")
    category = ItemCategory.PROTECTIVE
    unit = Unit.PIECE
    specification = ""
    pack_size = 1
    is_key = True


class StaffCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"staff{n}")
    name_zh = factory.Sequence(lambda n: f"人员{n}")
    name_en = factory.Sequence(lambda n: f"Staff {n}")


class ProtectedStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProtectedStaff

    prefecture = factory.SubFactory(PrefectureFactory)
    category = factory.SubFactory(StaffCategoryFactory)
    count = 100


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.OFFICE_STAFF
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class DailyFigureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyFigure

    prefecture = factory.SubFactory(PrefectureFactory)
    item = factory.SubFactory(ItemFactory)
    date = factory.LazyFunction(timezone.localdate)
    stock = 100
    received = 0
    consumption = 10
    demand = 10
    expected_arrivals_3d = 0
    submitted_by = factory.SubFactory(UserFactory)
    first_submitted_at = factory.LazyAttribute(
        lambda o: timezone.make_aware(dt.datetime.combine(o.date, dt.time(12, 0)))
    )
    submitted_at = factory.LazyAttribute(lambda o: o.first_submitted_at)
    on_time = True


class WarehouseFactory(factory.django.DjangoModelFactory):
    """A provincial reserve warehouse by default; pass kind and prefecture for the others."""

    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"W{n + 1:02d}")
    name_zh = factory.Sequence(lambda n: f"测试仓库{n + 1}")
    name_en = factory.Sequence(lambda n: f"Test warehouse {n + 1}")
    kind = WarehouseKind.PROVINCIAL_RESERVE
    prefecture = None
    active = True
