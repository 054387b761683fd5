"""What text and numbers SupplyCoord accepts at its doors (pages, API, imports, commands).

One rule for every door, so a value refused by the API is refused by the page too:

- No field holds a control character (C0, DEL, C1) or a lone surrogate. PostgreSQL cannot
  store NUL at all (the driver raises, a 500), a lone surrogate cannot be encoded as UTF-8,
  and the others are invisible on screen and in Excel, so a code or name holding one would
  never match what people see.
- Free text (notes, reasons, descriptions, resolutions) may span lines: tab, line feed and
  carriage return are allowed there, and only there. Which fields are free text is decided
  by their name (FREE_TEXT_FIELDS), the same at every door.
- No number is larger in size than SUPPLYCOORD["MAX_QUANTITY"] (default 10^12): beyond it
  a figure is a typo, and far beyond it (10^20) it would not fit the database's columns.
"""

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Field names whose values are free text, also as a part of a longer name: `lines-0-note` (a
# formset), `reason-620100` (a table of inputs), `rows[3].reason` (JSON). Every other field is
# a single line.
FREE_TEXT_FIELDS = frozenset(
    {"note", "reason", "description", "resolution", "discrepancy_note", "justification"}
)

_SURROGATES = "\ud800-\udfff"
_SINGLE_LINE_REFUSED = re.compile(f"[\x00-\x1f\x7f-\x9f{_SURROGATES}]")
_FREE_TEXT_REFUSED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_SURROGATES}]")
_NAME_PARTS = re.compile(r"[^A-Za-z0-9_]+")


def max_quantity() -> int:
    return settings.SUPPLYCOORD["MAX_QUANTITY"]


def is_free_text(field_name: str) -> bool:
    """Whether a field of this name may span lines (see FREE_TEXT_FIELDS)."""
    return any(part in FREE_TEXT_FIELDS for part in _NAME_PARTS.split(field_name or ""))


def text_error(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is refused, translated, or None. `multiline`: free text (tab, line breaks)."""
    found = (_FREE_TEXT_REFUSED if multiline else _SINGLE_LINE_REFUSED).search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\t\n\r":
        return _("Enter a single line: line breaks and tabs are not accepted here.")
    if "\ud800" <= char <= "\udfff":
        return _("The text holds an invalid character (U+%(code)04X).") % {"code": ord(char)}
    return _(
        "The text holds an invisible control character (U+%(code)04X); remove it and try again."
    ) % {"code": ord(char)}


def field_text_error(field_name: str, value: str) -> str | None:
    """`text_error` with the rule of the field's name (free text or a single line)."""
    return text_error(value, multiline=is_free_text(field_name))


def number_error(value) -> str | None:
    """Why a number is refused (not finite, or beyond ±MAX_QUANTITY), translated, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return _("Enter a finite number.")
    if abs(value) > max_quantity():
        return _("Numbers larger than %(max)s are not accepted.") % {"max": f"{max_quantity():,}"}
    return None


def ascii_whole_number(text: str, *, max_digits: int = 18) -> int | None:
    """`text` as a whole number when it is plain ASCII digits, at most `max_digits` of them
    after leading zeros, else None. Never raises: str.isdigit() says yes to "²", which
    int() refuses, and int() refuses more than 4,300 digits (Python's guard against slow
    conversions); both were 500s."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= max_digits else None


def validate_single_line(value) -> None:
    """Django validator for codes, names and other one-line fields."""
    message = text_error(value) if isinstance(value, str) else None
    if message:
        raise ValidationError(message, code="control_character")


def validate_free_text(value) -> None:
    """Django validator for notes and reasons: line breaks and tabs allowed, nothing else."""
    message = text_error(value, multiline=True) if isinstance(value, str) else None
    if message:
        raise ValidationError(message, code="control_character")
