"""What every export does to text that people typed: it stays text in a spreadsheet.

A cell starting with = + - @ tab or carriage return is a formula to Excel, WPS and
LibreOffice: a counterparty "=HYPERLINK(…)" or a note "@SUM(…)" would run in the office's
copy of a ledger (CSV injection, OWASP). Following OWASP, such a cell gets a leading
apostrophe, so the spreadsheet shows it as typed and never evaluates it. Leading spaces and
line feeds are looked past, since some spreadsheets trim them before deciding.

The same rule exists twice, once for values written from Python (`formula_safe`) and once
for values PostgreSQL formats itself in a COPY (`formula_safe_sql`); tests hold them equal.
For openpyxl this also matters: it writes any str starting with "=" as a formula.

Every download's name, and its Content-Disposition, are made here too (`download_name`,
`attachment_header`), for the exporters and the Excel import templates alike.
"""

import re
from urllib.parse import quote

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


# --- Download names ---------------------------------------------------------------------------
# A download is named in the UI language of the request that asks for it: its title as a
# file name (调拨台账, allocation-ledger), then its parts (dates, codes, a prefecture's name),
# joined by hyphens: 调拨台账-2026-12-03.xlsx, allocation-ledger-2026-12-03.xlsx.

# Characters no file name may hold on Windows, macOS or Linux, and the separators of our own.
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|]+')
# Unicode's bidirectional controls (embeddings and overrides U+202A–U+202E, isolates
# U+2066–U+2069, and the marks U+200E, U+200F, U+061C): typed into a name or a code they
# change the order a file manager shows the name's characters in, so that a name could seem
# to end in another extension than its own. Dropped: a name shows as it is.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"-{2,}")
# The longest stem (the name before ".xlsx") a download gets, in characters: a long filter
# (a prefecture's full name, several codes) still leaves a name every file system and
# browser keeps whole.
MAX_STEM_LENGTH = 150


def _name_part(text) -> str:
    text = _UNSAFE_IN_NAMES.sub("-", _BIDI_CONTROLS.sub("", str(text))).strip()
    return _SPACES.sub("-", text).strip("-.")


def download_name(title, parts, ext: str) -> str:
    """The file name of a download: the title in lower case ("Allocation ledger" →
    "allocation-ledger"; Chinese has no case), then the non-empty `parts` as they are (codes
    keep theirs), spaces as hyphens, characters a file system refuses and bidirectional
    controls dropped, the stem cut to MAX_STEM_LENGTH characters."""
    words = [_name_part(title).lower(), *(_name_part(p) for p in parts if p not in (None, ""))]
    stem = _HYPHENS.sub("-", "-".join(w for w in words if w))
    stem = stem[:MAX_STEM_LENGTH].rstrip("-.") or "export"
    return f"{stem}.{ext}"


def ascii_name(filename: str) -> str:
    """`filename` with every character outside printable ASCII dropped (and the quote and
    backslash a quoted string escapes), for the `filename=` of old clients."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    kept = "".join(c for c in stem if " " <= c <= "~" and c not in '"\\')
    kept = _HYPHENS.sub("-", kept).strip("-. ") or "export"
    return f"{kept}.{ext}" if ext else kept


def attachment_header(filename: str, *, fallback: str | None = None) -> str:
    """Content-Disposition of a download named `filename` (RFC 6266): an ASCII `filename`
    first, for clients that know no better (`fallback`, e.g. the English name, made ASCII;
    else `filename` made ASCII), then the UTF-8 name as `filename*` (RFC 5987, every byte
    outside its attr-chars percent-encoded, "/" too), which every current browser prefers.
    The charset is written "utf-8", as Django writes it (RFC 5987: case does not matter)."""
    filename = _BIDI_CONTROLS.sub("", filename)  # a name stored before they were dropped
    plain = ascii_name(fallback or filename)
    return f"attachment; filename=\"{plain}\"; filename*=utf-8''{quote(filename, safe='')}"
