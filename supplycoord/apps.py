from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupplyCoordConfig(AppConfig):
    name = "supplycoord"
    verbose_name = _("Reference data and accounts")
