"""Sums of doubles that every engine gives alike, whatever order it adds the rows in.

A sum of doubles depends on the order of its terms, which an engine's threads (or a cluster's partitions) choose:
DuckDB and Spark, or two runs of one, may differ in the last bits. Here each value ``x`` with ``|x| < 2**33`` is
split into two integers, ``floor(x * 2**20)`` and the rest in units of ``2**-73``, both exact in a double and each
summed as an integer, which no order changes; :func:`total` makes them one double, correctly rounded. Bits of ``x``
below ``2**-73`` are dropped (only values under ``2**-20`` have any), so the sum is exact to ``2**-73`` per row.
The SQL is plain and engine-neutral: multiplications by powers of two, ``floor``, casts of whole numbers to BIGINT
(DuckDB sums those into a 128-bit HUGEINT; the Spark engine sums them as ``DECIMAL(38, 0)``, which does not
overflow either). This also makes DuckDB's own results repeatable: its sum of doubles changes in the last bits from
one run to the next, as its threads take the row groups in another order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Values at least this large (or NaN) have no exact parts: a sum over one of them is the engine's own.
LIMIT = 2.0**33
_HIGH, _LOW = 2**20, 2**73


def _double(value: float) -> str:
    """A DOUBLE literal in any dialect (``1048576.0`` would be a DECIMAL, and Spark divides decimals rounded).

    >>> _double(2.0**20)
    '1.0485760000000000e+06'
    """
    return f"{float(value):.16e}"


def parts(x: str) -> tuple[str, str]:
    """The two whole-number parts of the double ``x`` (a SQL expression), NULL when ``|x| >= LIMIT`` or NaN."""
    ok = f"abs({x}) < {_double(LIMIT)}"
    high = f"floor({x} * {_double(_HIGH)})"
    low = f"floor(({x} - {high} / {_double(_HIGH)}) * {_double(_LOW)})"
    return tuple(f"CAST(CASE WHEN {ok} THEN {p} END AS BIGINT)" for p in (high, low))


def sums(x: str, name: str) -> list[str]:
    """Aggregates ``{name}_high``, ``{name}_low`` and ``{name}_far`` (rows without parts) of the sum of ``x``."""
    high, low = parts(x)
    return [f"sum({high}) AS {name}_high", f"sum({low}) AS {name}_low",
            f"count(*) FILTER (WHERE NOT coalesce(abs({x}) < {_double(LIMIT)}, true)) AS {name}_far"]


def merged(name: str) -> list[str]:
    """:func:`sums`' aggregates combined across groups."""
    return [f"sum({name}_{p}) AS {name}_{p}" for p in ("high", "low", "far")]


def total(high: object, low: object) -> float:
    """The exact sum of the parts ``high`` and ``low`` as the nearest double.

    >>> total(3 * 2**19, 2**52)  # 1.5 + 2**-21
    1.5000004768371582
    """
    return (int(high or 0) * 2**53 + int(low or 0)) / 2**73


def totals(groups: Mapping[str, Sequence], name: str) -> list[float]:
    """Each group's exact sum (:func:`sums` over ``name``); the engine's own sum, the column ``name``, for a group
    with a row that has no exact parts."""
    found = zip(groups[name], groups[f"{name}_high"], groups[f"{name}_low"], groups[f"{name}_far"], strict=True)
    return [float(plain) if far else total(high, low) for plain, high, low, far in found]
