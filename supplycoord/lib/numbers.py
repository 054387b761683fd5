"""How numbers read inside sentences: messages, alerts, titles.

One helper, `grouped`, for every number a sentence holds ("已保存 1,234 行", "stock 12,345"):
thousands grouped by 3 with a comma, the decimal separator of the active language, in every
language, as the figures on the pages (supplycoord/templatetags/figures.py) and the office's
spreadsheets group them. Django's own zh-Hans formats group by 4 (万) with no separator at
all (12345 stays "12345"), which the office does not read; so the grouping is fixed here and
only the decimal separator comes from the language (Django's get_format).
"""

from django.utils import numberformat
from django.utils.formats import get_format

GROUPING = 3
THOUSAND_SEPARATOR = ","


def grouped(value, decimal_pos: int | None = None) -> str:
    """`value` (an int, a Decimal, a float or a number as text) with its thousands grouped:
    12345 → "12,345", Decimal("1234.50") → "1,234.50", "2.00" → "2.00". `decimal_pos` rounds
    to that many places. None and "" give "" (the caller says what is missing)."""
    if value is None or value == "":
        return ""
    if type(value) is int and decimal_pos is None:
        return f"{value:,}"  # the same, without numberformat's work (pages call this per cell)
    return str(
        numberformat.format(
            value,
            get_format("DECIMAL_SEPARATOR"),
            decimal_pos=decimal_pos,
            grouping=GROUPING,
            thousand_sep=THOUSAND_SEPARATOR,
            force_grouping=True,
        )
    )
