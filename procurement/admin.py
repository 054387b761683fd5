"""Procurement in the admin: read-only. Suppliers, units and orders change through the
procurement pages (procurement/services.py: numbering, versions, audit, the ledger), so the
admin only shows them and their history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from supplycoord.admin import ReadOnlyAdminMixin

from .models import (
    DistributionEnterprise,
    DistributionReport,
    OrderArrival,
    OrderPayment,
    OrderTransition,
    PurchaseOrder,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
)


class SupplierCapabilityInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SupplierCapability
    fields = ("item", "daily_capacity", "lead_time_days", "minimum_order", "last_unit_price")
    readonly_fields = fields
    extra = 0


@admin.register(Supplier)
class SupplierAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "credit_code", "origin", "contact", "phone", "active")
    list_filter = ("origin", "active")
    search_fields = ("name", "credit_code", "contact")
    inlines = [SupplierCapabilityInline]


@admin.register(ReserveUnit)
class ReserveUnitAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "capital_granted", "contact", "phone", "active")
    search_fields = ("name",)


class PurchaseOrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PurchaseOrderLine
    fields = ("item", "quantity", "unit_price", "expected_arrival", "arrived_quantity")
    readonly_fields = fields
    extra = 0


class OrderTransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderTransition
    fields = ("from_status", "to_status", "by", "at", "note")
    readonly_fields = fields
    extra = 0


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "status", "buyer_unit", "supplier", "funding_source", "ordered_on")
    list_filter = ("status", "funding_source")
    search_fields = ("number", "supplier__name")
    list_select_related = ("buyer_unit", "supplier")
    inlines = [PurchaseOrderLineInline, OrderTransitionInline]


@admin.register(OrderArrival)
class OrderArrivalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "warehouse", "receipt_event", "arrived_at", "recorded_by")
    list_select_related = ("order", "warehouse", "receipt_event", "recorded_by")


@admin.register(OrderPayment)
class OrderPaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order", "amount", "paid_on", "recorded_by")
    list_select_related = ("order", "recorded_by")


# Distribution enterprises (医药流通企业) change through their pages and services (the register's
# history, reporters' roles checked, reports all-or-none with corrections' reasons).


@admin.register(DistributionEnterprise)
class DistributionEnterpriseAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = ("name", "credit_code", "prefecture", "contact", "phone", "active")
    list_filter = ("active", "prefecture")
    search_fields = ("name", "credit_code", "contact")
    list_select_related = ("prefecture",)


@admin.register(DistributionReport)
class DistributionReportAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = (
        "enterprise",
        "item",
        "date",
        "purchased",
        "shipped",
        "purchase_in_transit",
        "stock",
        "submitted_by",
        "first_submitted_at",
    )
    list_filter = ("date", "item")
    search_fields = ("enterprise__name", "enterprise__credit_code")
    list_select_related = ("enterprise", "item", "submitted_by")
    date_hierarchy = "date"
