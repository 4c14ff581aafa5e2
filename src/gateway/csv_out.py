"""The one place the gateway writes CSV (reports for operators, opened in spreadsheets).

Text that agencies chose (unit names, subjects) is written so a spreadsheet shows it as text:
a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula
(`=HYPERLINK(…)` registered as a unit name), so it gets a leading apostrophe (OWASP's advice).
Numbers stay numbers: only str cells are touched, and a str that is a plain number is kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    formula = isinstance(value, str) and value.startswith(_FORMULA_START)
    return "'" + value if formula and not _PLAIN_NUMBER.fullmatch(value) else value


def unsafe_cell(value: str) -> str:
    """What `safe_cell` protected, read back (the registry's export is re-imported)."""
    protected = value.startswith("'") and value[1:].startswith(_FORMULA_START)
    return value[1:] if protected and not _PLAIN_NUMBER.fullmatch(value[1:]) else value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (spreadsheets then read Vietnamese right), CRLF."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue().encode("utf-8-sig")
