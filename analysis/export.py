"""The tag sheet: the spreadsheet of reviewed examples, one column per error category, out and back in.

A sheet has the columns ``id``, then (when written with the predictions) ``y_true``, ``y_pred``, ``split`` and
``confidence`` for context, one column per category (1/0), ``mislabeled`` (1/0), ``corrected_label`` and
``note``; a ``reviewed`` column (1/0) follows only when some tagged example is not marked reviewed.

Spreadsheets run a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula,
so :func:`write_sheet` puts a ``'`` before such a text cell (and before one that begins with ``'`` itself),
and :func:`import_sheet` removes exactly that one quote again: every cell reads back as it was written.

An import is all or nothing: every problem of the sheet is found first and reported with its sheet line
numbers (the header is line 1), and only a sheet without any is written, in one transaction.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pandas as pd

from analysis.errors import ErrorscopeError
from analysis.limits import MAX_COLUMNS, bounded_csv, too_wide
from analysis.normalize import label_text
from analysis.tags import categories_of

if TYPE_CHECKING:
    from analysis.load import Predictions
    from analysis.tags import TagStore

__all__ = ["CONTEXT_COLUMNS", "export_sheet", "import_sheet", "neutralize", "sheet_csv", "unneutralize",
           "write_sheet"]

#: Prediction columns written after ``id`` for context (``confidence`` only for files with ``p_*``).
CONTEXT_COLUMNS = ("y_true", "y_pred", "split", "confidence")
#: The sheet's own columns besides the categories.
_TAG_COLUMNS = ("mislabeled", "corrected_label", "note", "reviewed")
#: Columns of the normalized view and of ``TagStore.tags`` that a sheet may carry but an import ignores.
_IGNORED = ("row", "y_true", "y_pred", "split", "weight", "confidence", "text", "image", "updated_by",
            "updated_at", "correct")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_TRUE = frozenset({"1", "true", "yes", "x"})
_FALSE = frozenset({"0", "false", "no", ""})
#: How many problems a refused sheet's message names.
SHOWN = 8


def neutralize(value: object) -> object:
    """A cell as written to a sheet: text beginning like a formula (or with ``'``) gets a leading ``'``.

    >>> [neutralize(v) for v in ("=HYPERLINK(\\"http://x\\")", "-1", "'a", "ok", 3)]
    ['\\'=HYPERLINK("http://x")', "'-1", "''a", 'ok', 3]
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def unneutralize(text: str) -> str:
    """A sheet cell as it was before :func:`neutralize`: one leading ``'`` removed.

    >>> unneutralize("'=1+2"), unneutralize("''a"), unneutralize("a")
    ('=1+2', "'a", 'a')
    """
    return text[1:] if text.startswith("'") else text


# ----------------------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------------------


def export_sheet(store: TagStore, dataset: str, preds: Predictions | None = None) -> pd.DataFrame:
    """The tag sheet of a dataset as a frame: one row per tagged example, sorted by id.

    Parameters
    ----------
    store : TagStore
        The tag store.
    dataset : str
        Dataset name.
    preds : Predictions, optional
        With it, ``y_true``, ``y_pred`` and ``split`` (and ``confidence`` when the file has ``p_*`` columns)
        follow ``id``; they are blank for ids not in the file. A context column is left out when a category
        has its name.

    Returns
    -------
    DataFrame
        ``id``, the context columns, one int column (1/0) per category in category order, ``mislabeled``
        (1/0), ``corrected_label``, ``note`` (str or None), and ``reviewed`` (1/0) only when some example is
        not marked reviewed. The cells are as stored; :func:`write_sheet` neutralizes formulas.
    """
    tags = store.tags(dataset)
    categories = categories_of(tags)
    sheet = pd.DataFrame({"id": tags["id"].astype(object).to_numpy()})
    if preds is not None:
        folded = {c.casefold() for c in categories}
        context = [c for c in CONTEXT_COLUMNS
                   if c.casefold() not in folded and (c != "confidence" or preds.columns.probs)]
        ids = pd.DataFrame({"id": sheet["id"], "pos": range(len(sheet))})
        selected = ", ".join("p." + c for c in context)
        found = preds.query(f"SELECT {selected} FROM __ids i LEFT JOIN preds p ON p.id = i.id ORDER BY i.pos",
                            frames={"__ids": ids})
        for column in context:
            values = found[column]
            if column == "confidence":
                sheet[column] = values.astype("float64").to_numpy()
            else:
                sheet[column] = _texts(values)
    for name in categories:
        sheet[name] = tags[name].astype(int).to_numpy()
    sheet["mislabeled"] = tags["mislabeled"].astype(int).to_numpy()
    sheet["corrected_label"] = _texts(tags["corrected_label"])
    sheet["note"] = _texts(tags["note"])
    if not tags["reviewed"].all():
        sheet["reviewed"] = tags["reviewed"].astype(int).to_numpy()
    return sheet


def _texts(values: pd.Series) -> pd.Series:
    """A text column that keeps None for missing values (object dtype, whatever pandas' string default)."""
    return pd.Series([None if pd.isna(v) else str(v) for v in values], dtype=object)


def sheet_csv(frame: pd.DataFrame) -> str:
    """The sheet as CSV text, with formula-like text cells (and headers) neutralized."""
    buffer = io.StringIO()
    write_sheet(frame, buffer)
    return buffer.getvalue()


def write_sheet(frame: pd.DataFrame, path_or_buffer: str | os.PathLike[str] | IO[str]) -> None:
    """Write a sheet (from :func:`export_sheet`) as UTF-8 CSV, neutralizing formula-like text cells.

    Lines end with CRLF (RFC 4180), so a cell holding a lone carriage return is quoted and reads back whole.

    Parameters
    ----------
    frame : DataFrame
        The sheet.
    path_or_buffer : str, path or text file
        Where to write.
    """
    safe = frame.copy()
    safe.columns = [neutralize(str(c)) for c in frame.columns]
    for position, column in enumerate(frame.columns):
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            safe.isetitem(position, values.map(neutralize, na_action="ignore"))
    if isinstance(path_or_buffer, str | os.PathLike):
        with open(path_or_buffer, "w", encoding="utf-8", newline="") as fh:
            safe.to_csv(fh, index=False, lineterminator="\r\n")
    else:
        safe.to_csv(path_or_buffer, index=False, lineterminator="\r\n")


# ----------------------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Problems:
    """The problems found in a sheet, each with the sheet line it is on."""

    found: list[tuple[int, str]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def add(self, line: int, what: str, hint: str | None = None) -> None:
        self.found.append((line, what))
        if hint and hint not in self.hints:
            self.hints.append(hint)

    def message(self) -> str:
        ordered = sorted(self.found, key=lambda p: p[0])
        parts = [f"line {line}: {what}" for line, what in ordered[:SHOWN]]
        if len(ordered) > SHOWN:
            parts.append(f"and {len(ordered) - SHOWN} more problem(s)")
        return "; ".join(parts) + "".join(f" ({hint})" for hint in self.hints)


def _read_rows(source: str | os.PathLike[str] | IO) -> tuple[str, list[tuple[int, list[str]]]]:
    """The sheet's records with the line each starts on (the header is line 1), and a name for messages.

    Read line by line, no line longer than :data:`analysis.limits.MAX_LINE_BYTES` characters and no header
    wider than :data:`analysis.limits.MAX_COLUMNS`; a quote left open refuses the sheet whole.
    """
    name = str(source) if isinstance(source, str | os.PathLike) else getattr(source, "name", "the sheet")
    if isinstance(source, str | os.PathLike) and not Path(source).is_file():
        raise ErrorscopeError(f"{source}: no such file; give the path of a CSV tag sheet")
    records: list[tuple[int, list[str]]] = []
    with _sheet_text(source) as fh:
        reader = bounded_csv(fh, name, strict=True)
        start = 1
        try:
            for record in reader:
                if start == 1 and len(record) > MAX_COLUMNS:
                    raise ErrorscopeError(f"{name}: {too_wide(len(record))}")
                if start == 1 and record:
                    record[0] = record[0].lstrip("\ufeff")
                records.append((start, record))
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise ErrorscopeError(f"{name}: the sheet is not UTF-8; save it as CSV UTF-8 and import it again") \
                from None
        except csv.Error as exc:
            hint = "; a quote opened there is never closed" if "end of data" in str(exc) else ""
            raise ErrorscopeError(f"{name}: not a valid CSV at line {start}: {exc}{hint}; fix the quoting and "
                                  "import it again") from None
    return name, records


@contextmanager
def _sheet_text(source: str | os.PathLike[str] | IO) -> Iterator[IO[str]]:
    """The sheet as a text stream, its byte-order mark dropped; a stream the caller gave is left open."""
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8-sig", newline="") as fh:
            yield fh
    elif isinstance(source, io.TextIOBase):
        yield source  # its byte-order mark, if any, is dropped from the header by the caller
    else:
        wrapper = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        try:
            yield wrapper
        finally:
            wrapper.detach()


def _flag(text: str) -> bool | None:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


@dataclass
class _Layout:
    """What each column of a sheet holds."""

    id: int
    categories: dict[int, str]  # position -> stored category name
    new_categories: dict[int, str]  # position -> name of a category to create
    fields: dict[str, int]  # mislabeled, corrected_label, note, reviewed -> position


def _layout(name: str, header: list[str], records: list[tuple[int, list[str]]], known: list[str],
            preds: Predictions, dataset: str, create_categories: bool) -> _Layout:
    prediction_columns = {c.casefold() for c in (*preds.names, *_IGNORED)}
    known_by_fold = {c.casefold(): c for c in known}
    id_at: int | None = None
    categories: dict[int, str] = {}
    new: dict[int, str] = {}
    fields: dict[str, int] = {}
    seen: dict[str, int] = {}
    unknown: list[str] = []
    for position, raw in enumerate(header):
        column = unneutralize(raw).strip()
        folded = column.casefold()
        if not column:
            if any(position < len(r) and r[position].strip() for _, r in records):
                raise ErrorscopeError(f"{name}: column {position + 1} has values but no name in the header "
                                      "(line 1); name it or delete it")
            continue
        if folded in seen:
            raise ErrorscopeError(f"{name}: the header (line 1) has the column {column!r} twice "
                                  f"(columns {seen[folded] + 1} and {position + 1}); keep one")
        seen[folded] = position
        if folded == "id":
            id_at = position
        elif folded in _TAG_COLUMNS:
            fields[folded] = position
        elif folded in known_by_fold:
            categories[position] = known_by_fold[folded]
        elif folded in prediction_columns or folded.startswith("p_"):
            continue
        elif create_categories:
            new[position] = column
        else:
            unknown.append(column)
    if id_at is None:
        if len(header) == 1 and ";" in header[0]:
            raise ErrorscopeError(f"{name}: the header (line 1) is one column with semicolons; save the "
                                  "sheet as comma-separated CSV")
        raise ErrorscopeError(f"{name}: the sheet has no 'id' column (line 1 is the header: "
                              f"{', '.join(repr(c) for c in header[:8])}); add the examples' ids in a column "
                              "named id")
    if unknown:
        listed = ", ".join(repr(c) for c in known) or "none yet"
        plural = "columns" if len(unknown) > 1 else "column"
        raise ErrorscopeError(
            f"{name}: unknown category {plural} {', '.join(repr(c) for c in unknown)} in the header "
            "(line 1); "
            f"dataset {dataset!r} has the categories: {listed}. Add the category first, or import with "
            "create_categories=True (errorscope tags import --create-categories); nothing was imported")
    return _Layout(id_at, categories, new, fields)


def _sheet_rows(header: list[str], body: list[tuple[int, list[str]]], layout: _Layout, problems: _Problems
                ) -> tuple[list[dict[str, object]], dict[str, int]]:
    """The store's merge rows of a sheet's body, and each id's line; what is wrong goes to ``problems``."""
    flag_fields = {layout.fields[f]: f for f in ("mislabeled", "reviewed") if f in layout.fields}
    category_columns = {**layout.categories, **layout.new_categories}

    rows: list[dict[str, object]] = []
    first_line: dict[str, int] = {}
    for line, record in body:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            problems.add(line, f"{len(record)} cells but the header has {len(header)}",
                         "quote cells that contain commas")
            continue
        cells = [unneutralize(c) for c in record] + [""] * (len(header) - len(record))
        example_id = label_text(cells[layout.id])
        if not example_id:
            problems.add(line, "the id is blank")
            continue
        if example_id in first_line:
            problems.add(line, f"duplicate id {example_id!r} (also at line {first_line[example_id]})",
                         "keep one row per example")
            continue
        first_line[example_id] = line
        row: dict[str, object] = {"id": example_id}
        ticks: dict[str, bool] = {}
        for position in sorted({*flag_fields, *category_columns}):
            value = _flag(cells[position])
            if value is None:
                column = unneutralize(header[position]).strip()
                problems.add(line, f"{cells[position].strip()!r} in column {column!r} is not a yes/no value",
                             "use 1/0, true/false, yes/no or x/blank")
            elif position in flag_fields:
                row[flag_fields[position]] = value
            else:
                ticks[category_columns[position]] = value
        for text_field in ("corrected_label", "note"):
            if text_field in layout.fields:
                value = cells[layout.fields[text_field]]
                row[text_field] = value
        row["categories"] = ticks
        rows.append(row)
    return rows, first_line


def import_sheet(store: TagStore, dataset: str, preds: Predictions,
                 path: str | os.PathLike[str] | IO, *, create_categories: bool = False) -> int:
    """Read a tag sheet back into the store: all of it, or, on any problem, nothing.

    Parameters
    ----------
    store : TagStore
        The tag store to write to.
    dataset : str
        Dataset name.
    preds : Predictions
        The predictions file the sheet's ids must come from.
    path : str, path or file
        A CSV sheet (UTF-8, a byte-order mark allowed), as :func:`write_sheet` writes it or a spreadsheet
        saves it.
    create_categories : bool, default False
        Add the categories of unknown columns to the dataset instead of refusing the sheet.

    Returns
    -------
    int
        How many examples' stored tags changed.

    Notes
    -----
    Each row marks its example reviewed (unless a ``reviewed`` column says 0) and sets every field it has a
    column for: a category or ``mislabeled`` cell takes 1/0, true/false, yes/no or x/blank (any letter case);
    a blank ``corrected_label`` or ``note`` clears it. The predictions' own columns (``y_true``, ``y_pred``,
    ``split``, ``confidence``, ``text``, ``image``, ``weight``, ``p_*``, metadata) are ignored, also with
    ``create_categories``, unless the dataset has a category of that name; blank rows are skipped.

    Raises
    ------
    ErrorscopeError
        Naming the sheet lines, for: no ``id`` column, an unknown category column, a duplicate id, an id not
        in the predictions, a value that is not a boolean, a row with more cells than the header. The store
        is unchanged then.
    """
    name, records = _read_rows(path)
    if not records:
        raise ErrorscopeError(f"{name}: the sheet is empty; it needs a header row with an id column")
    header, body = records[0][1], records[1:]
    known = store.categories(dataset)
    layout = _layout(name, header, body, known, preds, dataset, create_categories)
    problems = _Problems()
    rows, first_line = _sheet_rows(header, body, layout, problems)

    if first_line:
        ids = pd.DataFrame({"id": pd.Series(list(first_line), dtype=object)})
        found = set(preds.query("SELECT DISTINCT p.id FROM preds p SEMI JOIN __ids i ON i.id = p.id",
                                frames={"__ids": ids})["id"])
        for example_id, line in first_line.items():
            if example_id not in found:
                problems.add(line, f"id {example_id!r} is not in {preds.path.name}",
                             "the sheet's ids must be the predictions file's")
    if problems.found:
        raise ErrorscopeError(f"{name}: nothing was imported: {problems.message()}")

    new = [layout.new_categories[position] for position in sorted(layout.new_categories)]
    return store.merge(dataset, rows, new_categories=new)  # one transaction: all of it or nothing

