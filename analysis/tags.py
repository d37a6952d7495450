"""The tag store: error categories and per-example tags in one SQLite file.

The store is the only source of truth for tags. The app saves every edit through it (one small transaction per
edit, committed before the next render), the CLI and notebooks read and bulk-merge through it, and several
processes and threads may use one file at once.

Tags are keyed by (dataset name, example id), not by predictions file: tags made while reviewing one model's
mistakes show up again when a newer model's predictions of the same examples are opened under the same dataset
name.

Storage
-------
One SQLite file per project (:func:`default_db_path`), in WAL mode so readers never block the writer,
with a 10 s busy timeout and every write in a ``BEGIN IMMEDIATE`` transaction, so concurrent writers queue
instead of failing. An edit reads the current values inside its write transaction and updates only the
columns and category rows it changes: two sessions editing different fields of one example both keep their
edit.

Schema versions (``PRAGMA user_version``)
-----------------------------------------
1
    ``datasets``, ``categories``, ``examples`` (``reviewed``, ``mislabeled``, ``corrected_label``, ``note``,
    ``updated_at``) and ``example_categories``; no history, no ``updated_by``.
2 (current)
    adds ``examples.updated_by`` and the history: ``changes`` (one row per edit, merge, undo or forced
    category removal) and ``history`` (one row per changed field). Version 1 files are migrated when
    opened.

A file with a newer version than this code knows is refused (upgrade errorscope to open it).
"""

from __future__ import annotations

import enum
import getpass
import itertools
import json
import math
import numbers
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, cast

import numpy as np
import pandas as pd

from analysis.errors import TagError

__all__ = ["DB_ENV_VAR", "FIXED_COLUMNS", "SCHEMA_VERSION", "UNSET", "TagStore", "categories_of",
           "default_db_path"]

#: Environment variable naming the tag store file; overrides ``errorscope.db`` in the working folder.
DB_ENV_VAR: Final = "ERRORSCOPE_DB"
#: The schema version this code writes.
SCHEMA_VERSION: Final = 2

_SQLITE_HEADER = b"SQLite format 3\x00"
_BUSY_TIMEOUT_S = 10.0
# Durability. Both levels keep an acknowledged edit when the process is killed (in WAL mode a commit is in
# the operating system's hands before it returns); FULL also syncs the WAL on every commit, so the edit
# survives a power loss or a kernel crash too. bench/bench_tags.py on a 2-core VM: median edit (commit
# included) with FULL 0.3-4.0 ms depending on the disk's sync latency (the store's own CPU time is 0.2-0.3 ms;
# a bare one-row upsert with FULL takes the same 0.2-4.0 ms), with NORMAL 0.1 ms. FULL stays under the 5 ms
# budget for an edit, so it is the default; pass synchronous="NORMAL" on disks whose syncs are slower.
_DEFAULT_SYNCHRONOUS: Final = "FULL"

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
_BOOL_FIELDS: Final = ("reviewed", "mislabeled")
# TagStore.tags() reads the examples in id ranges of this many rows, each aggregated by SQLite into one
# string per column (numbers comma-separated, texts as a JSON array) in one pass over the (dataset, id)
# index: parsing a few long strings is several times faster than building a Python tuple per row, the
# columns stay aligned (one pass), and a chunk keeps each string far below SQLite's 1 GB value limit.
_CHUNK_ROWS: Final = 25_000
# Timestamps are stored as ISO 8601 text in UTC with milliseconds; SQLite turns them into epoch milliseconds
# (exact: julianday's error is far below half a millisecond), NULL or unreadable ones into numpy's NaT.
_EPOCH_MS_SQL: Final = (
    "coalesce(CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER), -9223372036854775808)"
)
_TAGS_SQL: Final = f"""
SELECT count(*), group_concat(example_key), group_concat(reviewed), group_concat(mislabeled),
       group_concat({_EPOCH_MS_SQL.format(column="updated_at")}),
       json_group_array(example_id), json_group_array(corrected_label), json_group_array(note),
       json_group_array(updated_by)
FROM examples WHERE {{where}}
"""
_CHUNK_END_SQL: Final = "SELECT example_id FROM examples WHERE {where} ORDER BY example_id LIMIT 1 OFFSET ?"
_TICKS_SQL: Final = """
SELECT category_id, group_concat(example_key) FROM example_categories
WHERE category_id IN (SELECT category_id FROM categories WHERE dataset_id = ?)
GROUP BY category_id
"""
_TICKS_OF_IDS_SQL: Final = """
SELECT ec.category_id, group_concat(ec.example_key)
FROM examples e JOIN example_categories ec ON ec.example_key = e.example_key
WHERE e.dataset_id = ? AND e.example_id IN (SELECT value FROM json_each(?))
GROUP BY ec.category_id
"""
_TEXT_FIELDS: Final = ("corrected_label", "note")
_MERGE_KEYS: Final = frozenset({"id", "categories", "reviewed", "mislabeled", "corrected_label", "note"})
_UNDOABLE_KINDS: Final = ("edit", "merge")


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: Default of optional text arguments: "leave this field as it is" (``None`` clears the field).
UNSET: Final = _Unset.UNSET

# ----------------------------------------------------------------------------------------------------
# Schema
# ----------------------------------------------------------------------------------------------------

_TABLES_V2 = """
CREATE TABLE datasets (
    dataset_id  INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE
);
CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so history keeps pointing right
    dataset_id  INTEGER NOT NULL REFERENCES datasets (dataset_id),
    name        TEXT NOT NULL
);
CREATE UNIQUE INDEX categories_name ON categories (dataset_id, name COLLATE NOCASE);
CREATE TABLE examples (
    example_key     INTEGER PRIMARY KEY,
    dataset_id      INTEGER NOT NULL REFERENCES datasets (dataset_id),
    example_id      TEXT NOT NULL,
    reviewed        INTEGER NOT NULL DEFAULT 0 CHECK (reviewed IN (0, 1)),
    mislabeled      INTEGER NOT NULL DEFAULT 0 CHECK (mislabeled IN (0, 1)),
    corrected_label TEXT,
    note            TEXT,
    updated_by      TEXT,
    updated_at      TEXT,  -- ISO 8601, UTC, milliseconds
    UNIQUE (dataset_id, example_id)
);
CREATE TABLE example_categories (  -- one row per ticked category
    example_key INTEGER NOT NULL REFERENCES examples (example_key) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (category_id) ON DELETE CASCADE,
    PRIMARY KEY (example_key, category_id)
) WITHOUT ROWID;
CREATE INDEX example_categories_category ON example_categories (category_id, example_key);
"""

_HISTORY_V2 = """
CREATE TABLE changes (
    change_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets (dataset_id),
    kind       TEXT NOT NULL CHECK (kind IN ('edit', 'merge', 'undo', 'remove_category')),
    user_name  TEXT,
    at         TEXT NOT NULL,  -- ISO 8601, UTC, milliseconds
    undone     INTEGER NOT NULL DEFAULT 0,
    undo_of    INTEGER REFERENCES changes (change_id)
);
CREATE INDEX changes_dataset ON changes (dataset_id, change_id);
CREATE TABLE history (
    entry_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id   INTEGER NOT NULL REFERENCES changes (change_id),
    example_id  TEXT NOT NULL,
    field       TEXT NOT NULL,  -- a fixed column name, or the category's name at the time
    category_id INTEGER,        -- for category fields; no foreign key: removed ones keep their history
    old,                        -- untyped: 0/1 for flags, text or NULL for text fields
    new
);
CREATE INDEX history_change ON history (change_id);
"""

_SCHEMA_V2 = _TABLES_V2 + _HISTORY_V2


# ----------------------------------------------------------------------------------------------------
# Public helpers
# ----------------------------------------------------------------------------------------------------


def categories_of(tags: pd.DataFrame) -> list[str]:
    """The category columns of a :meth:`TagStore.tags` frame, in category order.

    Reading them from the frame, rather than from a second query, keeps the two consistent while other
    sessions rename or remove categories.
    """
    return list(tags.columns[len(FIXED_COLUMNS):])


def default_db_path() -> Path:
    """Return where the tag store lives when no path is given.

    Returns
    -------
    Path
        The path in the ``ERRORSCOPE_DB`` environment variable when it is set and not blank, else
        ``errorscope.db`` in the working folder; always absolute.
    """
    value = os.environ.get(DB_ENV_VAR, "").strip()
    path = Path(value).expanduser() if value else Path("errorscope.db")
    return path if path.is_absolute() else Path.cwd() / path


# ----------------------------------------------------------------------------------------------------
# Internal value handling
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Patch:
    """The wanted values of one example; ``None``/``UNSET`` = leave as is."""

    example_id: str
    reviewed: bool | None = None
    mislabeled: bool | None = None
    corrected_label: str | None | _Unset = UNSET
    note: str | None | _Unset = UNSET
    categories: dict[int, bool] = field(default_factory=dict)  # category_id -> ticked


@dataclass
class _State:
    """The stored values of one example."""

    key: int | None = None  # None: no record yet
    reviewed: bool = False
    mislabeled: bool = False
    corrected_label: str | None = None
    note: str | None = None
    ticks: set[int] = field(default_factory=set)

    def is_blank(self) -> bool:
        return not (self.reviewed or self.mislabeled or self.ticks) and (
            self.corrected_label is None and self.note is None
        )


def _is_missing(value: object) -> bool:
    return (
        value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT
    )


def _as_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TagError(f"{what} must be a non-blank string, got {value!r}")
    return value.strip()


def _as_id(value: object) -> str:
    if isinstance(value, str):
        if value == "":
            raise TagError("example id must not be empty")
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        return str(int(value))
    raise TagError(f"example id must be a string, got {value!r} ({type(value).__name__})")


def _as_bool(value: object, what: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise TagError(f"{what} must be True or False, got {value!r}")


def _as_text(value: object, what: str) -> str | None:
    """Normalise a text field: missing or blank -> None (clears the field)."""
    if _is_missing(value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        value = str(int(value))
    if not isinstance(value, str):
        raise TagError(f"{what} must be a string or None, got {value!r} ({type(value).__name__})")
    return value if value.strip() else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# ----------------------------------------------------------------------------------------------------
# The store
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    change_id: int
    kind: str
    user: str | None


class TagStore:
    """Error categories and per-example tags of several datasets, kept in one SQLite file.

    Parameters
    ----------
    path : str or os.PathLike
        The database file; created when missing (its folder must exist). A file written by an older errorscope
        is migrated when opened.
    user : str, optional
        Name recorded with every change; defaults to the login name (``getpass.getuser()``).
    synchronous : {"FULL", "NORMAL"}, default "FULL"
        SQLite's sync level. Both keep every acknowledged edit when the process is killed; ``"FULL"`` also
        keeps it through a power loss, at the cost of one sync per commit.

    Raises
    ------
    TagError
        If ``path`` is a folder, not a SQLite database, not an errorscope tag store, or written by a newer
        errorscope.

    Notes
    -----
    One store may be shared by several threads (its connection is guarded by a lock), and several stores, in
    one process or many, may use one file at once: each write is one ``BEGIN IMMEDIATE`` transaction.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> store = TagStore(Path(folder) / "tags.db", user="ana")
    >>> store.add_category("digits", "blurry")
    >>> store.edit("digits", "17", categories={"blurry": True}, note="smudged")
    >>> store.tags("digits")[["id", "reviewed", "note", "blurry"]].to_dict("records")
    [{'id': '17', 'reviewed': True, 'note': 'smudged', 'blurry': True}]
    >>> store.undo("digits")
    "undid ana's edit of example '17' (reviewed, note, blurry)"
    >>> store.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        user: str | None = None,
        synchronous: Literal["FULL", "NORMAL"] = _DEFAULT_SYNCHRONOUS,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.user = user if user is not None else _login_name()
        if synchronous not in ("FULL", "NORMAL"):
            raise TagError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._check_path()
        try:
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise TagError(f"cannot open the tag store {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            self._check_schema(conn)  # before switching to WAL, which would change a file we refuse
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            self._prepare_schema()
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._conn = None
            raise TagError(f"cannot open the tag store {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # ------------------------------------------------------------------------------------------------
    # Opening, schema, transactions
    # ------------------------------------------------------------------------------------------------

    def _check_path(self) -> None:
        path = self.path
        if path.is_dir():
            raise TagError(f"the tag store {path} is a folder; give the path of a database file")
        if not path.parent.is_dir():
            raise TagError(f"cannot create the tag store {path}: the folder {path.parent} does not exist")
        if path.exists():
            try:
                with path.open("rb") as fh:
                    header = fh.read(len(_SQLITE_HEADER))
            except OSError as exc:
                raise TagError(f"cannot read the tag store {path}: {exc.strerror or exc}") from exc
            if header and header != _SQLITE_HEADER:
                raise TagError(
                    f"{path} is not a SQLite database, so it cannot be the tag store; "
                    "give another path (or set ERRORSCOPE_DB)"
                )

    def _check_schema(self, conn: sqlite3.Connection) -> int:
        """Return the file's schema version; refuse a newer one and other programs' databases."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise TagError(
                f"the tag store {self.path} has schema version {version}, newer than this errorscope "
                f"understands (up to {SCHEMA_VERSION}); upgrade errorscope to open it"
            )
        if version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            if tables.fetchone()[0]:
                raise TagError(
                    f"{self.path} is a SQLite database of some other program, not an errorscope tag "
                    "store; give another path"
                )
        return version

    def _prepare_schema(self) -> None:
        """Create the tables of a new file or migrate an older one, in one write transaction."""
        with self._write() as conn:
            version = self._check_schema(conn)  # again: another process may have got there first
            if version == 0:
                for statement in _split_sql(_SCHEMA_V2):
                    conn.execute(statement)
            else:
                while version < SCHEMA_VERSION:
                    for statement in _MIGRATIONS[version]:
                        conn.execute(statement)
                    version += 1
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise TagError(f"the tag store {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise TagError(f"cannot write to the tag store {self.path}: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise TagError(f"cannot write to the tag store {self.path}: {exc}") from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so that several queries see the same snapshot."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass
                self._conn.close()
                self._conn = None

    def __enter__(self) -> TagStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"TagStore({str(self.path)!r}, user={self.user!r}, {state})"

    # ------------------------------------------------------------------------------------------------
    # Datasets and categories
    # ------------------------------------------------------------------------------------------------

    @staticmethod
    def _dataset_id(conn: sqlite3.Connection, dataset: str) -> int | None:
        row = conn.execute("SELECT dataset_id FROM datasets WHERE name = ?", (dataset,)).fetchone()
        return None if row is None else int(row[0])

    @classmethod
    def _ensure_dataset(cls, conn: sqlite3.Connection, dataset: str) -> int:
        """The dataset's id, adding the dataset when new (inside a write transaction)."""
        dataset_id = cls._dataset_id(conn, dataset)
        if dataset_id is None:
            cursor = conn.execute("INSERT INTO datasets (name) VALUES (?)", (dataset,))
            dataset_id = int(cast(int, cursor.lastrowid))
        return dataset_id

    @staticmethod
    def _category_ids(conn: sqlite3.Connection, dataset_id: int | None) -> dict[str, int]:
        if dataset_id is None:
            return {}
        rows = conn.execute(
            "SELECT name, category_id FROM categories WHERE dataset_id = ? ORDER BY category_id",
            (dataset_id,),
        )
        return dict(rows.fetchall())

    def datasets(self) -> list[str]:
        """Return the names of the datasets that have categories or tags, sorted.

        Returns
        -------
        list of str
        """
        with self._lock:
            rows = self._connection().execute(
                "SELECT name FROM datasets d WHERE EXISTS (SELECT 1 FROM categories c WHERE c.dataset_id = "
                "d.dataset_id) OR EXISTS (SELECT 1 FROM examples e WHERE e.dataset_id = d.dataset_id) ORDER BY name"
            ).fetchall()
        return [name for (name,) in rows]

    def categories(self, dataset: str) -> list[str]:
        """Return the error categories of a dataset in the order they were added.

        Parameters
        ----------
        dataset : str
            Dataset name; an unknown one has no categories.

        Returns
        -------
        list of str
        """
        dataset = _as_name(dataset, "dataset name")
        with self._lock:
            conn = self._connection()
            return list(self._category_ids(conn, self._dataset_id(conn, dataset)))

    def add_category(self, dataset: str, name: str) -> None:
        """Add an error category to a dataset (creating the dataset when new).

        Parameters
        ----------
        dataset : str
            Dataset name.
        name : str
            Category name; surrounding spaces are dropped.

        Raises
        ------
        TagError
            If the name is blank, is one of the fixed columns of :meth:`tags` (``id``, ``note``, ...), or the
            dataset already has a category of that name in any letter case.
        """
        dataset = _as_name(dataset, "dataset name")
        with self._write() as conn:
            self._insert_category(conn, self._ensure_dataset(conn, dataset), dataset, name)

    def _insert_category(self, conn: sqlite3.Connection, dataset_id: int, dataset: str, name: object) -> None:
        name = _as_name(name, "category name")
        _check_not_reserved(name)
        taken = _find_casefold(self._category_ids(conn, dataset_id), name)
        if taken is not None:
            raise TagError(f"dataset {dataset!r} already has the category {taken!r}")
        conn.execute("INSERT INTO categories (dataset_id, name) VALUES (?, ?)", (dataset_id, name))

    def rename_category(self, dataset: str, old: str, new: str) -> None:
        """Rename a category; its tags and its place in the order stay.

        Parameters
        ----------
        dataset : str
            Dataset name.
        old : str
            Current name (exact).
        new : str
            New name; may differ from ``old`` only in letter case.

        Raises
        ------
        TagError
            If ``old`` is not a category of the dataset, or ``new`` is blank, reserved or taken by another
            category.
        """
        dataset = _as_name(dataset, "dataset name")
        old = _as_name(old, "category name")
        new = _as_name(new, "new category name")
        _check_not_reserved(new)
        with self._write() as conn:
            dataset_id = self._dataset_id(conn, dataset)
            categories = self._category_ids(conn, dataset_id)
            if old not in categories:
                raise TagError(_unknown_categories_message(dataset, [old], categories))
            taken = _find_casefold({k: v for k, v in categories.items() if k != old}, new)
            if taken is not None:
                raise TagError(f"dataset {dataset!r} already has the category {taken!r}")
            conn.execute("UPDATE categories SET name = ? WHERE category_id = ?", (new, categories[old]))

    def remove_category(self, dataset: str, name: str, *, force: bool = False) -> None:
        """Remove a category.

        Parameters
        ----------
        dataset : str
            Dataset name.
        name : str
            Category name (exact).
        force : bool, default False
            Also remove its tags (recorded in the history; not undoable). Without it, a category that still
            tags an example is kept and a :class:`TagError` says how many.

        Raises
        ------
        TagError
            If the category is unknown, or still tags examples and ``force`` is False.
        """
        dataset = _as_name(dataset, "dataset name")
        name = _as_name(name, "category name")
        with self._write() as conn:
            dataset_id = self._dataset_id(conn, dataset)
            categories = self._category_ids(conn, dataset_id)
            if name not in categories:
                raise TagError(_unknown_categories_message(dataset, [name], categories))
            category_id = categories[name]
            tagged = conn.execute(
                "SELECT e.example_id FROM example_categories ec JOIN examples e USING (example_key) "
                "WHERE ec.category_id = ? ORDER BY e.example_id",
                (category_id,),
            ).fetchall()
            if tagged and not force:
                raise TagError(
                    f"category {name!r} of dataset {dataset!r} still tags {len(tagged)} example(s); "
                    "untag them first or remove it with force=True (which removes those tags too)"
                )
            if tagged:
                change_id = _new_change(conn, dataset_id, "remove_category", self.user)
                conn.executemany(
                    "INSERT INTO history (change_id, example_id, field, category_id, old, new) "
                    "VALUES (?, ?, ?, ?, 1, 0)",
                    [(change_id, example_id, name, category_id) for (example_id,) in tagged],
                )
                conn.execute("DELETE FROM example_categories WHERE category_id = ?", (category_id,))
            conn.execute("DELETE FROM categories WHERE category_id = ?", (category_id,))

    # ------------------------------------------------------------------------------------------------
    # Edits
    # ------------------------------------------------------------------------------------------------

    def edit(
        self,
        dataset: str,
        example_id: str,
        *,
        categories: Mapping[str, bool] | None = None,
        mislabeled: bool | None = None,
        corrected_label: str | None | _Unset = UNSET,
        note: str | None | _Unset = UNSET,
        reviewed: bool | None = None,
        user: str | None = None,
    ) -> None:
        """Change some tags of one example in one transaction.

        Only the fields given change; the others keep what is stored, even if another session changed them a
        moment ago. Any edit marks the example reviewed unless ``reviewed=False`` is given.

        Parameters
        ----------
        dataset : str
            Dataset name (created when new).
        example_id : str
            The example's id.
        categories : mapping of str to bool, optional
            Categories to tick (True) or untick (False); the others stay.
        mislabeled : bool, optional
            Whether the example's true label is wrong.
        corrected_label : str or None, optional
            The right label; ``None`` or a blank string clears it.
        note : str or None, optional
            Free text; ``None`` or a blank string clears it.
        reviewed : bool, optional
            ``True`` alone marks the example reviewed with nothing ticked; ``False`` un-marks it.
        user : str, optional
            Who makes the edit; defaults to the store's user.

        Raises
        ------
        TagError
            If a category is unknown or a value has the wrong type; nothing changes then.

        Notes
        -----
        Each changed field adds one history entry; the entries of one call share a change id, and
        :meth:`undo` reverts them together. An example left with nothing set and not reviewed has no record.
        """
        dataset = _as_name(dataset, "dataset name")
        patch = _Patch(_as_id(example_id))
        names = _category_values(categories, f"example {patch.example_id!r}")
        _fill_patch(
            patch,
            reviewed=reviewed,
            mislabeled=mislabeled,
            corrected_label=corrected_label,
            note=note,
        )
        with self._write() as conn:
            dataset_id = self._ensure_dataset(conn, dataset)
            known = self._category_ids(conn, dataset_id)
            _resolve_categories(patch, names, known, dataset)
            self._apply(conn, dataset_id, [patch], known, kind="edit", user=user or self.user)

    def merge(self, dataset: str, rows: Iterable[Mapping[str, object]], *, user: str | None = None,
              new_categories: Iterable[str] = ()) -> int:
        """Merge many examples' tags at once (a sheet import): all of them or, on any error, none.

        Parameters
        ----------
        dataset : str
            Dataset name (created when new).
        rows : iterable of dict
            One dict per example: ``"id"`` and any of ``"categories"`` (dict of name to bool),
            ``"mislabeled"``, ``"corrected_label"``, ``"note"`` and ``"reviewed"``, with the meaning they have
            in :meth:`edit` (a flag or category given as ``None``/NaN is left as is; a text given as
            ``None``/NaN/blank is cleared). An id may appear once.
        user : str, optional
            Who makes the import; defaults to the store's user.
        new_categories : iterable of str, optional
            Categories to add first, in the same transaction (refused as :meth:`add_category` refuses them).

        Returns
        -------
        int
            The number of examples whose stored tags changed.

        Raises
        ------
        TagError
            Naming the first bad row: a missing or repeated id, an unknown key, a wrong value type, or (naming
            them all) unknown categories. Everything is checked before anything is written.
        """
        dataset = _as_name(dataset, "dataset name")
        patches: list[_Patch] = []
        names_per_row: list[dict[str, bool]] = []
        seen: set[str] = set()
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, Mapping):
                raise TagError(f"row {number} must be a dict, got {type(row).__name__}")
            unknown_keys = sorted(set(row) - _MERGE_KEYS, key=str)
            if unknown_keys:
                raise TagError(
                    f"row {number} has unknown key(s) {unknown_keys}; allowed: {sorted(_MERGE_KEYS)}"
                )
            if "id" not in row:
                raise TagError(f"row {number} has no 'id'")
            patch = _Patch(_as_id(row["id"]))
            if patch.example_id in seen:
                raise TagError(f"row {number}: example id {patch.example_id!r} appears more than once")
            seen.add(patch.example_id)
            where = f"row {number} (id {patch.example_id!r})"
            flags = {k: None if _is_missing(row.get(k)) else row[k] for k in _BOOL_FIELDS}
            texts = {k: row[k] if k in row else UNSET for k in _TEXT_FIELDS}
            try:
                _fill_patch(patch, **flags, **texts)
            except TagError as exc:
                raise TagError(f"{where}: {exc}") from None
            raw = row.get("categories")
            if raw is not None and not isinstance(raw, Mapping):
                raise TagError(f"{where}: 'categories' must be a dict of name to bool")
            values = {k: v for k, v in (raw or {}).items() if not _is_missing(v)}
            names_per_row.append(_category_values(values, where))
            patches.append(patch)
        with self._write() as conn:
            dataset_id = self._ensure_dataset(conn, dataset)
            for name in new_categories:
                self._insert_category(conn, dataset_id, dataset, name)
            known = self._category_ids(conn, dataset_id)
            unknown = sorted({n for names in names_per_row for n in names if n not in known})
            if unknown:
                raise TagError(
                    _unknown_categories_message(dataset, unknown, known) + "; nothing was imported"
                )
            for patch, names in zip(patches, names_per_row, strict=True):
                _resolve_categories(patch, names, known, dataset)
            return self._apply(conn, dataset_id, patches, known, kind="merge", user=user or self.user)

    def _read_states(self, conn: sqlite3.Connection, dataset_id: int, ids: list[str]) -> dict[str, _State]:
        """The stored values of these examples (those with a record), read inside the caller's transaction."""
        if len(ids) == 1:
            where, params = "e.example_id = ?", (dataset_id, ids[0])
        else:
            where, params = "e.example_id IN (SELECT value FROM json_each(?))", (dataset_id, _json_list(ids))
        states: dict[str, _State] = {}
        for key, example_id, reviewed, mislabeled, label, note in conn.execute(
            "SELECT example_key, example_id, reviewed, mislabeled, corrected_label, note FROM examples e "
            f"WHERE e.dataset_id = ? AND {where}",
            params,
        ):
            states[example_id] = _State(key, bool(reviewed), bool(mislabeled), label, note)
        if states:
            for example_id, category_id in conn.execute(
                "SELECT e.example_id, ec.category_id FROM examples e "
                "JOIN example_categories ec ON ec.example_key = e.example_key "
                f"WHERE e.dataset_id = ? AND {where}",
                params,
            ):
                states[example_id].ticks.add(category_id)
        return states

    def _apply(
        self,
        conn: sqlite3.Connection,
        dataset_id: int,
        patches: list[_Patch],
        categories: Mapping[str, int],
        *,
        kind: str,
        user: str,
        undo_of: int | None = None,
    ) -> int:
        """Write the differences between the patches and the stored values; return how many examples changed.

        Runs inside the caller's write transaction, so the stored values it compares with are current;
        ``categories`` (name -> id) is the caller's read of the dataset's categories in that transaction.
        """
        states = self._read_states(conn, dataset_id, [p.example_id for p in patches])
        category_names = {v: k for k, v in categories.items()}
        now = _now()
        entries: list[tuple[str, str, int | None, object, object]] = []
        new_rows: list[tuple[str, _State]] = []
        column_updates: dict[str, list[tuple[object, int]]] = {}
        touched: list[int] = []
        tick_adds: list[tuple[int, int]] = []  # (example_key, category_id)
        new_row_ticks: list[tuple[str, int]] = []  # (example_id, category_id): keys come once inserted
        tick_removes: list[tuple[int, int]] = []
        blank: list[int] = []
        for patch in patches:
            state = states.get(patch.example_id) or _State()
            after = _State(
                state.key,
                state.reviewed,
                state.mislabeled,
                state.corrected_label,
                state.note,
                set(state.ticks),
            )
            changed: list[tuple[str, int | None, object, object]] = []
            for name in ("reviewed", "mislabeled", "corrected_label", "note"):
                wanted = getattr(patch, name)
                if wanted is None and name in _BOOL_FIELDS or wanted is UNSET:
                    continue
                current = getattr(state, name)
                if wanted != current:
                    setattr(after, name, wanted)
                    changed.append((name, None, _to_sql(current), _to_sql(wanted)))
            for category_id, ticked in patch.categories.items():
                if ticked != (category_id in state.ticks):
                    changed.append((category_names[category_id], category_id, int(not ticked), int(ticked)))
                    if state.key is None:  # a new example: nothing to untick
                        new_row_ticks.append((patch.example_id, category_id))
                    elif ticked:
                        tick_adds.append((state.key, category_id))
                    else:
                        tick_removes.append((state.key, category_id))
                    (after.ticks.add if ticked else after.ticks.discard)(category_id)
            if not changed:
                continue
            entries.extend((patch.example_id, n, c, o, w) for n, c, o, w in changed)
            if state.key is None:  # a change from the all-blank default is never blank
                new_rows.append((patch.example_id, after))
                continue
            for name, _category_id, _old, new in changed:
                if _category_id is None:
                    column_updates.setdefault(name, []).append((new, state.key))
            touched.append(state.key)
            if after.is_blank():
                blank.append(state.key)
        if not entries:
            return 0
        change_id = _new_change(conn, dataset_id, kind, user, undo_of=undo_of)
        for name, values in column_updates.items():
            conn.executemany(f"UPDATE examples SET {name} = ? WHERE example_key = ?", values)
        if touched:
            conn.executemany(
                "UPDATE examples SET updated_by = ?, updated_at = ? WHERE example_key = ?",
                [(user, now, key) for key in touched],
            )
        if tick_removes:
            conn.executemany(
                "DELETE FROM example_categories WHERE example_key = ? AND category_id = ?", tick_removes
            )
        if new_rows:
            conn.executemany(
                "INSERT INTO examples (dataset_id, example_id, reviewed, mislabeled, corrected_label, note, "
                "updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (dataset_id, i, int(s.reviewed), int(s.mislabeled), s.corrected_label, s.note, user, now)
                    for i, s in new_rows
                ],
            )
        if new_row_ticks:
            new_keys = {
                i: state.key
                for i, state in self._read_states(conn, dataset_id, [i for i, _ in new_rows]).items()
            }
            tick_adds.extend((new_keys[example_id], category_id) for example_id, category_id in new_row_ticks)
        if tick_adds:
            conn.executemany(
                "INSERT INTO example_categories (example_key, category_id) VALUES (?, ?)", tick_adds
            )
        if blank:
            conn.executemany("DELETE FROM examples WHERE example_key = ?", [(key,) for key in blank])
        conn.executemany(
            "INSERT INTO history (change_id, example_id, field, category_id, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(change_id, *entry) for entry in entries],
        )
        return len({entry[0] for entry in entries})

    # ------------------------------------------------------------------------------------------------
    # Undo
    # ------------------------------------------------------------------------------------------------

    def undo(self, dataset: str, *, user: str | None = None) -> str | None:
        """Revert the latest edit or merge of a dataset that is not undone yet.

        Repeated calls walk further back. The undo is itself recorded in the history (as kind ``"undo"``) but
        is never the target of a later undo. A field whose stored value is no longer the one the change wrote
        (a tick of a category removed since, say) is left as it is.

        Parameters
        ----------
        dataset : str
            Dataset name.
        user : str, optional
            Who undoes; defaults to the store's user.

        Returns
        -------
        str or None
            A short description of what was undone, or None when there is nothing left to undo.
        """
        dataset = _as_name(dataset, "dataset name")
        with self._write() as conn:
            dataset_id = self._dataset_id(conn, dataset)
            if dataset_id is None:
                return None
            row = conn.execute(
                "SELECT change_id, kind, user_name FROM changes WHERE dataset_id = ? AND undone = 0 "
                f"AND kind IN ({', '.join('?' * len(_UNDOABLE_KINDS))}) ORDER BY change_id DESC LIMIT 1",
                (dataset_id, *_UNDOABLE_KINDS),
            ).fetchone()
            if row is None:
                return None
            change = _Change(*row)
            entries = conn.execute(
                "SELECT example_id, field, category_id, old, new FROM history WHERE change_id = ? "
                "ORDER BY entry_id DESC",
                (change.change_id,),
            ).fetchall()
            ids = list(dict.fromkeys(e[0] for e in entries))
            states = self._read_states(conn, dataset_id, ids)
            known = self._category_ids(conn, dataset_id)
            existing = set(known.values())
            patches: dict[str, _Patch] = {}
            for example_id, name, category_id, old, new in entries:
                state = states.get(example_id) or _State()
                patch = patches.setdefault(example_id, _Patch(example_id))
                if category_id is not None:
                    if category_id in existing and (category_id in state.ticks) == bool(new):
                        patch.categories[category_id] = bool(old)
                elif _to_sql(getattr(state, name)) == new:
                    setattr(patch, name, bool(old) if name in _BOOL_FIELDS else old)
            self._apply(
                conn,
                dataset_id,
                list(patches.values()),
                known,
                kind="undo",
                user=user or self.user,
                undo_of=change.change_id,
            )
            conn.execute("UPDATE changes SET undone = 1 WHERE change_id = ?", (change.change_id,))
        who = f"{change.user}'s" if change.user else "an"
        if change.kind == "merge":
            return f"undid {who} import of {len(ids)} example(s)"
        fields = ", ".join(dict.fromkeys(e[1] for e in reversed(entries)))
        return f"undid {who} edit of example {ids[0]!r} ({fields})"

    # ------------------------------------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------------------------------------

    def tags(self, dataset: str, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Return the tags of a dataset as a frame, one row per example that has a record, sorted by id.

        Parameters
        ----------
        dataset : str
            Dataset name; an unknown one gives an empty frame.
        ids : iterable of str, optional
            Only these examples (those of them that have a record).

        Returns
        -------
        pandas.DataFrame
            Columns ``id`` (str), ``reviewed`` and ``mislabeled`` (bool), ``corrected_label`` and ``note``
            (str or None), ``updated_by`` (str or None), ``updated_at`` (datetime64, UTC), then one bool
            column per category in category order. Text columns have object dtype: missing values are None.
        """
        dataset = _as_name(dataset, "dataset name")
        id_list = None if ids is None else [_as_id(i) for i in ids]
        chunks: list[tuple] = []
        ticks: list[tuple[int, str]] = []
        with self._read() as conn:
            dataset_id = self._dataset_id(conn, dataset)
            categories = self._category_ids(conn, dataset_id)
            if dataset_id is not None and id_list != []:
                where, params = "dataset_id = ?", [dataset_id]
                if id_list is not None:
                    where += " AND example_id IN (SELECT value FROM json_each(?))"
                    params.append(_json_list(id_list))
                after = ""  # ids are never empty, so every id sorts after ""
                while True:  # the chunk after `after`: find its last id, then aggregate its range
                    end = conn.execute(
                        _CHUNK_END_SQL.format(where=f"{where} AND example_id > ?"),
                        (*params, after, _CHUNK_ROWS - 1),
                    ).fetchone()
                    chunk_where = f"{where} AND example_id > ?" + (
                        "" if end is None else " AND example_id <= ?"
                    )
                    count, *columns = conn.execute(
                        _TAGS_SQL.format(where=chunk_where), (*params, after, *(end or ()))
                    ).fetchone()
                    if count:
                        chunks.append(tuple(columns))
                    if end is None:
                        break
                    after = end[0]
                if chunks and categories:
                    ticks = conn.execute(
                        *((_TICKS_SQL, params) if id_list is None else (_TICKS_OF_IDS_SQL, params))
                    ).fetchall()
        return _tags_frame(chunks, ticks, categories)

    def history(self, dataset: str, *, limit: int | None = None) -> pd.DataFrame:
        """Return the change history of a dataset, newest first.

        Parameters
        ----------
        dataset : str
            Dataset name; an unknown one gives an empty frame.
        limit : int, optional
            At most this many entries.

        Returns
        -------
        pandas.DataFrame
            One row per changed field: ``change_id`` (int; shared by the entries of one edit, merge or undo),
            ``id``, ``field`` (a column name of :meth:`tags`; for a category its current name), ``old`` and
            ``new`` (bool for flags and categories, str or None for text), ``user``, ``at`` (datetime64, UTC),
            ``kind`` (``edit``, ``merge``, ``undo`` or ``remove_category``) and ``undone`` (bool).
        """
        dataset = _as_name(dataset, "dataset name")
        if limit is not None and (not isinstance(limit, numbers.Integral) or limit < 0):
            raise TagError(f"limit must be a non-negative integer, got {limit!r}")
        with self._read() as conn:
            dataset_id = self._dataset_id(conn, dataset)
            rows = conn.execute(
                "SELECT h.change_id, h.example_id, coalesce(c.name, h.field), h.category_id IS NOT NULL, "
                "h.field IN ('reviewed', 'mislabeled'), h.old, h.new, ch.user_name, "
                f"{_EPOCH_MS_SQL.format(column='ch.at')}, ch.kind, ch.undone "
                "FROM history h JOIN changes ch ON ch.change_id = h.change_id "
                "LEFT JOIN categories c ON c.category_id = h.category_id AND h.category_id IS NOT NULL "
                "WHERE ch.dataset_id = ? ORDER BY h.change_id DESC, h.entry_id DESC LIMIT ?",
                (dataset_id if dataset_id is not None else -1, -1 if limit is None else int(limit)),
            ).fetchall()
        columns = ["change_id", "id", "field", "old", "new", "user", "at", "kind", "undone"]
        records = [
            (
                cid,
                eid,
                name,
                bool(old) if (is_cat or is_flag) and old is not None else old,
                bool(new) if (is_cat or is_flag) and new is not None else new,
                who,
                at,
                kind,
                bool(undone),
            )
            for cid, eid, name, is_cat, is_flag, old, new, who, at, kind, undone in rows
        ]
        frame = pd.DataFrame({name: _texts(r[i] for r in records) for i, name in enumerate(columns)})
        frame["change_id"] = frame["change_id"].astype("int64")
        frame["undone"] = frame["undone"].astype(bool)
        frame["at"] = _timestamps(np.array(frame["at"].tolist(), dtype=np.int64))
        return frame


# ----------------------------------------------------------------------------------------------------
# Module helpers
# ----------------------------------------------------------------------------------------------------


def _split_sql(script: str) -> list[str]:
    statements = []
    for chunk in script.split(";\n"):
        lines = [line.split("--", 1)[0].rstrip() for line in chunk.splitlines()]
        text = "\n".join(line for line in lines if line.strip())
        if text:
            statements.append(text)
    return statements


# version -> the statements that bring a file of that version to the next one
_MIGRATIONS: dict[int, list[str]] = {
    1: ["ALTER TABLE examples ADD COLUMN updated_by TEXT", *_split_sql(_HISTORY_V2)],
}


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _check_not_reserved(name: str) -> None:
    if name.casefold() in FIXED_COLUMNS:
        raise TagError(f"{name!r} cannot be a category name: it is a fixed column of the tag sheet")


def _find_casefold(categories: Mapping[str, int], name: str) -> str | None:
    wanted = name.casefold()
    return next((existing for existing in categories if existing.casefold() == wanted), None)


def _unknown_categories_message(dataset: str, unknown: list[str], known: Mapping[str, int]) -> str:
    listed = ", ".join(repr(n) for n in known) or "none yet"
    plural = "categories" if len(unknown) > 1 else "category"
    return (
        f"unknown {plural} {', '.join(repr(n) for n in unknown)} for dataset {dataset!r} (it has: {listed})"
    )


def _category_values(categories: Mapping[str, object] | None, where: str) -> dict[str, bool]:
    if categories is None:
        return {}
    if not isinstance(categories, Mapping):
        raise TagError(f"{where}: categories must be a dict of name to bool, got {type(categories).__name__}")
    return {
        _as_name(name, "category name"): _as_bool(value, f"{where}: category {name!r}")
        for name, value in categories.items()
    }


def _fill_patch(
    patch: _Patch,
    *,
    reviewed: object,
    mislabeled: object,
    corrected_label: object,
    note: object,
) -> None:
    """Set the patch's fields from caller values, checking their types; any value marks reviewed."""
    if mislabeled is not None:
        patch.mislabeled = _as_bool(mislabeled, "mislabeled")
    if corrected_label is not UNSET:
        patch.corrected_label = _as_text(corrected_label, "corrected_label")
    if note is not UNSET:
        patch.note = _as_text(note, "note")
    patch.reviewed = True if reviewed is None else _as_bool(reviewed, "reviewed")


def _resolve_categories(
    patch: _Patch, names: dict[str, bool], known: Mapping[str, int], dataset: str
) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TagError(_unknown_categories_message(dataset, unknown, known))
    patch.categories = {known[n]: v for n, v in names.items()}


def _new_change(
    conn: sqlite3.Connection, dataset_id: int, kind: str, user: str, *, undo_of: int | None = None
) -> int:
    cursor = conn.execute(
        "INSERT INTO changes (dataset_id, kind, user_name, at, undo_of) VALUES (?, ?, ?, ?, ?)",
        (dataset_id, kind, user, _now(), undo_of),
    )
    return int(cast(int, cursor.lastrowid))


def _to_sql(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def _texts(values: Iterable[str | None]) -> pd.Series:
    """A text column that keeps None for missing values (object dtype, whatever pandas' string default)."""
    return pd.Series(list(values), dtype=object)


def _timestamps(epoch_ms: np.ndarray) -> pd.Series:
    """Epoch milliseconds (int64 minimum = missing) as UTC timestamps."""
    return pd.Series(epoch_ms.astype(np.int64).view("datetime64[ms]")).dt.tz_localize("UTC")


def _tags_frame(
    chunks: list[tuple], ticks: list[tuple[int, str]], categories: Mapping[str, int]
) -> pd.DataFrame:
    """Build the tags frame from the aggregated chunks of _TAGS_SQL and the ticks of _TICKS_SQL."""

    def numbers(position: int, dtype: type) -> np.ndarray:
        parts = [np.fromstring(chunk[position], dtype=np.int64, sep=",") for chunk in chunks]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    def texts(position: int) -> list[str | None]:
        return list(itertools.chain.from_iterable(json.loads(chunk[position]) for chunk in chunks))

    keys = numbers(0, np.int64)
    data: dict[str, object] = {
        "id": _texts(texts(4)),
        "reviewed": numbers(1, bool),
        "mislabeled": numbers(2, bool),
        "corrected_label": _texts(texts(5)),
        "note": _texts(texts(6)),
        "updated_by": _texts(texts(7)),
        "updated_at": _timestamps(numbers(3, np.int64)),
    }
    order = np.argsort(keys)
    for name, category_id in categories.items():
        column = np.zeros(len(keys), dtype=bool)
        tagged = [np.fromstring(text, dtype=np.int64, sep=",") for cid, text in ticks if cid == category_id]
        if tagged and len(keys):
            positions = order[np.searchsorted(keys, tagged[0], sorter=order).clip(0, len(keys) - 1)]
            column[positions[keys[positions] == tagged[0]]] = True
        data[name] = column
    frame = pd.DataFrame(data)
    if not pd.Index(frame["id"]).is_monotonic_increasing:  # SQLite hands the rows over in id order; be sure
        frame = frame.sort_values("id", kind="stable", ignore_index=True)
    return frame
