"""Forms of the notification pages: a user's preferences, the office's webhook endpoints."""

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS
from .models import CHANNELS, Channel

SECRET_MIN = 16


def field_name(kind_code: str, channel: str) -> str:
    return f"{kind_code}__{channel}"


class PreferencesForm(forms.Form):
    """One checkbox per kind the user's role may receive and per channel, the digest hour and
    the language of what is sent."""

    digest_hour = forms.TypedChoiceField(
        label=_("Daily digest at"),
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        help_text=_("Office time (Asia/Shanghai). The digest carries the kinds you send to it."),
    )
    language = forms.ChoiceField(
        label=_("Language of e-mails and messages"),
        choices=settings.LANGUAGES,
    )

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            for channel in CHANNELS:
                self.fields[field_name(row.kind.code, channel)] = forms.BooleanField(
                    label=f"{row.kind.label}: {Channel(channel).label}",
                    required=False,
                    initial=channel in row.channels,
                )

    def grid(self):
        """[(kind, [bound field per channel])] for the table of the page."""
        return [
            (row.kind, [self[field_name(row.kind.code, channel)] for channel in CHANNELS])
            for row in self.rows
        ]

    def choices(self) -> dict[str, set[str]]:
        return {
            row.kind.code: {
                channel
                for channel in CHANNELS
                if self.cleaned_data.get(field_name(row.kind.code, channel))
            }
            for row in self.rows
        }


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where the gateway listens, e.g. https://sms-gateway.example.gov.cn/hook"),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        min_length=SECRET_MIN,
        max_length=128,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "At least 16 characters, shared with the gateway, which checks "
            "X-SupplyCoord-Signature: sha256=HMAC-SHA256(secret, body). "
            "Leave empty to keep the current one."
        ),
    )
    kinds = forms.MultipleChoiceField(
        label=_("Kinds of notification"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every kind."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["kinds"].choices = [(code, kind.label) for code, kind in KINDS.items()]
        if creating:
            self.fields["secret"].required = True
            self.fields["secret"].help_text = _(
                "At least 16 characters, shared with the gateway, which checks "
                "X-SupplyCoord-Signature: sha256=HMAC-SHA256(secret, body)."
            )
