"""``parse_money`` and ``format_money``: exact two-place Decimals in, clerk-readable text out.

Proves that every accepted spelling yields the exact value with exponent -2 (the sign kept, -0
normalised to 0.00), that malformed, non-finite, over-precise and over-limit input is refused
with a ``ValidationError`` naming the field, that floats and other non-money types are a
``TypeError``, and that parsing and formatting round-trip for every cent value within the limit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_desktop.domain.errors import DomainError, ValidationError
from bank_desktop.domain.money import CENT, MAX_AMOUNT, ZERO, format_money, parse_money

MAX_CENTS = int(MAX_AMOUNT * 100)
cents = st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS)


def _is_two_place(value: Decimal) -> bool:
    return value.as_tuple().exponent == -2


# ── parse_money: accepted input ───────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", "100.00"),
        ("100.5", "100.50"),
        ("1,234.56", "1234.56"),
        ("$1,234.56", "1234.56"),
        (" 42 ", "42.00"),
        ("\t42\n", "42.00"),
        ("+5", "5.00"),
        ("-5", "-5.00"),
        ("-$5.00", "-5.00"),
        ("+$5", "5.00"),
        (".5", "0.50"),
        ("5.", "5.00"),
        ("1.230", "1.23"),
        ("0", "0.00"),
        ("0.01", "0.01"),
        ("1,000,000", "1000000.00"),
        ("999,999,999,999.99", "999999999999.99"),
        ("-999999999999.99", "-999999999999.99"),
    ],
)
def test_parses_text_to_an_exact_two_place_decimal(text: str, expected: str) -> None:
    result = parse_money(text)

    assert result == Decimal(expected)
    assert str(result) == expected
    assert _is_two_place(result)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, "7.00"),
        (-7, "-7.00"),
        (0, "0.00"),
        (Decimal("12.5"), "12.50"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("1.2300"), "1.23"),
        (MAX_AMOUNT, "999999999999.99"),
        (-MAX_AMOUNT, "-999999999999.99"),
    ],
)
def test_parses_int_and_decimal_input(value: int | Decimal, expected: str) -> None:
    result = parse_money(value)

    assert str(result) == expected
    assert _is_two_place(result)


@pytest.mark.parametrize("value", ["-0", "-0.00", "+0", "-$0", Decimal("-0"), Decimal("-0E+5")])
def test_negative_zero_becomes_plain_zero(value: str | Decimal) -> None:
    result = parse_money(value)

    assert str(result) == "0.00"
    assert not result.is_signed()


# ── parse_money: refused input ────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "-Infinity",
        "1e309",
        "1e3",
        "1E5",
        "0.001",
        "1,23",
        "0,123",
        "000,000",
        "1,2345",
        "12,34.5",
        "1 000",
        "1.2.3",
        "$",
        ".",
        "-",
        "--5",
        "5-",
        "$-5",
        "0x10",
        "\u0661\u0662\u0663",  # Arabic-Indic digits
        "\uff11\uff12\uff13",  # fullwidth digits
        "\u20ac5",  # another currency symbol
        "1" * 41,
        "1000000000000",
        "1,000,000,000,000.00",
        "-1000000000000",
    ],
)
def test_refuses_malformed_or_out_of_range_text(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_money(text)

    assert caught.value.message.startswith("Amount ")
    assert caught.value.details["field"] == "Amount"


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("0.001"),
        Decimal("1E-1000"),
        Decimal("1E+30"),
        MAX_AMOUNT + CENT,
        10**12,
        -(10**30),
    ],
)
def test_refuses_unusable_decimal_and_int_input(value: Decimal | int) -> None:
    with pytest.raises(ValidationError, match=r"^Amount "):
        parse_money(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Amount is required."),
        ("   ", "Amount is required."),
        ("1" * 41, "Amount is too long to be an amount."),
        ("abc", "Amount must be a number like 1,234.56 (got 'abc')."),
        (Decimal("NaN"), "Amount must be a finite number."),
        ("1000000000000", "Amount is too large: the limit is $999,999,999,999.99."),
        ("0.001", "Amount can have at most 2 decimal places (got 0.001)."),
    ],
)
def test_refusal_messages_are_written_for_clerks(value: str | Decimal, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_money(value)

    assert caught.value.message == message
    assert str(caught.value) == message


def test_the_longest_accepted_text_is_forty_characters() -> None:
    assert parse_money("0" * 38 + ".5") == Decimal("0.50")
    with pytest.raises(ValidationError, match="too long"):
        parse_money("0" * 39 + ".5")


def test_the_limit_is_inclusive() -> None:
    assert parse_money("999999999999.99") == MAX_AMOUNT
    with pytest.raises(ValidationError, match="too large"):
        parse_money("1000000000000.00")


@pytest.mark.parametrize("value", [0.1, 1.0, 0.0, float("nan"), True, False, None, [], ["1"], {}])
def test_non_money_types_are_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"^Amount must be text or a Decimal"):
        parse_money(value)  # type: ignore[arg-type]


def test_type_error_is_not_a_domain_error() -> None:
    with pytest.raises(TypeError) as caught:
        parse_money(0.1)  # type: ignore[arg-type]

    assert not isinstance(caught.value, DomainError)
    assert "float" in str(caught.value)


@pytest.mark.parametrize("value", ["", "abc", "0.001", "1e3", "1000000000000", Decimal("NaN")])
def test_field_name_appears_in_validation_messages(value: str | Decimal) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_money(value, field="Initial balance")

    assert caught.value.message.startswith("Initial balance ")
    assert caught.value.details["field"] == "Initial balance"


@pytest.mark.parametrize("value", [0.5, True, None])
def test_field_name_appears_in_type_errors(value: object) -> None:
    with pytest.raises(TypeError, match=r"^Deposit amount "):
        parse_money(value, field="Deposit amount")  # type: ignore[arg-type]


# ── parse_money: properties ───────────────────────────────────────────────────────────────


@given(cents)
def test_grouped_text_round_trips_exactly(c: int) -> None:
    value = Decimal(c) / 100

    result = parse_money(f"{value:,.2f}")

    assert result == value
    assert _is_two_place(result)


@given(cents)
def test_plain_decimal_text_round_trips_exactly(c: int) -> None:
    value = Decimal(c).scaleb(-2)

    assert parse_money(str(value)) == value
    assert parse_money(value) == value


@given(cents)
def test_formatted_money_parses_back_to_the_same_value(c: int) -> None:
    value = Decimal(c).scaleb(-2)

    assert parse_money(format_money(value)) == value


@given(st.integers(min_value=-int(MAX_AMOUNT), max_value=int(MAX_AMOUNT)))
def test_int_input_is_whole_currency_units(units: int) -> None:
    result = parse_money(units)

    assert result == Decimal(units)
    assert _is_two_place(result)


@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_is_either_exact_cents_within_the_limit_or_refused(value: Decimal) -> None:
    try:
        result = parse_money(value)
    except ValidationError:
        assert not value.is_finite() or abs(value) > MAX_AMOUNT or value != value.quantize(CENT)
    else:
        assert result == value
        assert _is_two_place(result)
        assert abs(result) <= MAX_AMOUNT


@given(st.text(max_size=45))
def test_arbitrary_text_is_parsed_or_refused_never_crashes(text: str) -> None:
    try:
        result = parse_money(text)
    except ValidationError as refusal:
        details = refusal.details
    else:
        assert _is_two_place(result)
        assert abs(result) <= MAX_AMOUNT
        return
    assert details["field"] == "Amount"


# ── format_money ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-5"), "-$5.00"),
        (Decimal("0"), "$0.00"),
        (Decimal("-0.00"), "$0.00"),
        (Decimal("0.05"), "$0.05"),
        (Decimal("1E+2"), "$100.00"),
        (Decimal("100.00"), "$100.00"),
        (Decimal("1234567.891"), "$1,234,567.891"),
        (MAX_AMOUNT, "$999,999,999,999.99"),
        (-MAX_AMOUNT, "-$999,999,999,999.99"),
        (ZERO, "$0.00"),
        (Decimal("1E+30"), "$1,000,000,000,000,000,000,000,000,000,000.00"),
    ],
)
def test_formats_for_clerks(amount: Decimal, expected: str) -> None:
    assert format_money(amount) == expected


def test_format_never_rounds_away_digits_it_was_given() -> None:
    assert format_money(Decimal("0.30000000000000004")) == "$0.30000000000000004"
    assert format_money(Decimal("-0.005")) == "-$0.005"


def test_format_takes_another_currency_symbol() -> None:
    assert format_money(Decimal("-1234.5"), currency="EUR ") == "-EUR 1,234.50"


# ── absurd exponents (issue 11, item 8) ───────────────────────────────────────────────────


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+999999999"),
        Decimal("-1E+999999999"),
        Decimal("9.99E+1000000"),
        Decimal("1E-999999999"),
        Decimal("-5E-1000000000"),
        pytest.param(10**1_000_000, id="10**1000000"),
    ],
)
def test_absurd_exponents_are_refused_before_any_arithmetic(value: Decimal | int) -> None:
    # abs(), quantize() and sums round to the context and overflow on such exponents: a JSON
    # body can carry 1E+999999999 and it once reached abs() as a 500.
    with pytest.raises(ValidationError, match=r"^Amount "):
        parse_money(value)


def test_zero_with_an_absurd_exponent_is_zero() -> None:
    assert str(parse_money(Decimal("0E+999999999"))) == "0.00"
    assert str(parse_money(Decimal("-0E-999999999"))) == "0.00"


@given(
    st.builds(
        lambda sign, digits, exponent: Decimal((sign, tuple(int(d) for d in digits), exponent)),
        st.integers(0, 1),
        st.text("0123456789", min_size=1, max_size=40),
        st.integers(-2_000_000_000, 2_000_000_000),
    )
)
def test_any_exponent_is_parsed_or_refused_never_an_arithmetic_signal(value: Decimal) -> None:
    try:
        result = parse_money(value)
    except ValidationError:
        return
    assert _is_two_place(result)
    assert -MAX_AMOUNT <= result <= MAX_AMOUNT
    assert result == value
