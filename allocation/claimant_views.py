"""The claimant register's pages (issue 15): the list (office and leadership) and the new and
edit pages (office). The form only reads the fields; allocation.claimant_services checks and
saves them."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord.models import Role, StaffCategory, User
from supplycoord.permissions import can_change_claimants, can_read_claimants, require

from . import claimant_services as services
from .models import ClaimantStaff, DestinationKind

PAGE_SIZE = 50


class ClaimantForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    code = forms.CharField(label=gettext_lazy("Code"), max_length=services.CODE_MAX)
    name_zh = forms.CharField(label=gettext_lazy("Chinese name"), max_length=128)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=128, required=False)
    contact = forms.CharField(label=gettext_lazy("Contact"), max_length=64, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32, required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    requesters = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Requesters"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Users of the role unit requester who submit this unit's requests."),
    )

    def __init__(self, *args, claimant=None, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.claimant = claimant
        self.categories = list(categories)
        kinds = dict(DestinationKind.choices)
        if claimant is None:
            self.fields["kind"].choices = [(k, kinds[k]) for k in services.NEW_KINDS]
            self.fields["kind"].required = True
        else:
            del self.fields["kind"]
        self.fields["requesters"].queryset = User.objects.filter(
            role=Role.UNIT_REQUESTER, is_active=True
        ).order_by("username")
        for category in self.categories:
            self.fields[f"staff_{category.code}"] = forms.IntegerField(
                label=category.name, required=False, min_value=0
            )

    def staff_fields(self):
        return [self[f"staff_{category.code}"] for category in self.categories]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            name: data.get(name)
            for name in ("code", "name_zh", "name_en", "contact", "phone", "active", "requesters")
        }
        arguments["staff"] = {
            category: data.get(f"staff_{category.code}") or 0 for category in self.categories
        }
        if self.claimant is None:
            arguments["kind"] = data.get("kind")
        return arguments


@require(can_read_claimants)
def claimant_list(request):
    """The register, PAGE_SIZE a page, with each claimant's requesters and staff."""
    claimants = (
        services.register_claimants()
        .select_related("prefecture")
        .annotate(requester_count=Count("requesters", distinct=True))
        .prefetch_related(
            Prefetch(
                "staff",
                queryset=ClaimantStaff.objects.select_related("category").order_by(
                    "category__sort_order", "category__code"
                ),
            )
        )
    )
    page = Paginator(claimants, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "allocation/claimant_list.html",
        {"page": page, "can_change": can_change_claimants(request.user)},
    )


@require(can_change_claimants)
def claimant_edit(request, pk=None):
    """New (pk None) or existing claimant: the form, then the service."""
    claimant = None
    if pk is not None:
        claimant = get_object_or_404(services.register_claimants(), pk=pk)
    categories = StaffCategory.objects.order_by("sort_order", "code")
    initial = None
    if claimant is not None:
        initial = {
            "code": claimant.code,
            "name_zh": claimant.name_zh,
            "name_en": claimant.name_en,
            "contact": claimant.contact,
            "phone": claimant.phone,
            "active": claimant.active,
            "requesters": list(claimant.requesters.all()),
            **{
                f"staff_{row.category.code}": row.count
                for row in claimant.staff.select_related("category")
            },
        }
    form = ClaimantForm(
        request.POST or None, initial=initial, claimant=claimant, categories=categories
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                if claimant is None:
                    saved = services.claimant_create(user=request.user, **form.service_arguments())
                else:
                    saved = services.claimant_update(
                        user=request.user, claimant=claimant, **form.service_arguments()
                    )
            except services.ClaimantInvalid as exc:
                for error in exc.errors:
                    field = error.field if error.field in form.fields else None
                    form.add_error(field, error.message)
            except PermissionDenied:
                raise
            else:
                messages.success(request, _("Claimant %(name)s saved.") % {"name": saved.name})
                return redirect("allocation:claimant_list")
    return render(
        request,
        "allocation/claimant_form.html",
        {"form": form, "claimant": claimant},
        status=status,
    )
