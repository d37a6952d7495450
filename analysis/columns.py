"""Which column of a predictions file plays which role (the input format of DESIGN.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.errors import InputError
from analysis.normalize import label_text

#: Accepted names of each role, compared case-insensitively; the first is the canonical name.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "y_true": ("y_true", "label", "target", "y", "true", "ground_truth"),
    "y_pred": ("y_pred", "pred", "prediction", "predicted"),
    "split": ("split",),
    "weight": ("weight",),
    "text": ("text",),
    "image": ("image",),
}
ROLES = tuple(ALIASES)

_PROB = re.compile(r"^p_(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnMap:
    """The file's column for each role (``None`` where the file has none).

    ``probs`` maps each class to its ``p_<class>`` column; ``metadata`` lists the remaining columns.
    """

    y_true: str
    y_pred: str | None = None
    id: str | None = None
    split: str | None = None
    weight: str | None = None
    text: str | None = None
    image: str | None = None
    probs: dict[str, str] = field(default_factory=dict)
    metadata: tuple[str, ...] = ()

    def role_columns(self) -> dict[str, str | None]:
        """Each role with its column, in the order of :data:`ROLES`."""
        return {role: getattr(self, role) for role in ROLES}


def detect_columns(
    names: Sequence[str], overrides: Mapping[str, str | None] | None = None, *, source: str = "the file"
) -> ColumnMap:
    """Map the columns of a file to their roles by name; ``overrides`` (role -> column or None) win.

    >>> detect_columns(["ID", "label", "p_cat", "p_dog"]).probs
    {'cat': 'p_cat', 'dog': 'p_dog'}
    """
    roles = guess_roles(names, overrides, source=source)
    taken = {c for c in roles.values() if c is not None}
    probs = _prob_columns([name for name in names if name not in taken], source)
    if roles["y_true"] is None:
        raise InputError(
            f"{source}: no true-label column; name it y_true (or one of {', '.join(ALIASES['y_true'][1:])}). "
            f"Columns are {shown_names(names)}"
        )
    if roles["y_pred"] is None and not probs:
        raise InputError(
            f"{source}: no predictions; add a y_pred column (or one of {', '.join(ALIASES['y_pred'][1:])}) "
            "or one p_<class> probability column per class"
        )
    used = taken | set(probs.values())
    metadata = tuple(n for n in names if n not in used)
    return ColumnMap(probs=probs, metadata=metadata, **roles)  # type: ignore[arg-type]


def shown_names(names: Sequence[str], most: int = 20, width: int = 40) -> str:
    """The column names as a message shows them: the first ``most``, each cut to ``width`` characters.

    >>> shown_names(["a", "b" * 50, *"cdefg"], most=3, width=5)
    "['a', 'bbbb…', 'c'] and 4 more"
    """
    cut = [n if len(n) <= width else n[:width - 1] + "…" for n in names[:most]]
    return f"{cut}" + (f" and {len(names) - most:,} more" if len(names) > most else "")


def _prob_columns(names: Sequence[str], source: str) -> dict[str, str]:
    """Each class with its ``p_<class>`` column, in the file's order; the class named by the one label rule."""
    probs: dict[str, str] = {}
    for name in names:
        match = _PROB.match(name)
        if not match:
            continue
        label = label_text(match.group(1))
        if label is None or label in probs:
            why = "a blank class" if label is None else f"the class {label!r}, as {probs[label]!r} does"
            raise InputError(f"{source}: column {name!r} names {why}; give one p_<class> column per class")
        probs[label] = name
    return probs


def guess_roles(names: Sequence[str], overrides: Mapping[str, str | None] | None = None, *,
                source: str = "the file") -> dict[str, str | None]:
    """Each role's column by its name (None where no name fits), with ``overrides`` applied; never guesses twice.

    >>> guess_roles(["gold", "Prediction"])["y_pred"], guess_roles(["gold", "Prediction"])["y_true"]
    ('Prediction', None)
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(ROLES)
    if unknown:
        raise InputError(f"unknown column role(s) {sorted(unknown)}; roles are {list(ROLES)}")
    by_lower: dict[str, str] = {}
    for name in names:
        by_lower.setdefault(name.lower(), name)
    roles: dict[str, str | None] = {}
    for role, chosen in overrides.items():
        if chosen is not None and chosen not in names:
            raise InputError(f"{source}: no column {chosen!r} to use as {role}; columns are {shown_names(names)}")
        if chosen is not None and chosen in roles.values():
            raise InputError(f"{source}: column {chosen!r} cannot have two roles; pick one column per role")
        roles[role] = chosen
    for role, aliases in ALIASES.items():  # guess the other roles among the columns no override took
        if role not in roles:
            roles[role] = next((by_lower[a] for a in aliases if a in by_lower and by_lower[a] not in roles.values()),
                               None)
    return {role: roles[role] for role in ALIASES}
