"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters: registration authority, organisation kind, the region code, the organisation
code and a check character over the first 17. The alphabet leaves out I, O, Z, S and V so
that handwritten codes cannot be misread.
"""

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in ALPHABET)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if not isinstance(code, str) or len(code) != LENGTH:
        return False
    if any(c not in ALPHABET for c in code):
        return False
    return check_character(code[:17]) == code[17]


@deconstructible
class CreditCodeValidator:
    message = _("Enter a valid 18-character unified social credit code.")
    code = "invalid_credit_code"

    def __call__(self, value):
        if not is_valid_credit_code(value):
            raise ValidationError(self.message, code=self.code, params={"value": value})

    def __eq__(self, other):
        return isinstance(other, CreditCodeValidator)


validate_credit_code = CreditCodeValidator()
