from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from allocation.signals import batch_moved
        from inventory.signals import daily_figures_changed, stock_changed

        from .receivers import (
            rebuild_after_batch_moved,
            rebuild_after_figures_changed,
            rebuild_after_stock_changed,
        )

        daily_figures_changed.connect(rebuild_after_figures_changed, dispatch_uid="reports-rebuild")
        stock_changed.connect(rebuild_after_stock_changed, dispatch_uid="reports-rebuild-stock")
        batch_moved.connect(rebuild_after_batch_moved, dispatch_uid="reports-rebuild-batches")
