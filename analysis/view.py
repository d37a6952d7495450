"""The rows of a predictions file as engine-neutral SQL over the engine's table of the file.

Every query starts from one of these projections of ``table``, a table expression the engine gives for the file
(with a 1-based ``__row`` column when numbered):

- :func:`view_sql`, the normalized long view that reviews, examples and tallies query: ``row``, ``id``, ``split``,
  ``y_true``, ``y_pred``, ``weight``, ``confidence`` (probability of the predicted class), ``p_given``
  (probability of the given label), ``text``, ``image`` and the metadata columns;
- :func:`raw_sql`, the few columns the load's grouped scan reads, as written (labels are normalized after grouping,
  on their distinct values);
- :func:`checked_sql`, normalized columns for naming the rows that fail an input check.

The SQL is kept to what most engines share; labels, ids and splits follow :mod:`analysis.normalize`.
"""

from __future__ import annotations

import re

from analysis import exact
from analysis.normalize import INTEGER_TYPE, label_sql, label_text, literal, raw_split_sql, split_sql
from analysis.source import Source, ident

#: Names the view gives its own columns; a metadata column of one of these names is left out of the view.
RESERVED = ("row", "id", "split", "y_true", "y_pred", "weight", "confidence", "p_given", "text", "image")


def prob_exprs(source: Source) -> list[str]:
    """The ``p_*`` columns as doubles, in the file's order."""
    return [f"CAST({ident(col)} AS DOUBLE)" for _, col in source.probs]


def balanced_sum(exprs: list[str]) -> str:
    """``a + b + ...`` as a balanced tree, so that a thousand terms stay within an engine's expression depth.

    >>> balanced_sum(["a", "b", "c"])
    '(a + (b + c))'
    """
    if len(exprs) == 1:
        return exprs[0]
    half = len(exprs) // 2
    return f"({balanced_sum(exprs[:half])} + {balanced_sum(exprs[half:])})"


def argmax_sql(ps: list[str], values: list[str], top: str | None = None) -> str:
    """The value (a SQL expression) of the first of ``ps`` equal to ``top``, their greatest (computed here when not
    given): numpy's argmax, ties to the first in the list's (the file's) order."""
    top = top or f"greatest({', '.join(ps)})"
    return "CASE " + " ".join(f"WHEN {p} = {top} THEN {v}" for p, v in zip(ps, values, strict=True)) + " END"


def class_literals(source: Source) -> list[str]:
    """Each ``p_*`` column's class as a SQL literal, in the file's order."""
    return [literal(c) for c, _ in source.probs]


def _by_class(source: Source, label: str, ps: list[str]) -> str:
    """The probability of the class ``label`` (an expression) gives, NULL for a class without a column."""
    cases = " ".join(f"WHEN {literal(c)} THEN {p}" for (c, _), p in zip(source.probs, ps, strict=True))
    return f"CASE {label} {cases} END"


def classes_sql(source: Source, column: str, rows: str) -> str:
    """A lookup of each distinct value of the label ``column`` in ``rows`` as written (``__raw``): its class
    (``__label``) and the position of that class's ``p_*`` column (``__index``, NULL for a class without one).
    Joined on ``__raw``, it normalizes labels once per distinct value instead of once per row (which can cost more
    than reading the file)."""
    return (f"SELECT __raw, __label, {_position_sql(source, '__label')} AS __index FROM (SELECT {ident(column)} AS "
            f"__raw, {label_sql(ident(column), source.typed[column])} AS __label FROM (SELECT DISTINCT {ident(column)} "
            f"FROM {rows}))")


def class_index_sql(source: Source, column: str) -> str:
    """The position of each row's class in the label ``column`` among the ``p_*`` columns (NULL for a blank label
    or a class without one), as :func:`classes_sql` gives it, computed on the row.

    Normalizing every row costs more than reading the file, so a label written as its class is named (``3`` in a
    text column, 3 in an integer one) is matched as written, and only the others are normalized.
    """
    col, typed = ident(column), source.typed[column]
    normalized = _position_sql(source, label_sql(col, typed))
    if INTEGER_TYPE.match(typed):  # the text of an integer is its digits: only such classes can match
        ints = {c: c for c, _ in source.probs if re.fullmatch(r"-?(0|[1-9][0-9]*)", c)}
        return _position_sql(source, col, ints) if ints else "CAST(NULL AS INTEGER)"
    if typed != "VARCHAR":
        return normalized
    written = {c: literal(c) for c, _ in source.probs if label_text(c) == c}
    return _position_sql(source, col, written, otherwise=normalized) if written else normalized


def _position_sql(source: Source, label: str, written: dict[str, str] | None = None,
                  otherwise: str | None = None) -> str:
    """The position of the class ``label`` (an expression) among the ``p_*`` columns, for the classes ``written``
    names (class -> SQL value; all, as text, when None), else ``otherwise`` (NULL when None).

    All the classes are looked up in a list, where ``label`` appears once: a CASE of K branches repeats it K times,
    and planning a normalized label repeated 100 times took 0.15 s."""
    if written is None:
        names = ", ".join(literal(c) for c, _ in source.probs)
        # Spark's is 0 for a value not found, and a BIGINT where DuckDB's CASE gives an INTEGER
        return f"CAST(nullif(array_position([{names}], {label}), 0) - 1 AS INTEGER)"
    whens = " ".join(f"WHEN {written[c]} THEN {i}" for i, (c, _) in enumerate(source.probs) if c in written)
    return f"CASE {label} {whens}" + (f" ELSE {otherwise}" if otherwise else "") + " END"


def _label(source: Source, column: str) -> str:
    return label_sql(ident(column), source.typed[column])


def id_sql(source: Source) -> str:
    """The example id as text; the 0-based row number when the file has no id column."""
    return "CAST(__row - 1 AS VARCHAR)" if source.columns.id is None else _label(source, source.columns.id)


def weight_sql(source: Source) -> str:
    return f"CAST({ident(source.columns.weight)} AS DOUBLE)" if source.columns.weight else "1.0"


def _with_top(source: Source, table: str) -> str:
    """``table`` with ``__top``, the greatest probability of each row, when the prediction is their argmax."""
    if source.columns.y_pred is not None:
        return table
    return f"(SELECT *, greatest({', '.join(prob_exprs(source))}) AS __top FROM {table})"


def _pred(source: Source) -> str:
    if source.columns.y_pred is not None:
        return _label(source, source.columns.y_pred)
    return argmax_sql(prob_exprs(source), class_literals(source), "__top")


def view_sql(source: Source, table: str, *, true: str | None = None, pred: str | None = None,
             split: str | None = None) -> str:
    """The normalized long view of every row (module docstring); ``table`` must be numbered. ``true``, ``pred`` and
    ``split``: columns of ``table`` holding the true and predicted class and the split already normalized
    (:func:`mistakes_sql`)."""
    cm = source.columns
    ps = prob_exprs(source)
    true = true or _label(source, cm.y_true)
    pred = pred or _pred(source)
    confidence = p_given = "NULL"
    if ps:  # of the classes normalized once, below
        confidence = _by_class(source, "__view_pred", ps) if cm.y_pred is not None else "__top"
        p_given = _by_class(source, "__view_true", ps)
    cols = [
        "__row AS row",
        f"{id_sql(source)} AS id",
        f"{split or split_sql(ident(cm.split) if cm.split else None)} AS split",
        "__view_true AS y_true",
        "__view_pred AS y_pred",
        f"{weight_sql(source)} AS weight",
        f"{confidence} AS confidence",
        f"{p_given} AS p_given",
        (f"CAST({ident(cm.text)} AS VARCHAR)" if cm.text else "NULL") + " AS text",
        (f"CAST({ident(cm.image)} AS VARCHAR)" if cm.image else "NULL") + " AS image",
    ]
    cols += [ident(m) for m in cm.metadata if m.lower() not in RESERVED]
    return (f"SELECT {', '.join(cols)} FROM (SELECT *, {true} AS __view_true, {pred} AS __view_pred "
            f"FROM {_with_top(source, table)})")


def raw_sql(source: Source, table: str, *, kept: bool = False) -> str:
    """The columns the grouped scan reads, as written: ``__s``, ``__t``, ``__y``, ``weight``, ``__id``, ``__p0``...

    ``__y`` is the predicted class already normalized when it comes from the ``p_*`` columns. With ``kept``
    (``table`` numbered), also ``__row`` and every column of the file as ``__k0``... for :func:`kept_sql`.
    """
    cm = source.columns
    raw = [*_raw_labels(source), f"{weight_sql(source)} AS weight", f"{ident(cm.id) if cm.id else 'NULL'} AS __id",
           *(f"{expr} AS __p{i}" for i, expr in enumerate(prob_exprs(source)))]
    if kept:
        raw += ["__row", *(f"{ident(name)} AS __k{i}" for i, name in enumerate(source.names))]
    return f"SELECT {', '.join(raw)} FROM {_with_top(source, table)}"


def kept_sql(source: Source) -> str:
    """The aggregate over :func:`raw_sql` (with ``kept``) that keeps the rows whose true and predicted class differ
    as written, each as read (``__row`` and the file's columns, a struct): a superset of the mistakes (classes
    written apart that normalize alike, such as ``1`` and ``1.0``, are told apart by the view, which reads these
    rows as it reads the file)."""
    fields = ", ".join(["'__row': __row", *(f"{literal(name)}: __k{i}" for i, name in enumerate(source.names))])
    return f"list({{{fields}}}) FILTER (WHERE {differ_sql('__t', '__y')})"


def differ_sql(true: str, pred: str) -> str:
    """Whether a row's true class ``true`` and predicted class ``pred`` (expressions) differ as written."""
    return f"{true} IS NOT NULL AND CAST({true} AS VARCHAR) IS DISTINCT FROM CAST({pred} AS VARCHAR)"


def mistakes_sql(source: Source, table: str) -> str:
    """The view's rows (:func:`view_sql`) of every labeled mistake of ``table`` (numbered).

    The rows are first filtered on the classes as written, which an engine can push into its read (on Parquet
    only the label columns of the other rows are read); the classes and splits are then normalized once per
    distinct value written (a lookup), not once per row.
    """
    cm = source.columns
    roles = [("__nt", cm.y_true, label_sql("raw", source.typed[cm.y_true]))]
    if cm.y_pred:
        roles.append(("__np", cm.y_pred, label_sql("raw", source.typed[cm.y_pred])))
    if cm.split:
        roles.append(("__ns", cm.split, split_sql("raw")))
    pred = ident(cm.y_pred) if cm.y_pred else _pred(source)
    lookups = ", ".join(f"{name} AS (SELECT raw, {normalized} AS v FROM (SELECT DISTINCT {ident(col)} AS raw FROM __m))"
                        for name, col, normalized in roles)
    joins = " ".join(f"LEFT JOIN {name} ON {name}.raw = __m.{ident(col)}" for name, col, _ in roles)
    labelled = f"(SELECT __m.*, {', '.join(f'{name}.v AS {name}' for name, _, _ in roles)} FROM __m {joins})"
    view = view_sql(source, labelled, true="__nt", pred="__np" if cm.y_pred else None,
                    split="__ns" if cm.split else None)
    return (f"WITH __m AS (SELECT * FROM {_with_top(source, table)} WHERE {differ_sql(ident(cm.y_true), pred)}), "
            f"{lookups} SELECT * FROM ({view}) WHERE y_true <> y_pred")


def _raw_labels(source: Source) -> list[str]:
    """The split, true and predicted class as written: ``__s``, ``__t``, ``__y`` (normalized when from ``p_*``)."""
    cm = source.columns
    return [(ident(cm.split) if cm.split else "'dev'") + " AS __s", f"{ident(cm.y_true)} AS __t",
            (ident(cm.y_pred) if cm.y_pred else _pred(source)) + " AS __y"]


def keyed_sql(source: Source, table: str, *, raw_id: bool) -> str:
    """:func:`raw_sql`'s ``__s``, ``__t``, ``__y`` with ``__w`` (the weight) and ``__k``, the key that joins the rows
    of two files of the same examples: the id column as written when ``raw_id``, else by the id rule
    (:func:`id_sql`); without an id column, the row number (``table`` must then be numbered)."""
    key = ident(source.columns.id) if raw_id and source.columns.id else id_sql(source)
    cols = [*_raw_labels(source), f"{weight_sql(source)} AS __w", f"{key} AS __k"]
    return f"SELECT {', '.join(cols)} FROM {_with_top(source, table)}"


def labels_sql(source: Source, raw: str, aggregates: list[str], merged: list[str]) -> str:
    """The grouped scan: ``n``, ``w`` and ``aggregates`` per raw (split, true, predicted), then per normalized one;
    with a weight column, also the weights' exact sum (:mod:`analysis.exact`, ``w_high``, ``w_low``, ``w_far``).

    Normalizing labels costs more per row than the grouping itself, so it runs on the few distinct raw values;
    ``merged`` combines the aggregates across raw groups that normalize alike (``sum(x) AS x``).
    """
    cm = source.columns
    if cm.weight:
        aggregates, merged = [*exact.sums("weight", "w"), *aggregates], [*exact.merged("w"), *merged]
    inner = (f"SELECT __s, __t, __y, count(*) AS n, sum(weight) AS w{''.join(', ' + a for a in aggregates)} "
             f"FROM ({raw}) GROUP BY __s, __t, __y")
    pred = label_sql("__y", source.typed[cm.y_pred]) if cm.y_pred else "__y"
    outer = [f"{raw_split_sql('__s' if cm.split else None)} AS raw_split",
             f"{label_sql('__t', source.typed[cm.y_true])} AS y_true", f"{pred} AS y_pred",
             "sum(n) AS n", "sum(w) AS w", *merged]
    return f"SELECT {', '.join(outer)} FROM ({inner}) GROUP BY raw_split, y_true, y_pred"


def checked_sql(source: Source, table: str) -> str:
    """Normalized columns for finding the rows that fail a check: ``row``, ``id``, ``raw_split``, ``y_true``,
    ``y_pred``, ``weight`` and ``__p0``...; ``table`` must be numbered."""
    cm = source.columns
    cols = ["__row AS row", f"{id_sql(source)} AS id",
            f"{raw_split_sql(ident(cm.split) if cm.split else None)} AS raw_split",
            f"{_label(source, cm.y_true)} AS y_true", f"{_pred(source)} AS y_pred", f"{weight_sql(source)} AS weight"]
    cols += [f"{expr} AS __p{i}" for i, expr in enumerate(prob_exprs(source))]
    return f"SELECT {', '.join(cols)} FROM {_with_top(source, table)}"
