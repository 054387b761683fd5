from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    County,
    Item,
    Norm,
    Prefecture,
    ProtectedStaff,
    Province,
    StaffCategory,
    User,
)

admin.site.site_header = _("SupplyCoord administration")
admin.site.site_title = _("SupplyCoord")


@admin.register(Province)
class ProvinceAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en")


@admin.register(Prefecture)
class PrefectureAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en", "is_gb_code", "active", "priority_weight")
    list_filter = ("active", "is_gb_code")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(County)
class CountyAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en", "prefecture", "active")
    list_filter = ("prefecture", "active")
    search_fields = ("code", "name_zh", "name_en")
    list_select_related = ("prefecture",)


@admin.register(Item)
class ItemAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "category",
        "unit",
        "pack_size",
        "is_key",
        "active",
        "red_days",
        "amber_days",
    )
    list_filter = ("category", "is_key", "active", "unit")
    search_fields = ("code", "name_zh", "name_en")
    list_editable = ("is_key",)


@admin.register(StaffCategory)
class StaffCategoryAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en", "sort_order")


@admin.register(ProtectedStaff)
class ProtectedStaffAdmin(SimpleHistoryAdmin):
    list_display = ("prefecture", "category", "count", "updated_at")
    list_filter = ("category", "prefecture")
    list_select_related = ("prefecture", "category")


@admin.register(Norm)
class NormAdmin(SimpleHistoryAdmin):
    """Read-only here: a norm is changed through the norms page (`norm_set`), which validates
    it and adds a version rather than rewriting the figures of past days."""

    list_display = (
        "staff_category",
        "item",
        "units_per_person_per_day",
        "per_shift",
        "shifts_per_day",
        "effective_from",
        "created_by",
        "created_at",
    )
    list_filter = ("staff_category", "effective_from")
    search_fields = ("item__code", "item__name_zh", "item__name_en", "note")
    list_select_related = ("staff_category", "item", "created_by")
    date_hierarchy = "effective_from"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    list_display = ("username", "full_name", "role", "prefecture", "is_active", "is_superuser")
    list_filter = ("role", "prefecture", "is_active")
    list_select_related = ("prefecture",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role and scope"), {"fields": ("role", "prefecture")}),
    )

    @admin.display(description=_("name"))
    def full_name(self, obj):
        return obj.get_full_name()

    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role and scope"), {"fields": ("role", "prefecture")}),
    )
