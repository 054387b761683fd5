"""Forms of the donation pages: the ledger's filters and the receipt of a donation. They only
check what a person typed; donation_receive decides the rest."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Warehouse
from supplycoord.lib.dates import validate_filter_date

from .forms import DestinationChoiceField
from .models import Destination, DonationRestriction, DonorKind

DONATION_LINE_ROWS = 5
DATE_WIDGET = {"type": "date"}


class DonationFilterForm(forms.Form):
    q = forms.CharField(label=_("Donor"), required=False, max_length=200)
    donor_kind = forms.ChoiceField(
        label=_("Donor kind"), required=False, choices=[("", _("All")), *DonorKind.choices]
    )
    origin = forms.ChoiceField(
        label=_("Origin"),
        required=False,
        choices=[("", _("All")), ("domestic", _("Domestic")), ("foreign", _("From abroad"))],
    )
    restriction = forms.ChoiceField(
        label=_("Restriction"),
        required=False,
        choices=[("", _("All")), *DonationRestriction.choices],
    )
    date_from = forms.DateField(
        label=_("Received from"),
        required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        validators=[validate_filter_date],
    )
    date_to = forms.DateField(
        label=_("Received to"),
        required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        validators=[validate_filter_date],
    )

    def filter(self, donations):
        """Apply the valid filters; an invalid one is left out (and shown by the form)."""
        data = self.cleaned_data if self.is_bound else {}
        if data.get("q"):
            donations = donations.filter(donor_name__icontains=data["q"].strip())
        if data.get("donor_kind"):
            donations = donations.filter(donor_kind=data["donor_kind"])
        if data.get("origin"):
            donations = donations.filter(foreign=data["origin"] == "foreign")
        if data.get("restriction"):
            donations = donations.filter(restriction=data["restriction"])
        if data.get("date_from"):
            donations = donations.filter(received_on__gte=data["date_from"])
        if data.get("date_to"):
            donations = donations.filter(received_on__lte=data["date_to"])
        return donations


class DonationForm(forms.Form):
    donor_name = forms.CharField(label=_("Donor"), max_length=200)
    donor_kind = forms.ChoiceField(label=_("Donor kind"), choices=DonorKind.choices)
    foreign = forms.BooleanField(label=_("From abroad"), required=False)
    received_on = forms.DateField(
        label=_("Received on"),
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
    )
    warehouse = forms.ModelChoiceField(label=_("Received into"), queryset=Warehouse.objects.none())
    declared_value = forms.DecimalField(
        label=_("Declared value (yuan)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    restriction = forms.ChoiceField(
        label=_("Restriction"),
        choices=DonationRestriction.choices,
        initial=DonationRestriction.NONE,
    )
    restricted_prefecture = forms.ModelChoiceField(
        label=_("Restricted to prefecture"), required=False, queryset=None
    )
    restricted_destination = DestinationChoiceField(
        label=_("Restricted to destination"),
        required=False,
        queryset=Destination.objects.filter(active=True),
    )
    public = forms.BooleanField(label=_("Shown on the public page"), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, warehouses, **kwargs):
        from supplycoord.models import Prefecture

        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses
        self.fields["restricted_prefecture"].queryset = Prefecture.objects.all()


class DonationLineForm(forms.Form):
    item = forms.ChoiceField(label=_("Item"), required=False)
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1)

    def __init__(self, *args, item_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "—"), *item_choices]

    @property
    def is_blank(self):
        data = getattr(self, "cleaned_data", None) or {}
        return not data.get("item") and not data.get("quantity")

    def clean(self):
        data = super().clean()
        if bool(data.get("item")) != bool(data.get("quantity")):
            raise forms.ValidationError(_("Give both the item and the quantity."))
        return data


DonationLineFormSet = forms.formset_factory(
    DonationLineForm, extra=DONATION_LINE_ROWS, max_num=50, validate_max=True, absolute_max=50
)
