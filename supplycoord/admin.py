import contextvars

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken import admin as token_admin
from rest_framework.authtoken.models import TokenProxy
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    ApiToken,
    County,
    Item,
    Norm,
    Prefecture,
    ProtectedStaff,
    Province,
    Role,
    StaffCategory,
    User,
)
from .services import api_token_revoke, user_password_change

admin.site.site_header = _("SupplyCoord administration")
admin.site.site_title = _("SupplyCoord")


class ReadOnlyAdminMixin:
    """An admin (or inline) that shows rows and their history but changes nothing: the rows
    change only through their services (numbering, locks, balances, audit, the reactions of
    other apps), which the pages and the API call."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Province)
class ProvinceAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en")


@admin.register(Prefecture)
class PrefectureAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "is_gb_code",
        "active",
        "priority_weight",
        "reports_as_sum_of_counties",
    )
    list_filter = ("active", "is_gb_code", "reports_as_sum_of_counties")
    search_fields = ("code", "name_zh", "name_en")
    # Switched only on the counties page (inventory.county_figures.prefecture_set_reports_as_sum:
    # it needs an active county and takes the lock the counties' submissions take).
    readonly_fields = ("reports_as_sum_of_counties",)


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
class ProtectedStaffAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only here (its history too): the counts are set on the protected-staff page
    (`inventory.services.protected_staff_set`), which validates them and rebuilds the recent
    dates whose stored spot checks rest on them."""

    list_display = ("prefecture", "category", "count", "updated_at")
    list_filter = ("category", "prefecture")
    list_select_related = ("prefecture", "category")


@admin.register(Norm)
class NormAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
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


# Who is resetting a password in the admin: Django's password view builds the form itself, with
# no way to hand it the request, so the view sets this around its run (per request, and safe
# across threads) for the form's save.
_password_actor = contextvars.ContextVar("password_actor")


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """Django's admin reset form, saved through `user_password_change`: an admin's reset (or
    disabling password login) also revokes the user's API token and is audited."""

    def save(self, commit=True):
        new_password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        user_password_change(user=self.user, new_password=new_password, actor=_password_actor.get())
        return self.user


class RoleScopeFormMixin:
    """The scope a role needs, said on its field before the database's check constraints
    would refuse it in their own words. A county officer's prefecture is its county's
    (`User.clean` sets it), so only the county is asked for."""

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if role == Role.COUNTY_OFFICER and not data.get("county"):
            self.add_error(
                "county",
                _("A county officer needs a county: the only county they see and change."),
            )
        if role in (Role.PREFECTURE_OFFICER, Role.PREFECTURE_LEAD) and not data.get("prefecture"):
            self.add_error(
                "prefecture",
                _("A prefecture officer or lead needs a prefecture: the only one they see."),
            )
        return data


class UserChangeForm(RoleScopeFormMixin, auth_forms.UserChangeForm):
    pass


class UserCreationForm(RoleScopeFormMixin, auth_forms.AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    change_password_form = AdminPasswordChangeForm
    form = UserChangeForm
    add_form = UserCreationForm

    def user_change_password(self, request, id, form_url=""):
        token = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    list_display = (
        "username",
        "full_name",
        "role",
        "prefecture",
        "county",
        "is_active",
        "is_superuser",
    )
    list_filter = ("role", "prefecture", "is_active")
    list_select_related = ("prefecture", "county")
    # A county officer (issue 15) has a county; its prefecture is the county's.
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role and scope"), {"fields": ("role", "prefecture", "county")}),
    )

    @admin.display(description=_("name"))
    def full_name(self, obj):
        return obj.get_full_name()

    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role and scope"), {"fields": ("role", "prefecture", "county")}),
    )


# DRF's own token admin shows the keys; this one replaces it.
admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(token_admin.TokenAdmin):
    """API tokens with their last use, never their keys. Tokens are issued by the token
    endpoint, not here; revoking (deleting) one goes through `api_token_revoke`."""

    list_display = ("user", "created", "last_used_at")
    list_select_related = ("user", "usage")
    actions = []  # Django's "delete selected", which DRF turns off (see response_action)

    @admin.display(description=_("last used"), ordering="usage__last_used_at")
    def last_used_at(self, obj):
        usage = getattr(obj, "usage", None)
        return usage.last_used_at if usage else None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def response_action(self, request, queryset):
        # The list's checkboxes carry TokenProxy.pk, which DRF maps to the user's id to keep
        # keys out of URLs; the action filters by the real primary key, the key. Translate.
        user_ids = [v for v in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME) if v.isdigit()]
        keys = self.model.objects.filter(user_id__in=user_ids).values_list("key", flat=True)
        request.POST = request.POST.copy()
        request.POST.setlist(helpers.ACTION_CHECKBOX_NAME, list(keys))
        return super().response_action(request, queryset)

    def delete_model(self, request, obj):
        api_token_revoke(token=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, actor=request.user)


# Notifications (issue 16): their admin lives with their package.
from .notifications import admin as notifications_admin  # noqa: E402, F401
