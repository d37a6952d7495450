"""The tag store's rules, without a database: value checks, patches and states, the edit diff and undo.

Every store runs the same steps for a write: check the caller's values into :class:`Patch` objects (one per
example), read the stored :class:`State` of those examples inside its write transaction, and hand both to
:func:`diff`, which says what changes (a :class:`Diff`: the history :class:`Entry` of each changed field and
the rows, columns and ticks to write). Undo is the same with the patches :func:`undo_patches` computes from
the history. Only the reading and the writing are the store's own.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from analysis.errors import TagError
from analysis.normalize import label_text

#: The fixed columns of TagStore.tags(), before one column per category; category names may not take them.
FIXED_COLUMNS: Final = (
    "id",
    "reviewed",
    "mislabeled",
    "corrected_label",
    "note",
    "updated_by",
    "updated_at",
)
BOOL_FIELDS: Final = ("reviewed", "mislabeled")
TEXT_FIELDS: Final = ("corrected_label", "note")
#: The keys a row of TagStore.merge() may have.
MERGE_KEYS: Final = frozenset({"id", "categories", "reviewed", "mislabeled", "corrected_label", "note"})
#: The kinds of change undo reverts; an undo or a forced category removal is never undone.
UNDOABLE_KINDS: Final = ("edit", "merge")


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: Default of optional text arguments: "leave this field as it is" (``None`` clears the field).
UNSET: Final = Unset.UNSET

# ----------------------------------------------------------------------------------------------------
# Patches, states, changes
# ----------------------------------------------------------------------------------------------------


@dataclass
class Patch:
    """The wanted values of one example; ``None``/``UNSET`` = leave as is."""

    example_id: str
    reviewed: bool | None = None
    mislabeled: bool | None = None
    corrected_label: str | None | Unset = UNSET
    note: str | None | Unset = UNSET
    categories: dict[int, bool] = field(default_factory=dict)  # category_id -> ticked
    #: ``reviewed`` was not given but implied by the edit (see :func:`fill_patch` and :func:`diff`)
    implied_review: bool = field(default=False, compare=False)


@dataclass
class State:
    """The stored values of one example."""

    key: int | None = None  # the store's key of the example's record; None: no record yet
    reviewed: bool = False
    mislabeled: bool = False
    corrected_label: str | None = None
    note: str | None = None
    ticks: set[int] = field(default_factory=set)

    def is_blank(self) -> bool:
        """Whether nothing is set: such an example needs no record."""
        return not self.reviewed and not self.has_tags()

    def has_tags(self) -> bool:
        """Whether something besides ``reviewed`` is set: a tick, mislabeled, a corrected label or a note."""
        return bool(self.mislabeled or self.ticks) or self.corrected_label is not None or self.note is not None


@dataclass(frozen=True)
class Entry:
    """One changed field of one example, as the history keeps it.

    ``field`` is a fixed column name or, with ``category_id`` set, the category's name at the time; ``old`` and
    ``new`` are 0/1 for flags and ticks, text or None for text fields.
    """

    example_id: str
    field: str
    category_id: int | None
    old: object
    new: object


@dataclass(frozen=True)
class Change:
    """One recorded change (an edit, a merge, an undo or a forced category removal)."""

    change_id: int
    kind: str
    user: str | None


@dataclass
class Diff:
    """What writing some patches over the stored states changes.

    Examples without a record are in ``new_rows`` (with their values after the change) and
    ``new_row_ticks`` (their ticks, by example id: their keys exist once inserted); the others are changed in
    place: ``column_updates`` (column -> (value, key)), ``tick_adds`` and ``tick_removes`` ((key, category id)),
    ``touched`` (every changed key) and ``blank`` (the keys left with nothing set, whose records go).
    """

    entries: list[Entry] = field(default_factory=list)
    new_rows: list[tuple[str, State]] = field(default_factory=list)
    new_row_ticks: list[tuple[str, int]] = field(default_factory=list)
    column_updates: dict[str, list[tuple[object, int]]] = field(default_factory=dict)
    tick_adds: list[tuple[int, int]] = field(default_factory=list)
    tick_removes: list[tuple[int, int]] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)

    @property
    def changed_examples(self) -> int:
        """How many examples change."""
        return len({entry.example_id for entry in self.entries})


# ----------------------------------------------------------------------------------------------------
# Value checks
# ----------------------------------------------------------------------------------------------------


def is_missing(value: object) -> bool:
    """Whether a value stands for "nothing": None, NaN, ``pandas.NA`` or ``pandas.NaT``."""
    return (
        value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT
    )


def as_name(value: object, what: str) -> str:
    """A dataset or category name, trimmed; refuses blank and non-text values."""
    if not isinstance(value, str) or not value.strip():
        raise TagError(f"{what} must be a non-blank string, got {value!r}")
    return value.strip()


def as_id(value: object) -> str:
    """An example id by the project's one rule (:func:`analysis.normalize.label_text`): ``3.0``, ``"003"`` -> ``"3"``.

    Raises
    ------
    TagError
        If the id is blank or missing, or not a single text or number.
    """
    if is_missing(value):
        raise TagError("example id must not be blank")
    if not isinstance(value, str | bytes | numbers.Real | np.bool_):
        raise TagError(f"example id must be a text or a number, got {value!r} ({type(value).__name__})")
    text = label_text(value)
    if text is None:
        raise TagError("example id must not be blank")
    return text


def as_bool(value: object, what: str) -> bool:
    """A flag: a boolean, or the integer 0 or 1."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise TagError(f"{what} must be True or False, got {value!r}")


def as_text(value: object, what: str) -> str | None:
    """Normalise a text field: missing or blank -> None (clears the field)."""
    if is_missing(value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        value = str(int(value))
    if not isinstance(value, str):
        raise TagError(f"{what} must be a string or None, got {value!r} ({type(value).__name__})")
    return value if value.strip() else None


def as_limit(value: object) -> int | None:
    """The ``limit`` of a history read: None or a non-negative integer."""
    if value is not None and (not isinstance(value, numbers.Integral) or value < 0):
        raise TagError(f"limit must be a non-negative integer, got {value!r}")
    return None if value is None else int(value)


def stored(value: object) -> object:
    """A value as the history keeps it: flags as 0/1."""
    return int(value) if isinstance(value, bool) else value


# ----------------------------------------------------------------------------------------------------
# Categories
# ----------------------------------------------------------------------------------------------------


def check_not_reserved(name: str) -> None:
    """Refuse a category name that is a fixed column of the tags frame (in any letter case)."""
    if name.casefold() in FIXED_COLUMNS:
        raise TagError(f"{name!r} cannot be a category name: it is a fixed column of the tag sheet")


def find_casefold(categories: Iterable[str], name: str) -> str | None:
    """The existing category that ``name`` matches in some letter case, if any."""
    wanted = name.casefold()
    return next((existing for existing in categories if existing.casefold() == wanted), None)


def check_new_category(dataset: str, existing: Iterable[str], name: object) -> str:
    """A new category's name, trimmed; refuses a blank, reserved or taken one."""
    name = as_name(name, "category name")
    check_not_reserved(name)
    taken = find_casefold(existing, name)
    if taken is not None:
        raise TagError(f"dataset {dataset!r} already has the category {taken!r}")
    return name


def categories_to_add(existing: Iterable[str], new: Iterable[str]) -> list[str]:
    """The categories of ``new`` that a merge must add: those the dataset does not have under that exact name.

    Two sheet imports that add the same category at once both land: the later one finds it added and uses it.
    A name taken in another letter case is still refused (by :func:`check_new_category`).
    """
    have = set(existing)
    return [name for name in new if not (isinstance(name, str) and name.strip() in have)]


def unknown_categories_message(dataset: str, unknown: list[str], known: Iterable[str]) -> str:
    """The message refusing categories a dataset does not have, listing the ones it has."""
    listed = ", ".join(repr(n) for n in known) or "none yet"
    plural = "categories" if len(unknown) > 1 else "category"
    return (
        f"unknown {plural} {', '.join(repr(n) for n in unknown)} for dataset {dataset!r} (it has: {listed})"
    )


def category_values(categories: Mapping[str, object] | None, where: str) -> dict[str, bool]:
    """Check a mapping of category name to tick."""
    if categories is None:
        return {}
    if not isinstance(categories, Mapping):
        raise TagError(f"{where}: categories must be a dict of name to bool, got {type(categories).__name__}")
    return {
        as_name(name, "category name"): as_bool(value, f"{where}: category {name!r}")
        for name, value in categories.items()
    }


def resolve_categories(patch: Patch, names: dict[str, bool], known: Mapping[str, int], dataset: str) -> None:
    """Set the patch's ticks by category id; refuses names the dataset does not have."""
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TagError(unknown_categories_message(dataset, unknown, known))
    patch.categories = {known[n]: v for n, v in names.items()}


# ----------------------------------------------------------------------------------------------------
# Patches from the callers' values
# ----------------------------------------------------------------------------------------------------


def fill_patch(patch: Patch, *, reviewed: object, mislabeled: object, corrected_label: object,
               note: object) -> None:
    """Set the patch's fields from caller values, checking their types.

    A corrected label given without ``mislabeled`` marks the example mislabeled (the tallies count label errors
    by that flag). Any value marks the example reviewed unless ``reviewed`` is given; :func:`diff` takes that
    implied review back when the edit leaves nothing set.
    """
    if mislabeled is not None:
        patch.mislabeled = as_bool(mislabeled, "mislabeled")
    if corrected_label is not UNSET:
        patch.corrected_label = as_text(corrected_label, "corrected_label")
        if patch.corrected_label is not None and mislabeled is None:
            patch.mislabeled = True
    if note is not UNSET:
        patch.note = as_text(note, "note")
    patch.reviewed = True if reviewed is None else as_bool(reviewed, "reviewed")
    patch.implied_review = reviewed is None


def edit_patch(example_id: object, categories: Mapping[str, bool] | None, **values: object) -> tuple[
        Patch, dict[str, bool]]:
    """The patch of one edit and its category ticks by name (resolved later, inside the transaction)."""
    patch = Patch(as_id(example_id))
    names = category_values(categories, f"example {patch.example_id!r}")
    fill_patch(patch, **values)
    return patch, names


def merge_patches(rows: Iterable[Mapping[str, object]]) -> tuple[list[Patch], list[dict[str, bool]]]:
    """The patches of a merge's rows and the category ticks of each by name; refuses the first bad row."""
    patches: list[Patch] = []
    names_per_row: list[dict[str, bool]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        patch, names = _row_patch(number, row)
        if patch.example_id in seen:
            raise TagError(f"row {number}: example id {patch.example_id!r} appears more than once")
        seen.add(patch.example_id)
        patches.append(patch)
        names_per_row.append(names)
    return patches, names_per_row


def _row_patch(number: int, row: object) -> tuple[Patch, dict[str, bool]]:
    if not isinstance(row, Mapping):
        raise TagError(f"row {number} must be a dict, got {type(row).__name__}")
    unknown_keys = sorted(set(row) - MERGE_KEYS, key=str)
    if unknown_keys:
        raise TagError(f"row {number} has unknown key(s) {unknown_keys}; allowed: {sorted(MERGE_KEYS)}")
    if "id" not in row:
        raise TagError(f"row {number} has no 'id'")
    patch = Patch(as_id(row["id"]))
    where = f"row {number} (id {patch.example_id!r})"
    flags = {k: None if is_missing(row.get(k)) else row[k] for k in BOOL_FIELDS}
    texts = {k: row[k] if k in row else UNSET for k in TEXT_FIELDS}
    try:
        fill_patch(patch, **flags, **texts)
    except TagError as exc:
        raise TagError(f"{where}: {exc}") from None
    raw = row.get("categories")
    if raw is not None and not isinstance(raw, Mapping):
        raise TagError(f"{where}: 'categories' must be a dict of name to bool")
    values = {k: v for k, v in (raw or {}).items() if not is_missing(v)}
    return patch, category_values(values, where)


def resolve_merge(patches: list[Patch], names_per_row: list[dict[str, bool]], known: Mapping[str, int],
                  dataset: str) -> None:
    """Resolve the category names of a merge's patches, naming every unknown category at once."""
    unknown = sorted({n for names in names_per_row for n in names if n not in known})
    if unknown:
        raise TagError(unknown_categories_message(dataset, unknown, known) + "; nothing was imported")
    for patch, names in zip(patches, names_per_row, strict=True):
        resolve_categories(patch, names, known, dataset)


# ----------------------------------------------------------------------------------------------------
# The diff
# ----------------------------------------------------------------------------------------------------


def diff(patches: Iterable[Patch], states: Mapping[str, State], category_names: Mapping[int, str]) -> Diff:
    """What the patches change over the stored states.

    Parameters
    ----------
    patches : iterable of Patch
        At most one per example.
    states : mapping of str to State
        The stored values of the patched examples that have a record, by example id.
    category_names : mapping of int to str
        The dataset's categories, by id: names the history entries of ticks.

    Returns
    -------
    Diff
        Only the fields whose wanted value differs from the stored one; nothing for an example that changes
        nothing.
    """
    result = Diff()
    for patch in patches:
        _diff_example(result, patch, states.get(patch.example_id) or State(), category_names)
    return result


def _field_entries(patch: Patch, state: State, names: Iterable[str]) -> list[Entry]:
    entries = []
    for name in names:
        wanted = getattr(patch, name)
        if wanted is UNSET or (wanted is None and name in BOOL_FIELDS):
            continue
        current = getattr(state, name)
        if wanted != current:
            entries.append(Entry(patch.example_id, name, None, stored(current), stored(wanted)))
    return entries


def _tick_changes(patch: Patch, state: State) -> dict[int, bool]:
    return {
        category_id: ticked
        for category_id, ticked in patch.categories.items()
        if ticked != (category_id in state.ticks)
    }


def _after(state: State, fields: list[Entry], ticks: Mapping[int, bool]) -> State:
    after = State(state.key, state.reviewed, state.mislabeled, state.corrected_label, state.note, set(state.ticks))
    for entry in fields:
        setattr(after, entry.field, bool(entry.new) if entry.field in BOOL_FIELDS else entry.new)
    for category_id, ticked in ticks.items():
        (after.ticks.add if ticked else after.ticks.discard)(category_id)
    return after


def _review_entries(patch: Patch, state: State, tags: list[Entry], ticks: Mapping[int, bool]) -> list[Entry]:
    """The change of ``reviewed``. A review implied by an edit that takes away the last tag (a tick and then its
    untick, a note cleared) is taken back: an example with nothing set is not counted as reviewed, which would
    lower every share of the tallies, unless the caller said ``reviewed=True``."""
    if patch.implied_review and (tags or ticks) and not _after(state, tags, ticks).has_tags():
        patch = Patch(patch.example_id, reviewed=False)
    return _field_entries(patch, state, ["reviewed"])


def _diff_example(result: Diff, patch: Patch, state: State, category_names: Mapping[int, str]) -> None:
    tags = _field_entries(patch, state, ["mislabeled", "corrected_label", "note"])
    ticks = _tick_changes(patch, state)
    fields = _review_entries(patch, state, tags, ticks) + tags
    if not fields and not ticks:
        return
    result.entries.extend(fields)
    result.entries.extend(
        Entry(patch.example_id, category_names[category_id], category_id, int(not ticked), int(ticked))
        for category_id, ticked in ticks.items()
    )
    after = _after(state, fields, ticks)
    if state.key is None:  # a new example (a change from the all-blank default is never blank)
        result.new_rows.append((patch.example_id, after))
        result.new_row_ticks.extend((patch.example_id, category_id) for category_id in ticks)
        return
    for entry in fields:
        result.column_updates.setdefault(entry.field, []).append((entry.new, state.key))
    for category_id, ticked in ticks.items():
        (result.tick_adds if ticked else result.tick_removes).append((state.key, category_id))
    result.touched.append(state.key)
    if after.is_blank():
        result.blank.append(state.key)


# ----------------------------------------------------------------------------------------------------
# Undo
# ----------------------------------------------------------------------------------------------------


def undo_patches(entries: Iterable[Entry], states: Mapping[str, State], categories: Iterable[int]) -> list[Patch]:
    """The patches that revert a change's entries, newest entry first.

    A field whose stored value is no longer the one the change wrote (edited since, or a tick of a category
    that no longer exists) is left as it is.

    Parameters
    ----------
    entries : iterable of Entry
        The change's history entries, newest first.
    states : mapping of str to State
        The stored values of the examples they name that have a record.
    categories : iterable of int
        The ids of the dataset's categories now.
    """
    existing = set(categories)
    patches: dict[str, Patch] = {}
    for entry in entries:
        state = states.get(entry.example_id) or State()
        patch = patches.setdefault(entry.example_id, Patch(entry.example_id))
        if entry.category_id is not None:
            if entry.category_id in existing and (entry.category_id in state.ticks) == bool(entry.new):
                patch.categories[entry.category_id] = bool(entry.old)
        elif stored(getattr(state, entry.field)) == entry.new:
            setattr(patch, entry.field, bool(entry.old) if entry.field in BOOL_FIELDS else entry.old)
    return list(patches.values())


def undo_message(change: Change, entries: list[Entry]) -> str:
    """What an undo of ``change`` (whose entries are given newest first) reports."""
    ids = list(dict.fromkeys(entry.example_id for entry in entries))
    who = f"{change.user}'s" if change.user else "an"
    if change.kind == "merge":
        return f"undid {who} import of {len(ids)} example(s)"
    fields = ", ".join(dict.fromkeys(entry.field for entry in reversed(entries)))
    return f"undid {who} edit of example {ids[0]!r} ({fields})"
