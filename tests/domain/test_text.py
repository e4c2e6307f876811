"""Free text and ids: invisible format characters are refused like the bidi controls.

Unicode category Cf holds characters that draw nothing: a zero-width space, a BOM or a soft
hyphen makes ``cust-1`` and ``cust-1\u200b`` look the same on screen and in a statement while
they are two customers; tag characters can smuggle whole hidden words through an export.
"""

from __future__ import annotations

import pytest

from bank_desktop.domain.errors import ValidationError
from bank_desktop.domain.text import optional_text, required_text

INVISIBLE = [
    "\u200b",  # zero-width space
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u00ad",  # soft hyphen
    "\U000e0041",  # tag latin capital letter A
    "\U000e007f",  # cancel tag
    "\u2060",  # word joiner
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2062",  # invisible times
    "\u202e",  # right-to-left override (a bidi control, refused before too)
]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_format_characters_are_refused(char: str) -> None:
    for text in (f"cust{char}1", f"{char}cust-1", f"cust-1{char}"):
        with pytest.raises(ValidationError, match=r"^Customer id must not contain"):
            required_text(text, "Customer id", max_length=64)
        with pytest.raises(ValidationError, match=r"^Description must not contain"):
            optional_text(f"Pay {text}", "Description", max_length=200)


def test_what_a_clerk_types_is_still_fine() -> None:
    for text in ("Café René", "Zahlung für März", "支払い", "Ödön\u00a0Kovács", "O’Brien – rent"):
        assert required_text(text, "Description", max_length=200) == text
    assert required_text("  cust-1  ", "Customer id", max_length=64) == "cust-1"
