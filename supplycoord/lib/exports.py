"""What every export does to text that people typed: it stays text in a spreadsheet.

A cell starting with = + - @ tab or carriage return is a formula to Excel, WPS and
LibreOffice: a counterparty "=HYPERLINK(…)" or a note "@SUM(…)" would run in the office's
copy of a ledger (CSV injection, OWASP). Following OWASP, such a cell gets a leading
apostrophe, so the spreadsheet shows it as typed and never evaluates it. Leading spaces and
line feeds are looked past, since some spreadsheets trim them before deciding.

The same rule exists twice, once for values written from Python (`formula_safe`) and once
for values PostgreSQL formats itself in a COPY (`formula_safe_sql`); tests hold them equal.
For openpyxl this also matters: it writes any str starting with "=" as a formula.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LOOKED_PAST = " \n"

# The same rule as a PostgreSQL regular expression (advanced regex: \t, \n, \r escapes).
_FORMULA_PATTERN = r"^[ \n]*[=+\-@\t\r]"


def formula_safe(value):
    """`value` with a leading apostrophe if a spreadsheet would read it as a formula.

    Only str values change: numbers, dates and None are returned as they are (a negative
    number is a number, not a formula)."""
    if isinstance(value, str) and value.lstrip(_LOOKED_PAST).startswith(FORMULA_STARTS):
        return "'" + value
    return value


def formula_safe_sql(expression: str) -> str:
    """`formula_safe` as SQL around a text `expression` (NULL stays NULL)."""
    return (
        f"CASE WHEN ({expression}) ~ '{_FORMULA_PATTERN}' "
        f"THEN '''' || ({expression}) ELSE ({expression}) END"
    )
