"""The demand estimate page and the norms page (reports.md, "Demand estimate").

Who sees what:
- demand estimate: office, leadership and admins see every prefecture and the province
  totals; a prefecture officer sees their own prefecture's row only (never another's, never
  the province totals, which are built from every prefecture's figures). Producer reporters
  get 403, as on the other dashboards.
- norms: everyone who reads the dashboards may read them (they are reference data, and an
  officer should be able to see how their estimate is computed); only office staff and
  admins add a version (anyone else's POST is a 403).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord.lib.dates import LATEST_FILTER_DATE, earliest_date, local_today, parse_iso_date
from supplycoord.lib.text import ascii_whole_number
from supplycoord.models import Item, Norm, StaffCategory
from supplycoord.norms import norm_set, norm_versions, norms_in_force
from supplycoord.permissions import can_change_norms, can_read_prefecture_data, require
from supplycoord.selectors import key_items

from . import demand, selectors
from .province import DEMO_NOTE_PREFIX
from .views import _requested_date

NORM_CHANGES_SHOWN = 50


def _horizon(request) -> int:
    """?h= in days, 1–60; anything else falls back to the default with a message."""
    raw = request.GET.get("h", "").strip()
    if not raw:
        return demand.DEFAULT_HORIZON_DAYS
    days = ascii_whole_number(raw)
    if days is not None and demand.MIN_HORIZON_DAYS <= days <= demand.MAX_HORIZON_DAYS:
        return days
    messages.warning(
        request,
        _(
            "The horizon must be a whole number of days from %(min)d to %(max)d; showing %(default)d."
        )
        % {
            "min": demand.MIN_HORIZON_DAYS,
            "max": demand.MAX_HORIZON_DAYS,
            "default": demand.DEFAULT_HORIZON_DAYS,
        },
    )
    return demand.DEFAULT_HORIZON_DAYS


@require(can_read_prefecture_data)
def demand_estimate(request):
    date = _requested_date(request)
    items = list(key_items())
    with_norms = demand.items_with_norms(date) if date else set()
    code = request.GET.get("item", "")
    item = next((i for i in items if i.code == code), None)
    if item is None:
        # Default: the first key item that has a norm, so the page opens on something to see.
        item = next((i for i in items if i.pk in with_norms), items[0] if items else None)
    horizon = _horizon(request)
    table = (
        demand.demand_table(request.user, date=date, item=item, horizon=horizon)
        if date and item
        else None
    )
    return render(
        request,
        "reports/demand.html",
        {
            "date": date,
            "build": selectors.snapshot_build_for(date) if date else None,
            "today": local_today(),
            "earliest": earliest_date(),
            "items": items,
            "with_norms": with_norms,
            "item": item,
            "horizon": horizon,
            "min_horizon": demand.MIN_HORIZON_DAYS,
            "max_horizon": demand.MAX_HORIZON_DAYS,
            "table": table,
            "low": demand.ratio_bounds()[0],
            "high": demand.ratio_bounds()[1],
        },
    )


class NormForm(forms.Form):
    staff_category = forms.ModelChoiceField(
        label=gettext_lazy("Staff category"),
        queryset=StaffCategory.objects.order_by("sort_order", "code"),
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"),
        queryset=Item.objects.filter(active=True).order_by("sort_order", "code"),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "The first day this norm applies. Earlier days keep the version in force then; "
            "the same date again corrects that version."
        ),
    )
    per_shift = forms.DecimalField(
        label=gettext_lazy("Units per person per shift"),
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=10,
    )
    shifts_per_day = forms.DecimalField(
        label=gettext_lazy("Shifts per day"),
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=4,
    )
    units_per_person_per_day = forms.DecimalField(
        label=gettext_lazy("Units per person per day"),
        required=False,
        min_value=0,
        decimal_places=4,
        max_digits=12,
        help_text=gettext_lazy("Or leave empty and give units per shift × shifts per day."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note (source of the figure)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_effective_from(self):
        value = self.cleaned_data["effective_from"]
        if not earliest_date() <= value <= LATEST_FILTER_DATE:
            raise ValidationError(
                _("Enter a date between %(first)s and %(last)s.")
                % {"first": earliest_date().isoformat(), "last": LATEST_FILTER_DATE.isoformat()}
            )
        return value


def _norm_history():
    """The latest changes to any version (additions and corrections), with who made them."""
    return list(
        Norm.history.select_related("staff_category", "item", "history_user").order_by(
            "-history_date", "-history_id"
        )[:NORM_CHANGES_SHOWN]
    )


@require(can_read_prefecture_data)
def norms(request):
    user = request.user
    if request.method == "POST":
        if not can_change_norms(user):
            raise PermissionDenied
        form = NormForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                norm = norm_set(
                    user=user,
                    staff_category=data["staff_category"],
                    item=data["item"],
                    effective_from=data["effective_from"],
                    units_per_person_per_day=data["units_per_person_per_day"],
                    per_shift=data["per_shift"],
                    shifts_per_day=data["shifts_per_day"],
                    note=data["note"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("Saved: %(category)s, %(item)s, %(units)s per person per day from %(date)s.")
                    % {
                        "category": norm.staff_category.name,
                        "item": norm.item.name,
                        "units": norm.units_display,
                        "date": norm.effective_from.isoformat(),
                    },
                )
                return redirect(reverse("reports:norms"))
    else:
        form = (
            NormForm(initial={"effective_from": local_today()}) if can_change_norms(user) else None
        )

    on = parse_iso_date(request.GET.get("date", "")) or local_today()
    if not earliest_date() <= on <= LATEST_FILTER_DATE:
        on = local_today()
    in_force = sorted(
        norms_in_force(on).values(),
        key=lambda n: (
            n.staff_category.sort_order,
            n.staff_category.code,
            n.item.sort_order,
            n.item.code,
        ),
    )
    in_force_ids = {n.pk for n in in_force}
    versions = list(norm_versions())
    for version in versions:
        if version.pk in in_force_ids:
            version.state = "in_force"
        elif version.effective_from > on:
            version.state = "scheduled"
        else:
            version.state = "superseded"
    return render(
        request,
        "reports/norms.html",
        {
            "on": on,
            "in_force": in_force,
            "versions": versions,
            "changes": _norm_history(),
            "demo_assumptions": any(v.note.startswith(DEMO_NOTE_PREFIX) for v in versions),
            "form": form,
            "today": local_today(),
        },
        status=400 if form is not None and form.is_bound else 200,
    )
