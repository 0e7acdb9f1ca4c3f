"""Tables in Chinese government documents: parse them into rows that read on their own.

Two shapes occur in exported reports:

* pipe tables, one row per line (`指标名称 | 2021年实绩 | …`), sometimes with a two-row header
  (`2021年实绩` spanning `绝对值(亿元)` and `增幅(%)`), merged cells that shift a row's columns (a
  row starting at 序号 because its 项目 cell was merged from above) and a header repeated at every
  page break;
* tables flattened to one cell per line (a PDF/web export): 序号, 指标名称, 年度目标, … each on
  its own line, rows found only through the 序号 sequence 1, 2, 3 ….

No library rebuilds these (markdown/HTML table parsers need a well-formed grid), so the rules
below are hand-written. Everything works on offsets into the document: a cell is a span
[start, end), so a row can be rendered from the display text (original script) or the aligned
search text (normalised Simplified) alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.zh import compact

Span = tuple[int, int]
# A column name: its header levels (parent, sub-header), each level one or more spans that are
# concatenated, since a flattened header can break one name over two lines (目标 / 完成率(%)).
ColumnName = tuple[tuple[Span, ...], ...]

LEVEL_SEP = "·"
_NUMBER = re.compile(r"[+\-]?\d+(?:\.\d+)?%?")
_INTEGER = re.compile(r"\d{1,4}")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Row:
    start: int  # the row's own source span in the document
    end: int
    cells: tuple[Span | None, ...]  # one per column; None where the cell is empty
    filled: tuple[bool, ...] = ()  # True where the value was filled down from a merged cell above
    group: Span | None = None  # a group label row above it (主要预期目标, 其它指标)


@dataclass(frozen=True)
class Table:
    start: int  # the whole table region: header rows, group labels and data rows
    end: int
    columns: tuple[ColumnName, ...]
    rows: tuple[Row, ...]


# --- small helpers ------------------------------------------------------------------------------
def is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(compact(text)))


def is_integer(text: str) -> bool:
    return bool(_INTEGER.fullmatch(compact(text)))


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def strip_span(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def cell_text(text: str, span: Span | None) -> str:
    """A cell's value on one line: inner whitespace runs become one space."""
    return "" if span is None else re.sub(r"\s+", " ", text[span[0] : span[1]]).strip()


def column_name(text: str, name: ColumnName) -> str:
    """`2021年实绩·绝对值(亿元)`: levels joined with ·, whitespace dropped (备 注 -> 备注)."""
    levels = ("".join(compact(text[s:e]) for s, e in level) for level in name)
    return LEVEL_SEP.join(level for level in levels if level)


def row_cells(text: str, columns: Sequence[ColumnName], row: Row) -> tuple[tuple[str, str], ...]:
    """(column name, value) of a row's non-empty cells; a cell beyond the header gets an empty name."""
    cells = []
    for k, span in enumerate(row.cells):
        value = cell_text(text, span)
        if value:
            cells.append((column_name(text, columns[k]) if k < len(columns) else "", value))
    return tuple(cells)


def render_cells(cells: Sequence[tuple[str, str]], sep: str = " | ") -> str:
    """`指标名称: 地区生产总值 | 年度目标: 7% | …`: how a row reads on its own (for people and the embedder)."""
    return sep.join(f"{name}: {value}" if name else value for name, value in cells)


# --- pipe tables --------------------------------------------------------------------------------
def is_pipe_line(line: str) -> bool:
    return line.count("|") >= 2


def pipe_cells(text: str, start: int, end: int) -> list[Span | None]:
    """Cells of one `a | b | c |` line as spans; a leading `|` and trailing empty cells dropped."""
    cells: list[Span | None] = []
    pos = start
    for piece in text[start:end].split("|"):
        cells.append(strip_span(text, pos, pos + len(piece)))
        pos += len(piece) + 1
    if text[start:end].lstrip().startswith("|"):
        cells = cells[1:]
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def _texts(text: str, cells: Sequence[Span | None]) -> list[str]:
    return [compact(cell_text(text, c)) for c in cells]


def _is_header(text: str, cells: Sequence[Span | None]) -> bool:
    """A header row names columns: no cell holds a bare number."""
    values = [v for v in _texts(text, cells) if v]
    return len(values) >= 2 and not any(is_number(v) for v in values)


def _repeats_header(text: str, cells: Sequence[Span | None], header: Sequence[str]) -> bool:
    """A header printed again at a page break (maybe renamed in its first cell: 项目 -> 工作目标)."""
    values = _texts(text, cells)
    same = sum(1 for v, h in zip(values, header) if v and v == h)
    return _is_header(text, cells) and same * 2 >= max(len(header), 1)


def _two_row_header(header: list[Span | None], sub: list[Span | None]) -> tuple[ColumnName, ...]:
    """Combine `指标名称 | 2021年实绩 | 区年度目标` over `绝对值 | 增幅`.

    The sub-header row is shorter: it holds the parts of the one spanning column, which in these
    reports is the first value column after the row label (the label spans both header rows).
    """
    subs = [s for s in sub if s is not None]
    columns: list[ColumnName] = []
    for k, span in enumerate(header):
        parent = ((span,),) if span else ()
        if k == 1 and subs:
            columns.extend((*parent, (s,)) for s in subs)
        else:
            columns.append(parent)
    return tuple(columns)


@dataclass
class PipeState:
    """What a table carries over a heading that interrupts it (seed 003 is one table in sections)."""

    columns: tuple[ColumnName, ...]
    header_texts: list[str]
    last: Row | None


def parse_pipe_table(text: str, lines: Sequence[Span], state: PipeState | None = None) -> tuple[Table, PipeState]:
    """Rows of a block of pipe lines; `state` continues a table whose header came before a heading."""
    columns = state.columns if state else ()
    header_texts = state.header_texts if state else []
    last = state.last if state else None
    rows: list[Row] = []
    k = 0
    if state is None and lines and _is_header(text, pipe_cells(text, *lines[0])):
        header = pipe_cells(text, *lines[0])
        header_texts = _texts(text, header)
        k = 1
        second = pipe_cells(text, *lines[1]) if len(lines) > 1 else []
        filled = [c for c in second if c is not None]
        if second and _is_header(text, second) and len(filled) < len([c for c in header if c]):
            columns = _two_row_header(header, second)
            k = 2
        else:
            columns = tuple(((c,),) if c else () for c in header)
    for start, end in lines[k:]:
        cells = pipe_cells(text, start, end)
        if not cells:
            continue
        if header_texts and _repeats_header(text, cells, header_texts):
            columns = (((cells[0],),) if cells[0] else (), *columns[1:])
            header_texts = _texts(text, cells)
            continue
        row = _align(text, columns, cells, last, start, end)
        rows.append(row)
        last = row
    table = Table(lines[0][0], lines[-1][1], columns, tuple(rows))
    return table, PipeState(columns, header_texts, last)


def _serial_column(text: str, columns: Sequence[ColumnName]) -> int:
    for k, name in enumerate(columns):
        if column_name(text, name) == "序号":
            return k
    return -1


def _align(
    text: str, columns: Sequence[ColumnName], cells: list[Span | None], last: Row | None, start: int, end: int
) -> Row:
    """Realign a row whose leading merged cells are missing and fill them down from the row above.

    A row that starts with a number although 序号 is not the first column lacks the cells before
    序号 (项目 / 工作目标, merged over several rows in the original); those take the value above.
    """
    serial = _serial_column(text, columns)
    width = max(len(columns), len(cells))
    shifted = (
        serial > 0
        and is_integer(cell_text(text, cells[0]))
        and not (len(cells) > serial and is_integer(cell_text(text, cells[serial])))
    )
    if shifted:
        cells = [None] * serial + cells
        width = max(width, len(cells))
    cells = cells + [None] * (width - len(cells))
    filled = [False] * width
    if last is not None and serial > 0:
        for k in range(serial):  # merged cells hold the value of the row above
            if cells[k] is None and k < len(last.cells) and last.cells[k] is not None:
                cells[k] = last.cells[k]
                filled[k] = True
    return Row(start, end, tuple(cells), tuple(filled))


# --- flattened tables: one cell per line ---------------------------------------------------------
_MAX_HEADER_CELLS = 16


def find_flat_table(text: str, lines: Sequence[Span], i: int) -> tuple[Table, int] | None:
    """Rebuild a table flattened to one cell per line, starting at the 序号 line `lines[i]`.

    `lines` are the document's non-blank lines. Rows are found through the 序号 sequence: a line
    holding the next number starts the next row once the current one has a label and a value.
    Returns the table and the index of the first line after it, or None when this is no table.
    """
    if compact(text[slice(*lines[i])]) != "序号":
        return None
    first = next(
        (j for j in range(i + 1, min(len(lines), i + 1 + _MAX_HEADER_CELLS)) if compact(text[slice(*lines[j])]) == "1"),
        None,
    )
    if first is None:
        return None
    header = list(lines[i:first])
    raw_rows: list[list[Span]] = []
    expected = 1
    j = first
    while j < len(lines):
        value = compact(text[slice(*lines[j])])
        if value == str(expected) and (not raw_rows or len(raw_rows[-1]) >= 3):
            raw_rows.append([lines[j]])
            expected += 1
        elif len(text[slice(*lines[j])]) > 300 or not raw_rows:
            break  # a paragraph of running text: the table is over
        else:
            raw_rows[-1].append(lines[j])
        j += 1
    if len(raw_rows) < 2:
        return None
    width = _row_width([len(r) for r in raw_rows[:-1]] or [len(raw_rows[0])])
    typical = min(len(r) for r in raw_rows[:-1])  # cells every row has; beyond them the last row needs 备注 text
    rows, groups, leftover = _split_groups(text, raw_rows, width, typical)
    group_before_first, sub = _header_group(text, header, width)
    columns = _flat_columns(text, sub, width)
    out: list[Row] = []
    group = group_before_first
    for cells, next_group in zip(rows, groups):
        out.append(
            Row(cells[0][0], cells[-1][1], tuple(cells) + (None,) * (width - len(cells)), (False,) * width, group)
        )
        group = next_group or group
    end_line = j - leftover
    return Table(lines[i][0], lines[end_line - 1][1], columns, tuple(out)), end_line


def _row_width(lengths: list[int]) -> int:
    """The number of columns: the longest row length that a fair share of rows reaches.

    A few rows are longer because a group label (其它指标) follows their last cell, so the plain
    maximum would overcount.
    """
    need = max(2, len(lengths) // 5)
    for width in sorted(set(lengths), reverse=True):
        if sum(n >= width for n in lengths) >= need:
            return width
    return max(lengths)


def _split_groups(
    text: str, raw_rows: list[list[Span]], width: int, typical: int
) -> tuple[list[list[Span]], list[Span | None], int]:
    """Cut extra trailing cells off each row: before another row they are a group label, after the
    last row they are no table cells at all (index numbers, dates) unless they read as 备注 text.

    Returns the rows, the group label following each row, and how many lines after the last row
    do not belong to the table.
    """
    rows, groups = [], []
    for k, cells in enumerate(raw_rows):
        if k < len(raw_rows) - 1:
            rows.append(cells[:width])
            extra = cells[width:]
            groups.append((extra[0][0], extra[-1][1]) if extra else None)
            continue
        keep = typical
        while keep < min(width, len(cells)) and has_han(text[slice(*cells[keep])]):
            keep += 1
        keep = min(keep, len(cells))
        rows.append(cells[:keep])
        groups.append(None)
        return rows, groups, len(cells) - keep
    return rows, groups, 0


def _header_group(text: str, header: list[Span], width: int) -> tuple[Span | None, list[Span]]:
    """Split a group label (主要预期目标) off the end of a flattened header that is too long.

    The label can only be the last header line: it sits right above the first row.
    """
    if len(header) <= width:
        return None, header
    notes = [k for k, s in enumerate(header) if compact(text[slice(*s)]) == "备注"]
    spare = len(header) - width
    # In a two-row header the spanning parent adds one line per sub-column beyond the first.
    if notes and notes[0] < len(header) - 1:
        top = notes[0] + 1
        needed = width - top + 1
        if len(header) - top > needed:
            return header[-1], header[:-1]
        return None, header
    if spare >= 1:
        return header[-1], header[:-1]
    return None, header


def _flat_columns(text: str, header: list[Span], width: int) -> tuple[ColumnName, ...]:
    """Column names from a flattened header, read as a two-row header when it has too many lines.

    The top row runs up to 备注 (always the last column in these tables); the parent spanning the
    sub-headers is the column just before 备注; surplus sub-header lines are one name broken over
    lines (目标 / 完成率(%) -> 目标完成率(%)).
    """
    if len(header) <= width:
        names: list[ColumnName] = [((s,),) for s in header]
        return tuple(names + [()] * (width - len(names)))
    notes = [k for k, s in enumerate(header) if compact(text[slice(*s)]) == "备注"]
    if not notes or notes[0] == 0 or notes[0] >= len(header) - 1:
        return tuple(((s,),) for s in header[:width])
    top, subs = header[: notes[0] + 1], header[notes[0] + 1 :]
    needed = max(1, width - len(top) + 1)
    parts = [(s,) for s in subs[: needed - 1]] + [tuple(subs[needed - 1 :])]
    parent = top[-2]
    columns: list[ColumnName] = [((s,),) for s in top[:-2]]
    columns += [((parent,), part) for part in parts if part]
    columns.append(((top[-1],),))
    return tuple(columns[:width]) + ((),) * (width - len(columns))
