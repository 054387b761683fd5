from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from allocation.signals import batch_moved
        from inventory.signals import daily_figures_changed, stock_changed
        from production.dashboard import register_consumption_reader

        from .receivers import (
            rebuild_after_batch_moved,
            rebuild_after_figures_changed,
            rebuild_after_stock_changed,
        )
        from .selectors import province_consumption_by_day

        daily_figures_changed.connect(rebuild_after_figures_changed, dispatch_uid="reports-rebuild")
        stock_changed.connect(rebuild_after_stock_changed, dispatch_uid="reports-rebuild-stock")
        batch_moved.connect(rebuild_after_batch_moved, dispatch_uid="reports-rebuild-batches")
        # The production dashboard sets output beside the province's consumption.
        register_consumption_reader(province_consumption_by_day)
