from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from supplycoord.models import Item, Prefecture

FIGURE_FIELDS = ("stock", "received", "consumption", "demand", "expected_arrivals_3d")


class DailyFigure(models.Model):
    """日报: one prefecture's figures for one item and day.

    One row per (prefecture, item, date). A later submission for the same key is a
    correction: it replaces the figures here and django-simple-history keeps the old ones,
    with who changed them, when, and why.
    """

    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        related_name="daily_figures",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="daily_figures"
    )
    date = models.DateField(_("date"))
    stock = models.PositiveBigIntegerField(_("stock"))
    received = models.PositiveBigIntegerField(_("received"))
    consumption = models.PositiveBigIntegerField(_("consumption"))
    demand = models.PositiveBigIntegerField(_("demand"))
    expected_arrivals_3d = models.PositiveBigIntegerField(_("expected arrivals within 3 days"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    # The first submission decides punctuality; corrections keep it (the prefecture did report).
    first_submitted_at = models.DateTimeField(_("first submitted at"))
    submitted_at = models.DateTimeField(_("last submitted at"))
    on_time = models.BooleanField(_("on time"))
    correction_reason = models.CharField(_("reason for correction"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        ordering = ["date", "prefecture__code", "item__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["prefecture", "item", "date"], name="daily_figure_key"),
        ]
        indexes = [models.Index(fields=["date", "prefecture"])]

    def __str__(self):
        return f"{self.prefecture.code} {self.item.code} {self.date}"

    def figures(self) -> dict:
        return {f: getattr(self, f) for f in FIGURE_FIELDS}
