"""How figures look on every page: thousands grouped by 3 (as in the office's spreadsheets,
and as supplycoord.lib.numbers.grouped groups numbers in sentences),
in every language, and a dash for a missing figure (never 0, which would mean "none left")."""

from django import template

from supplycoord.lib.numbers import grouped

register = template.Library()

MISSING = "—"


@register.filter
def qty(value):
    """A whole quantity: 1234567 → 1,234,567."""
    if value is None or value == "":
        return MISSING
    return grouped(int(value))


@register.filter
def rate(value):
    """A daily rate with one decimal: 26721.43 → 26,721.4."""
    if value is None or value == "":
        return MISSING
    return f"{float(value):,.1f}"


@register.filter
def days(value):
    """Days of cover with two decimals, as stored: 3.5 → 3.50."""
    if value is None or value == "":
        return MISSING
    return f"{float(value):.2f}"
