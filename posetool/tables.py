"""Rich tables that fit the terminal: every cell shown whole, never squeezed into "…".

A rich table wider than the console shrinks its columns and cuts what no longer fits with an
ellipsis, and a metric cut to ``10…`` reads as a different number. These helpers measure the cells
first and lay the table out to the console's width (rich reads ``COLUMNS``; 80 when stdout is not a
terminal): :func:`split_to_width` wraps the columns of a wide table into several tables that each
repeat its first (label) column, and :func:`keep_columns` drops the least needed columns of a
listing and says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rich.cells import cell_len
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

# Width rich's default box adds: per column a border and one space of padding on each side; per
# table the closing border.
COLUMN_EXTRA = 3
TABLE_EXTRA = 1


def stdout_console() -> Console:
    """The console a command's report goes to (stdout; width from the terminal or ``COLUMNS``)."""
    return Console(highlight=False)


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def column_width(column: Column) -> int:
    """Cells the widest line of ``column`` (header included) needs to be shown whole."""
    lines = [_plain(column.header), *(_plain(c) for c in column.cells)]
    return max((cell_len(part) for line in lines for part in line.splitlines() or [""]), default=0)


def table_width(widths: Sequence[int]) -> int:
    """Width of a table whose columns' contents are ``widths`` cells wide."""
    return sum(w + COLUMN_EXTRA for w in widths) + TABLE_EXTRA


def _with_columns(table: Table, columns: Sequence[Column], title: str | None, caption: str | None) -> Table:
    """A table like ``table`` (title, box, styles) holding copies of ``columns`` and their cells."""
    out = Table(*(c.copy() for c in columns), title=title, caption=caption, title_justify=table.title_justify,
                caption_justify=table.caption_justify, box=table.box, show_header=table.show_header,
                show_lines=table.show_lines, show_edge=table.show_edge)
    for row in zip(*(list(c.cells) for c in columns)):
        out.add_row(*row)
    return out


def split_to_width(table: Table, width: int) -> list[Table]:
    """``table`` as one table if it fits ``width``, else its columns wrapped into several tables.

    Each part repeats the first column (the row labels), so every part reads on its own; only
    the first part carries the title and only the last the caption. A label column too wide for
    even one more column folds its text instead of cutting it.
    """
    columns = list(table.columns)
    widths = [column_width(c) for c in columns]
    if len(columns) < 3 or table_width(widths) <= width:
        return [table]
    label, rest = columns[0], list(zip(columns[1:], widths[1:]))
    label_w = min(widths[0], max(8, width - TABLE_EXTRA - 2 * COLUMN_EXTRA - max(w for _, w in rest)))
    label = replace(label, overflow="fold", max_width=label_w)  # keeps its cells
    groups: list[list[Column]] = []
    used = label_w + COLUMN_EXTRA + TABLE_EXTRA
    for column, w in rest:
        if not groups or used + w + COLUMN_EXTRA > width:
            groups.append([])
            used = label_w + COLUMN_EXTRA + TABLE_EXTRA
        groups[-1].append(column)
        used += w + COLUMN_EXTRA
    parts = []
    for i, group in enumerate(groups):
        title = table.title if i == 0 else None
        caption = table.caption if i == len(groups) - 1 else None
        parts.append(_with_columns(table, [label, *group], title, caption))
    return parts


def keep_columns(table: Table, width: int, priority: Sequence[str]) -> tuple[Table, list[str]]:
    """``table`` without the columns that do not fit ``width``, and the headers of those dropped.

    Columns are kept in the order of ``priority`` (headers; columns not named come last) while the
    table still fits; kept columns stay in their original order. A column whose ``no_wrap`` is
    False counts with its ``min_width`` (it wraps into whatever room is left) rather than its widest
    cell. The first priority is always kept.
    """
    columns = list(table.columns)
    rank = {h: i for i, h in enumerate(priority)}
    order = sorted(range(len(columns)), key=lambda i: rank.get(_plain(columns[i].header), len(rank) + i))

    def need(c: Column) -> int:
        full = column_width(c)
        return full if c.no_wrap or c.min_width is None else min(full, c.min_width)

    kept: list[int] = []
    used = TABLE_EXTRA
    for i in order:
        w = need(columns[i]) + COLUMN_EXTRA
        if kept and used + w > width:
            continue
        kept.append(i)
        used += w
    if len(kept) == len(columns):
        return table, []
    dropped = [_plain(columns[i].header) for i in range(len(columns)) if i not in kept]
    return _with_columns(table, [columns[i] for i in sorted(kept)], table.title, table.caption), dropped


def print_fitted(*tables: Table, console: Console | None = None) -> None:
    """Print each table on stdout, wrapped to the console's width (:func:`split_to_width`)."""
    out = console or stdout_console()
    for table in tables:
        for part in split_to_width(table, out.width):
            out.print(part)
