from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from supplycoord.admin import ReadOnlyAdminMixin

from .models import Licence, Problem, Producer, ProductionLine, ProductionReport, RawMaterial


class ProductionLineInline(admin.TabularInline):
    model = ProductionLine
    extra = 0


class LicenceInline(admin.TabularInline):
    model = Licence
    extra = 0


class RawMaterialInline(admin.TabularInline):
    model = RawMaterial
    extra = 0


@admin.register(Producer)
class ProducerAdmin(SimpleHistoryAdmin):
    list_display = ("name", "credit_code", "prefecture", "county", "status", "active")
    list_filter = ("status", "active", "prefecture")
    search_fields = ("name", "credit_code")
    list_select_related = ("prefecture", "county")
    filter_horizontal = ("reporters",)
    raw_id_fields = ("held_reserve_warehouse",)
    inlines = [ProductionLineInline, LicenceInline, RawMaterialInline]


@admin.register(ProductionLine)
class ProductionLineAdmin(SimpleHistoryAdmin):
    list_display = ("producer", "item", "daily_capacity", "status", "actual_commissioning")
    list_filter = ("status", "item")
    list_select_related = ("producer", "item")
    search_fields = ("producer__name",)


@admin.register(Licence)
class LicenceAdmin(SimpleHistoryAdmin):
    list_display = ("producer", "kind", "number", "issuer", "issued", "expires")
    list_filter = ("kind",)
    list_select_related = ("producer",)
    search_fields = ("number", "producer__name")
    date_hierarchy = "expires"


@admin.register(RawMaterial)
class RawMaterialAdmin(SimpleHistoryAdmin):
    list_display = ("producer", "material", "name", "stock", "daily_use", "unit", "days_of_stock")
    list_filter = ("material",)
    list_select_related = ("producer",)
    search_fields = ("producer__name", "name")

    @admin.display(description=_("days left"))
    def days_of_stock(self, obj):
        return obj.days_left


@admin.register(ProductionReport)
class ProductionReportAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: reports change through production_reports_submit (ledger receipts, history)."""

    list_display = ("date", "producer", "item", "output", "to_reserve", "factory_stock")
    list_filter = ("item",)
    search_fields = ("producer__name", "producer__credit_code")
    list_select_related = ("producer", "item")
    date_hierarchy = "date"


@admin.register(Problem)
class ProblemAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: problems move through their services (who took and resolved them, when)."""

    list_display = ("reported_at", "producer", "category", "status", "owner", "resolved_at")
    list_filter = ("status", "category")
    search_fields = ("producer__name", "description")
    list_select_related = ("producer", "owner")
