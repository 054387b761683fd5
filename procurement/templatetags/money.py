"""Money on the procurement pages: yuan with fen, thousands grouped as every figure is
(supplycoord.lib.numbers.grouped), a dash when missing."""

from django import template

from supplycoord.lib.numbers import grouped

register = template.Library()


@register.filter
def yuan(value):
    """Decimal("12100000") → "12,100,000.00"; None → "—"."""
    if value is None or value == "":
        return "—"
    return grouped(value, 2)
