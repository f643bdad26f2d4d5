"""Text folded for search as Vietnamese users type it: lower case, no accents, đ → d."""

from __future__ import annotations

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """``"Nguyễn Đức"`` → ``"nguyen duc"``; whitespace runs become one space."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().split())


def search_text(name: str, address: str, account_no: str, phone: str) -> str:
    """What a customer's search column holds (bounded by the column's 700 characters)."""
    return fold(f"{account_no} {phone} {name} {address}")[:700]
