from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import County, Item, Prefecture, ProtectedStaff, Province, StaffCategory, User

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
