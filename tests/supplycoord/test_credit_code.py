import pytest
from django.core.exceptions import ValidationError

from supplycoord.lib.credit_code import check_character, is_valid_credit_code, validate_credit_code
from tests.production.conftest import VALID_CODES


@pytest.mark.parametrize("code", VALID_CODES)
def test_it_accepts_real_codes(code):
    assert is_valid_credit_code(code)
    validate_credit_code(code)


def test_it_computes_the_check_character_of_the_standard_example():
    assert check_character("91350100M000100Y4") == "3"


def test_it_completes_a_code_with_its_computed_check_character():
    assert is_valid_credit_code("91110000100000000" + check_character("91110000100000000"))


def test_it_refuses_a_wrong_check_character():
    assert not is_valid_credit_code("91350100M000100Y44")
    with pytest.raises(ValidationError):
        validate_credit_code("91350100M000100Y44")


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", ""])
def test_it_refuses_a_wrong_length(code):
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("letter", "IOZSV")
def test_it_refuses_forbidden_letters(letter):
    body = "91350100" + letter + "00010000"
    assert not is_valid_credit_code(body + "0")
    with pytest.raises(ValidationError):
        validate_credit_code(body + "0")


def test_it_refuses_lower_case():
    assert not is_valid_credit_code("91350100m000100y43")
