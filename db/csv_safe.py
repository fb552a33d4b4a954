"""CSV files that open safely and cleanly in a spreadsheet, and read back exactly.

* A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be taken
  for a formula (a customer named ``=HYPERLINK(...)`` becomes a live link in the manager's
  spreadsheet): it is written with a leading apostrophe, which spreadsheets show as text.
  Numbers (int, Decimal) are written as they are: a refund of -2.50 stays a number.
* The file starts with a UTF-8 byte order mark, so spreadsheet programs read accents and emoji.

``restore`` undoes ``neutralise`` exactly: a text that already starts with apostrophes before
such a character gets one more, so reading back strips exactly the one that was added.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

BOM = "\ufeff"
_NEUTRALISED = re.compile(r"'*[=+\-@\t\r]")  # what neutralise prefixes with one apostrophe
_RESTORE = re.compile(r"'+[=+\-@\t\r]")


def neutralise(value: object) -> object:
    """A cell value as it is written: text that a spreadsheet would run gets an apostrophe."""
    if isinstance(value, str) and _NEUTRALISED.match(value):
        return "'" + value
    return value


def restore(cell: str) -> str:
    """A cell as read back from a file ``write`` made: the apostrophe neutralise added removed."""
    return cell[1:] if _RESTORE.match(cell) else cell


def write(rows: Iterable[Sequence[str | int | Decimal | None]]) -> str:
    """CSV text (with the byte order mark) of ``rows``, every text cell neutralised."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
