"""Text that is safe to store and to write out (issue #16 items 10–11).

- `clean_text`: input text without control characters (newline and tab stay), Unicode
  non-characters (U+FFFE, U+FFFF and the like, which make XML and XLSX unreadable) or lone
  surrogates (which PostgreSQL cannot store). Used at every API input of free text and again
  when a spreadsheet is written (rows stored before this rule existed).
- `spreadsheet_text`: a cell value that a spreadsheet program will never run as a formula:
  text starting with = + - @, a tab or a carriage return gets a leading apostrophe (OWASP's
  advice for CSV injection), after `clean_text`. Numbers stay numbers.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
    )
    + "]"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def clean_text(value: str) -> str:
    return _UNSAFE.sub("", value)


def clean_json(value):
    """`clean_text` on every string (keys too) of a JSON value."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def spreadsheet_text(value):
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value
