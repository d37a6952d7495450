"""One rule for class labels, example ids and split names, in Python and as SQL over any engine's column.

A label (or an id) is compared as text, after these steps, which :func:`label_text` applies to a Python value and
:func:`label_sql` writes as a SQL expression over a column of a given type; the two agree value for value (the
tests compare them on the same inputs):

- blank text, ``None`` and NaN are missing (``None``, SQL ``NULL``);
- text is trimmed of spaces, tabs and line breaks;
- ``True``/``False`` (booleans, or the words in any case) are ``"1"``/``"0"``, as Python and numpy treat them
  (``True == 1``), so a boolean column matches a 0/1 column and ``p_True`` names the class ``"1"``;
- an integer written as text loses a ``+`` sign and leading zeros (``"007"`` -> ``"7"``), without passing through
  a float (20-digit ids stay exact);
- other numbers (``1.50``, ``3.0``, ``1e3``) are read as doubles: integral ones below 10**15 are written as integers
  (``"3"``, ``"1000"``), the rest in the shortest form that reads back to the same double (``"1.5"``), which is
  Python's ``repr`` and DuckDB's cast to text alike;
- anything else is the trimmed text itself, case kept (``"Cat"`` and ``"cat"`` are two classes).

Splits are trimmed and lower-cased, then mapped through :data:`SPLIT_ALIASES`; an unknown name maps to ``None``.
"""

from __future__ import annotations

import math
import numbers
import re

#: Canonical split names, in the order of the gap table, and the accepted spellings of each.
SPLITS = ("train", "train_dev", "dev", "test")
SPLIT_ALIASES: dict[str, str] = {
    "train": "train",
    "train_dev": "train_dev",
    "train-dev": "train_dev",
    "traindev": "train_dev",
    "dev": "dev",
    "val": "dev",
    "valid": "dev",
    "validation": "dev",
    "test": "test",
}

#: What trimming removes, in Python and in SQL.
BLANKS = " \t\r\n"
#: Integral doubles below this are written as integers; beyond it a double no longer holds every integer exactly.
INTEGRAL_LIMIT = 10**15
_INTEGER = r"[+-]?[0-9]+"
_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_INTEGER_RE = re.compile(_INTEGER)
_NUMBER_RE = re.compile(_NUMBER)
_LEADING = r"^\+?(-?)0*([0-9])"
_LEADING_RE = re.compile(_LEADING)
_BOOLEAN_WORDS = {"true": "1", "false": "0"}


def label_text(value: object) -> str | None:
    """A label or an id as text by the one rule (module docstring); ``None`` when it is missing.

    >>> [label_text(v) for v in (" 3.00 ", 3.0, "007", "1.50", True, "FALSE", "cat", "", float("nan"))]
    ['3', '3', '7', '1.5', '1', '0', 'cat', None, None]
    """
    if value is None:
        return None
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # before Integral: bool is an int
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _double_text(float(value))
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str):
        if _is_na(value):
            return None
        value = str(value)
    text = value.strip(BLANKS)
    if not text:
        return None
    if text.lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[text.lower()]
    if _INTEGER_RE.fullmatch(text):
        return _LEADING_RE.sub(r"\1\2", text)
    if _NUMBER_RE.fullmatch(text):
        return _double_text(float(text))
    return text


def _double_text(number: float) -> str | None:
    if math.isnan(number):
        return None
    if abs(number) < INTEGRAL_LIMIT and number == math.floor(number):
        return str(int(number))
    return repr(number)


def _is_na(value: object) -> bool:
    try:
        return bool(value != value)  # pandas.NA raises here, NaT and NaN compare unequal to themselves
    except TypeError:
        return True


def split_name(value: object) -> str | None:
    """The canonical split of a spelling (``" Val "`` -> ``"dev"``), ``None`` when it is not one we accept."""
    if not isinstance(value, str):
        return None
    return SPLIT_ALIASES.get(value.strip(BLANKS).lower())


def natural_key(label: str) -> tuple:
    """Sort key that puts numeric labels first, in numeric order, then the others alphabetically.

    >>> sorted(["10", "2", "cat", "1.5"], key=natural_key)
    ['1.5', '2', '10', 'cat']
    """
    try:
        number = float(label)
    except ValueError:
        number = math.nan
    if math.isfinite(number):  # "nan" and "inf" parse as floats but do not order: they sort as text
        return (0, number, label)
    return (1, label.casefold(), label)


# ------------------------------------------------------------------------------------------------------------
# The same rule in SQL (DuckDB's dialect, kept to functions most engines share)
# ------------------------------------------------------------------------------------------------------------

BOOLEAN_TYPES = ("BOOLEAN",)
INTEGER_TYPE = re.compile(r"^U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?$|^U?HUGEINT$")
FLOAT_TYPE = re.compile(r"^(FLOAT|DOUBLE|DECIMAL.*|REAL)$")


def numeric_type(sql_type: str) -> bool:
    """Whether an engine type holds numbers (integers, floats or decimals).

    >>> [numeric_type(t) for t in ("BIGINT", "DECIMAL(18,3)", "VARCHAR", "BOOLEAN")]
    [True, True, False, False]
    """
    return bool(INTEGER_TYPE.match(sql_type) or FLOAT_TYPE.match(sql_type))


def literal(text: str) -> str:
    """``text`` quoted as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _whole(pattern: str) -> str:
    """``pattern`` anchored at both ends (``regexp_matches`` finds a match anywhere; other engines call it RLIKE)."""
    return f"^(?:{pattern})$"


def _trimmed(expr: str) -> str:
    return f"trim(CAST({expr} AS VARCHAR), {literal(BLANKS)})"


def _double_sql(expr: str) -> str:
    # TRY_CAST: DuckDB may fold the NaN test away on a Parquet column whose statistics leave NaN out, then fail on
    # the cast of a NaN to an integer
    return (f"CASE WHEN isnan({expr}) THEN NULL "
            f"WHEN abs({expr}) < {INTEGRAL_LIMIT} AND {expr} = floor({expr}) "
            f"THEN CAST(TRY_CAST({expr} AS BIGINT) AS VARCHAR) ELSE CAST({expr} AS VARCHAR) END")


def label_sql(expr: str, sql_type: str) -> str:
    """SQL giving :func:`label_text` of ``expr``, a value of the engine type ``sql_type`` (``VARCHAR``, ``DOUBLE``...).

    Text needs the most work, so label columns are best normalized after grouping, on their few distinct values.
    """
    if sql_type in BOOLEAN_TYPES:
        return f"CASE WHEN {expr} THEN '1' WHEN NOT {expr} THEN '0' END"
    if INTEGER_TYPE.match(sql_type):  # through a number: DuckDB reads a CSV column cast straight to text as written
        wide = sql_type if sql_type.endswith("HUGEINT") else "DECIMAL(38, 0)"  # a type most engines share
        return f"CAST(CAST({expr} AS {wide}) AS VARCHAR)"
    if FLOAT_TYPE.match(sql_type):
        return _double_sql(f"CAST({expr} AS DOUBLE)")
    t = _trimmed(expr)
    return (f"CASE WHEN {t} = '' THEN NULL "
            f"WHEN lower({t}) = 'true' THEN '1' WHEN lower({t}) = 'false' THEN '0' "
            f"WHEN regexp_matches({t}, {literal(_whole(_INTEGER))}) "
            f"THEN regexp_replace({t}, {literal(_LEADING)}, '\\1\\2') "
            f"WHEN regexp_matches({t}, {literal(_whole(_NUMBER))}) THEN {_double_sql(f'CAST({t} AS DOUBLE)')} "
            f"ELSE {t} END")


def blank_sql(expr: str, sql_type: str) -> str:
    """SQL true where :func:`label_text` of ``expr`` is missing: NULL, blank text, NaN.

    Cheaper than ``label_sql(...) IS NULL`` on every row of a scan.
    """
    if FLOAT_TYPE.match(sql_type):
        return f"({expr} IS NULL OR isnan(CAST({expr} AS DOUBLE)))"
    if sql_type in BOOLEAN_TYPES or INTEGER_TYPE.match(sql_type):
        return f"({expr} IS NULL)"
    return f"({expr} IS NULL OR {_trimmed(expr)} = '')"


def split_sql(expr: str | None) -> str:
    """SQL giving the canonical split of ``expr`` (NULL for an unknown one); every row is ``dev`` without a column."""
    if expr is None:
        return "'dev'"
    cases = " ".join(f"WHEN {literal(raw)} THEN {literal(canon)}" for raw, canon in SPLIT_ALIASES.items())
    return f"CASE lower({_trimmed(expr)}) {cases} END"


def raw_split_sql(expr: str | None) -> str:
    """SQL giving the split as written, trimmed and lower-cased (to name an unknown one in a message)."""
    return f"lower({_trimmed(expr)})" if expr is not None else "'dev'"
