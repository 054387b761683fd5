"""Forms of the distribution enterprise pages. They collect what a person typed; the services
(procurement/distribution_services.py) check it and their errors come back to these fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from supplycoord.lib.dates import validate_filter_date
from supplycoord.models import Item, Prefecture, Role, User


class _ItemsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class _PrefectureField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class _ReportersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        full = obj.get_full_name()
        return f"{obj.username} ({full})" if full else obj.username


class DistributionEnterpriseForm(forms.Form):
    name = forms.CharField(label=_("Enterprise name"), max_length=128)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18)
    prefecture = _PrefectureField(label=_("Prefecture"), queryset=Prefecture.objects.none())
    contact = forms.CharField(label=_("Contact person"), max_length=64, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    items = _ItemsField(
        label=_("Items reported"),
        queryset=Item.objects.none(),
        required=False,
        help_text=_("The items it reports every day; none chosen means every key item."),
        widget=forms.CheckboxSelectMultiple,
    )
    reporters = _ReportersField(
        label=_("Reporters"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prefecture"].queryset = Prefecture.objects.filter(active=True).order_by("code")
        self.fields["items"].queryset = Item.objects.filter(active=True).order_by(
            "sort_order", "code"
        )
        self.fields["reporters"].queryset = User.objects.filter(
            role=Role.DISTRIBUTION_REPORTER, is_active=True
        ).order_by("username")


class DistributionDateForm(forms.Form):
    """The rollup's date picker: a date in [earliest date, 2999-12-31] (default today)."""

    date = forms.DateField(
        label=_("Date"),
        required=False,
        validators=[validate_filter_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class EnterprisePageForm(forms.Form):
    """An enterprise page's window: the last 14 or 30 days up to a date."""

    end = forms.DateField(
        label=_("Up to"),
        required=False,
        validators=[validate_filter_date],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    days = forms.TypedChoiceField(
        label=_("Days"),
        required=False,
        coerce=int,
        empty_value=14,
        choices=[(14, _("Last 14 days")), (30, _("Last 30 days"))],
    )
