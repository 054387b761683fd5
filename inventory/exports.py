"""The stock card export (货位卡), declared on the one exporter base (supplycoord/exports.py):
one item in one warehouse, every line with its running balance.

The same card the page shows (`selectors.stock_card`: same filters, same balances), as .xlsx
or as streamed CSV. The first row after the header is the opening balance, the last the
closing balance; quantities are in the item's unit, named in its own column and in the title.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import DATETIME, INT, Column, Exporter, Strong, describe_filters, person
from supplycoord.models import Item

from . import selectors
from .forms import StockCardFilterForm
from .models import StockEventKind, Warehouse

# Lines are read from the database in chunks of this many, never all at once.
CHUNK = 2000


def _detail(event):
    if event.receipt_source:
        return str(event.get_receipt_source_display())
    if event.issue_kind:
        return str(event.get_issue_kind_display())
    if event.adjustment_reason:
        return str(event.get_adjustment_reason_display())
    return ""


def _reversal(event):
    if event.reverses_id:
        return _("reverses %(number)s") % {"number": event.reverses.document_number}
    reversal = getattr(event, "reversed_by", None)
    if reversal is not None:
        return _("reversed by %(number)s") % {"number": reversal.document_number}
    return ""


def export_lines(card):
    """The card's lines with what the export shows: the reversal links joined, in chunks."""
    return card.lines.select_related("event__reverses", "event__reversed_by").iterator(
        chunk_size=CHUNK
    )


class StockCardExport(Exporter):
    """`params`: the page's filters (?from, ?to, ?kind) and `warehouse_code`, `item_code`.
    The page passes the card it built (`card`); a background job builds it from `params`."""

    read_rule = staticmethod(permissions.can_read_prefecture_data)

    title = gettext_lazy("Stock card")

    def __init__(self, user, params=None, *, card=None):
        super().__init__(user, params)
        self.filters = StockCardFilterForm(self.params)
        if card is None:
            warehouse = get_object_or_404(Warehouse, code=self.params.get("warehouse_code"))
            item = get_object_or_404(Item, code=self.params.get("item_code"))
            card = selectors.stock_card(
                user, warehouse=warehouse, item=item, **self.filters.filters()
            )
        else:
            self.filters.is_valid()
        self.card = card
        self.unit = str(card.item.get_unit_display())

    def columns(self):
        return [
            Column("occurred_at", _("Date"), DATETIME, 17),
            Column("document_number", _("Document number"), width=18),
            Column("kind", _("Kind"), width=10),
            Column("detail", _("Source / reason"), width=14),
            Column("counterparty", _("From / to"), width=20),
            Column("source_document", _("Source document"), width=20),
            Column("unit", _("Unit"), width=7),
            Column("quantity_in", _("In"), INT, 11),
            Column("quantity_out", _("Out"), INT, 11),
            Column("counted", _("Counted"), INT, 11),
            Column("balance", _("Balance"), INT, 12),
            Column("recorded_by", _("Recorded by"), width=12),
            Column("reversal", _("Reversal"), width=20),
        ]

    def date_range(self):
        return (self.card.date_from, self.card.date_to)

    def filters_text(self):
        card = self.card
        parts = [
            f"{_('Warehouse')}: {card.warehouse.code} {card.warehouse.name}",
            f"{_('Item')}: {card.item.code} {card.item.name}",
        ]
        kinds = describe_filters(self.filters, skip=("from", "to"))
        return "; ".join([*parts, kinds] if kinds else parts)

    def unit_text(self):
        return self.unit

    def filename_parts(self):
        card = self.card
        dates = [d.isoformat() for d in (card.date_from, card.date_to) if d]
        return [card.warehouse.code, card.item.code, *dates]

    def count(self) -> int:
        return self.card.lines.count()

    def rows(self):
        card = self.card
        yield Strong(occurred_at=str(_("Opening balance")), unit=self.unit, balance=card.opening)
        for line in export_lines(card):
            event = line.event
            yield {
                "occurred_at": line.occurred_at,
                "document_number": event.document_number,
                "kind": str(StockEventKind(event.kind).label),
                "detail": _detail(event),
                "counterparty": event.counterparty,
                "source_document": event.source_document,
                "unit": self.unit,
                "quantity_in": line.quantity if line.quantity > 0 else None,
                "quantity_out": -line.quantity if line.quantity < 0 else None,
                "counted": line.counted,
                "balance": line.balance_after,
                "recorded_by": person(event.recorded_by),
                "reversal": _reversal(event),
            }
        yield Strong(occurred_at=str(_("Closing balance")), unit=self.unit, balance=card.closing)
