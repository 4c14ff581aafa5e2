"""How list and show commands print: a table for people that never cuts an id (operators copy
them into `resend`, `cancel`, …), or `--json` for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")
]


def print_json(data: Any) -> None:
    """UTF-8 JSON on stdout (Vietnamese names kept readable); datetimes as ISO 8601."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, whole: Sequence[str] = ()
) -> None:
    """Columns named in `whole` (ids, codes) are printed in full, never wrapped or cut: the
    table grows wider than the terminal if it must; other columns wrap."""
    table = Table(*headers)
    texts = [["" if cell is None else str(cell) for cell in row] for row in rows]
    for i, column in enumerate(table.columns):
        if headers[i] in whole:
            column.no_wrap = True
            column.min_width = max([len(headers[i]), *(len(r[i]) for r in texts)])
        else:
            column.overflow = "fold"
    for row in texts:
        table.add_row(*row)
    console = Console()
    needed = console.measure(table, options=console.options.update_width(100_000)).minimum
    Console(width=max(console.width, needed)).print(table)
