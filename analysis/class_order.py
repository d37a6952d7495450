"""The order of the classes along a confusion matrix's axes, and the groups they fall in.

At 20 or 100 classes a matrix is read by its blocks: the ``comp.*`` newsgroups confused among themselves, the
animals of CIFAR-10 among themselves. Ordering the rows and columns by a group (a name prefix, or a hierarchy the
user gives) puts each block on the diagonal; ordering by error puts the worst classes first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.errors import ErrorscopeError
from analysis.normalize import natural_key

__all__ = ["ORDERS", "ClassOrder", "name_prefix", "order_classes", "parse_hierarchy"]

#: The ways to order a matrix's classes: by name (natural order), by error (the true class's share of mistakes,
#: highest first), grouped by name prefix, grouped by a given hierarchy.
ORDERS = ("name", "error", "prefix", "hierarchy")
_PREFIX = re.compile(r"^(.+?)[./:_\- ]")


@dataclass(frozen=True)
class ClassOrder:
    """Classes in display order, and the group of each (None when not grouped)."""

    classes: list[str]
    groups: list[str | None]

    @property
    def boundaries(self) -> list[int]:
        """Positions where a new group starts (0 left out): where a grouped matrix draws its block lines.

        >>> ClassOrder(["a.x", "a.y", "b.z"], ["a", "a", "b"]).boundaries
        [2]
        """
        return [i for i in range(1, len(self.groups)) if self.groups[i] != self.groups[i - 1]]


def name_prefix(label: str) -> str:
    """The part of a class name before its first separator (``.``, ``/``, ``:``, ``_``, ``-`` or a space); the
    whole name when it has none.

    >>> name_prefix("comp.sys.mac.hardware"), name_prefix("talk-politics"), name_prefix("cat")
    ('comp', 'talk', 'cat')
    """
    match = _PREFIX.match(label)
    return match.group(1) if match else label


def _error_rates(classes: Sequence[str], matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.shape != (len(classes), len(classes)):
        raise ErrorscopeError(f"the matrix is {m.shape[0]} x {m.shape[1]} for {len(classes)} classes")
    rows = m.sum(axis=1)
    mistakes = rows - np.diag(m)
    return np.divide(mistakes, rows, out=np.zeros_like(rows), where=rows > 0)


def order_classes(classes: Sequence[str], matrix: np.ndarray, *, by: str = "name",
                  hierarchy: Mapping[str, str] | None = None) -> ClassOrder:
    """The classes of a confusion matrix (rows true, columns predicted, in ``classes``' order) in the order ``by``.

    Parameters
    ----------
    classes : sequence of str
        The matrix's classes, in the order of its rows.
    matrix : array of shape (k, k)
        Counts (or summed weights) of the matrix.
    by : {'name', 'error', 'prefix', 'hierarchy'}
        ``name``: natural order. ``error``: the true class's error rate (its mistakes over its examples), highest
        first, ties by name. ``prefix``: grouped by :func:`name_prefix`, groups by name, then by name within.
        ``hierarchy``: grouped as ``hierarchy`` says, groups in the order it names them, classes by name within;
        classes it leaves out come last, in a group of their own (``None``).
    hierarchy : mapping of class to group, optional
        Needed for ``by='hierarchy'`` (see :func:`parse_hierarchy`).

    Returns
    -------
    ClassOrder

    Examples
    --------
    >>> m = np.array([[8, 2, 0], [0, 5, 5], [0, 0, 10]])
    >>> order_classes(["sci.med", "comp.os", "comp.gfx"], m, by="error").classes
    ['comp.os', 'sci.med', 'comp.gfx']
    >>> order_classes(["sci.med", "comp.os", "comp.gfx"], m, by="prefix")
    ClassOrder(classes=['comp.gfx', 'comp.os', 'sci.med'], groups=['comp', 'comp', 'sci'])
    """
    classes = [str(c) for c in classes]
    rates = _error_rates(classes, matrix)
    if by == "name":
        return ClassOrder(sorted(classes, key=natural_key), [None] * len(classes))
    if by == "error":
        rate = dict(zip(classes, rates, strict=True))
        return ClassOrder(sorted(classes, key=lambda c: (-rate[c], natural_key(c))), [None] * len(classes))
    if by == "prefix":
        ordered = sorted(classes, key=lambda c: (natural_key(name_prefix(c)), natural_key(c)))
        return ClassOrder(ordered, [name_prefix(c) for c in ordered])
    if by == "hierarchy":
        if not hierarchy:
            raise ErrorscopeError("ordering by hierarchy needs one: a group for each class")
        rank = {g: i for i, g in enumerate(dict.fromkeys(hierarchy.values()))}
        place = {c: rank.get(hierarchy.get(c), len(rank)) for c in classes}
        ordered = sorted(classes, key=lambda c: (place[c], natural_key(c)))
        return ClassOrder(ordered, [hierarchy.get(c) for c in ordered])
    raise ErrorscopeError(f"unknown order {by!r}; choose one of {', '.join(ORDERS)}")


def parse_hierarchy(text: str, classes: Sequence[str]) -> dict[str, str]:
    """A hierarchy typed as one line per group, ``group: class, class, ...``, as a mapping of class to group.

    Raises ErrorscopeError naming the line for a line without ``:``, a class the file lacks, or a class in two
    groups; blank lines are skipped.

    >>> parse_hierarchy("animal: cat, dog\\nvehicle: car", ["car", "cat", "dog"])
    {'cat': 'animal', 'dog': 'animal', 'car': 'vehicle'}
    """
    known = {str(c) for c in classes}
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        group, sep, members = line.partition(":")
        if not sep or not group.strip():
            raise ErrorscopeError(f"hierarchy line {number}: write it as 'group: class, class', got {line!r}")
        for member in (m.strip() for m in members.split(",")):
            if not member:
                continue
            if member not in known:
                raise ErrorscopeError(f"hierarchy line {number}: no class {member!r} in the file")
            if member in out:
                raise ErrorscopeError(f"hierarchy line {number}: {member!r} is already in group {out[member]!r}")
            out[member] = group.strip()
    return out
