"""The tag store in one SQLite file: :class:`SQLiteTagStore`.

Storage
-------
One SQLite file per project (:func:`~analysis.tags.default_db_path`), in WAL mode so readers never block the
writer, with a 10 s busy timeout and every write in a ``BEGIN IMMEDIATE`` transaction, so concurrent writers
queue instead of failing. An edit reads the current values inside its write transaction and updates only the
columns and category rows it changes: two sessions editing different fields of one example both keep their
edit. What changes is computed by :mod:`analysis.tags.model`; this module reads and writes.

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

Files that cannot be written and files that went away
-----------------------------------------------------
A file this process may not write is opened read-only: every read works, every write raises a
:class:`~analysis.errors.TagError` saying why. A damaged file (``database disk image is malformed``, a negative
``user_version``) gives one ``TagError`` wherever it is noticed. Each write checks, before it commits, that the
path still names the file the store opened (its device and inode): an edit made after the file was deleted or
replaced would land in a file the next start cannot open, so it is rolled back and refused instead.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, cast

import pandas as pd

from analysis.errors import TagError
from analysis.tags import model
from analysis.tags.frames import history_frame, tags_frame
from analysis.tags.model import UNSET, Change, Diff, Entry, Patch, State, Unset, as_id, as_name
from analysis.tags.store import login_name

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

# SQLiteTagStore.tags() reads the examples in id ranges of this many rows, each aggregated by SQLite into one
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
_HISTORY_SQL: Final = f"""
SELECT h.change_id, h.example_id, coalesce(c.name, h.field), h.category_id IS NOT NULL,
       h.field IN ('reviewed', 'mislabeled'), h.old, h.new, ch.user_name, {_EPOCH_MS_SQL.format(column='ch.at')},
       ch.kind, ch.undone
FROM history h JOIN changes ch ON ch.change_id = h.change_id
LEFT JOIN categories c ON c.category_id = h.category_id AND h.category_id IS NOT NULL
WHERE ch.dataset_id = ? ORDER BY h.change_id DESC, h.entry_id DESC LIMIT ?
"""

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


def _upgrade(version: int) -> list[str]:
    """The statements that bring a file of ``version`` (0: a new, empty file) to :data:`SCHEMA_VERSION`."""
    if version == 0:
        return _split_sql(_SCHEMA_V2)
    return [statement for v in range(version, SCHEMA_VERSION) for statement in _MIGRATIONS[v]]


# ----------------------------------------------------------------------------------------------------
# The store
# ----------------------------------------------------------------------------------------------------


class SQLiteTagStore:
    """The :class:`~analysis.tags.TagStore` kept in one SQLite file.

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
    one process or many, may use one file at once: each write is one ``BEGIN IMMEDIATE`` transaction. The
    methods are documented on :class:`~analysis.tags.TagStore`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        user: str | None = None,
        synchronous: Literal["FULL", "NORMAL"] = _DEFAULT_SYNCHRONOUS,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.user = user if user is not None else login_name()
        if synchronous not in ("FULL", "NORMAL"):
            raise TagError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._check_path()
        #: Why the store cannot be written (the file or its folder is read-only), or None.
        self.read_only: str | None = _not_writable(self.path)
        try:
            conn = self._connect()
            self._identity = _identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise TagError(f"cannot open the tag store {self.path}: {exc}") from exc
        try:
            self._setup(conn)
        except sqlite3.DatabaseError as exc:
            self._abandon(conn)
            raise self._error("open", exc) from exc
        except BaseException:
            self._abandon(conn)
            raise

    # ------------------------------------------------------------------------------------------------
    # Opening, schema, transactions
    # ------------------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A connection: read-write, or read-only (``mode=ro``, ``immutable`` when even the folder is read-only)."""
        if self.read_only is None:
            return sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        mode = "ro" if os.access(self.path.parent, os.W_OK) else "ro&immutable=1"
        return sqlite3.connect(f"{self.path.as_uri()}?mode={mode}", uri=True, timeout=_BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)

    def _setup(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn
        version = self._check_schema(conn)  # before switching to WAL, which would change a file we refuse
        if self.read_only is not None:
            if version != SCHEMA_VERSION:
                raise TagError(f"the tag store {self.path} is {self.read_only} and was written by an older "
                               "errorscope; make it writable once so that it can be upgraded")
            return
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        if version != SCHEMA_VERSION:  # a current file is not written by merely opening it
            self._prepare_schema()

    def _error(self, action: str, exc: sqlite3.Error) -> TagError:
        """One clear message for what SQLite raised while opening, reading or writing the file."""
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return TagError(f"cannot change the tag store {self.path}: it is read-only; tags can be read but "
                            "not changed until the file and its folder are writable")
        if isinstance(exc, sqlite3.OperationalError) and "malformed" not in text:
            return TagError(f"cannot {action} the tag store {self.path}: {exc}")
        return TagError(f"the tag store {self.path} is damaged ({text}); restore it from a backup, or move it "
                        "away to start a new one")

    def _check_file(self) -> None:
        """Refuse to commit when the path no longer names the file this store opened (deleted or replaced)."""
        if _identity(self.path) != self._identity:
            raise TagError(f"the tag store {self.path} was deleted or replaced while errorscope had it open; "
                           "this change was not saved. Restart errorscope (or reopen the store) and make it again")

    def _abandon(self, conn: sqlite3.Connection) -> None:
        conn.close()
        self._conn = None

    def _check_path(self) -> None:
        path = self.path
        if path.is_dir():
            raise TagError(f"the tag store {path} is a folder; give the path of a database file")
        if not path.parent.is_dir():
            raise TagError(f"cannot create the tag store {path}: the folder {path.parent} does not exist")
        if not path.exists():
            return
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
        if version < 0:
            raise TagError(f"the tag store {self.path} is damaged (schema version {version}, which no errorscope "
                           "writes); restore it from a backup, or move it away to start a new one")
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
            for statement in _upgrade(version):
                conn.execute(statement)
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
            if self.read_only is not None:
                raise TagError(f"cannot change the tag store {self.path}: it is {self.read_only}; tags can be "
                               "read but not changed until it is writable")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._error("write to", exc) from exc
            try:
                yield conn
                self._check_file()
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._error("write to", exc) from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so that several queries see the same snapshot."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                yield conn
            except sqlite3.DatabaseError as exc:
                raise self._error("read", exc) from exc
            finally:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # a read has nothing to keep; a damaged file may refuse both
                        conn.execute("ROLLBACK")

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

    def __enter__(self) -> SQLiteTagStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"SQLiteTagStore({str(self.path)!r}, user={self.user!r}, {state})"

    # ------------------------------------------------------------------------------------------------
    # Datasets and categories
    # ------------------------------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        """The names of the datasets that have categories or tags, sorted."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name FROM datasets d WHERE EXISTS (SELECT 1 FROM categories c WHERE c.dataset_id = "
                "d.dataset_id) OR EXISTS (SELECT 1 FROM examples e WHERE e.dataset_id = d.dataset_id) ORDER BY name"
            ).fetchall()
        return [name for (name,) in rows]

    def categories(self, dataset: str) -> list[str]:
        """The error categories of a dataset in the order they were added."""
        dataset = as_name(dataset, "dataset name")
        with self._read() as conn:
            return list(_category_ids(conn, _dataset_id(conn, dataset)))

    def add_category(self, dataset: str, name: str) -> None:
        """Add an error category to a dataset (creating the dataset when new)."""
        dataset = as_name(dataset, "dataset name")
        with self._write() as conn:
            _insert_category(conn, _ensure_dataset(conn, dataset), dataset, name)

    def rename_category(self, dataset: str, old: str, new: str) -> None:
        """Rename a category; its tags and its place in the order stay."""
        dataset = as_name(dataset, "dataset name")
        old = as_name(old, "category name")
        new = as_name(new, "new category name")
        model.check_not_reserved(new)
        with self._write() as conn:
            categories = _category_ids(conn, _dataset_id(conn, dataset))
            if old not in categories:
                raise TagError(model.unknown_categories_message(dataset, [old], categories))
            taken = model.find_casefold([k for k in categories if k != old], new)
            if taken is not None:
                raise TagError(f"dataset {dataset!r} already has the category {taken!r}")
            conn.execute("UPDATE categories SET name = ? WHERE category_id = ?", (new, categories[old]))

    def remove_category(self, dataset: str, name: str, *, force: bool = False) -> None:
        """Remove a category; with ``force``, its tags too (recorded in the history)."""
        dataset = as_name(dataset, "dataset name")
        name = as_name(name, "category name")
        with self._write() as conn:
            dataset_id = _dataset_id(conn, dataset)
            categories = _category_ids(conn, dataset_id)
            if name not in categories:
                raise TagError(model.unknown_categories_message(dataset, [name], categories))
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
                change_id = _new_change(conn, cast(int, dataset_id), "remove_category", self.user)
                conn.executemany(
                    "INSERT INTO history (change_id, example_id, field, category_id, old, new) "
                    "VALUES (?, ?, ?, ?, 1, 0)",
                    [(change_id, example_id, name, category_id) for (example_id,) in tagged],
                )
                conn.execute("DELETE FROM example_categories WHERE category_id = ?", (category_id,))
            conn.execute("DELETE FROM categories WHERE category_id = ?", (category_id,))

    # ------------------------------------------------------------------------------------------------
    # Edits and undo
    # ------------------------------------------------------------------------------------------------

    def edit(self, dataset: str, example_id: str, *, categories: Mapping[str, bool] | None = None,
             mislabeled: bool | None = None, corrected_label: str | None | Unset = UNSET,
             note: str | None | Unset = UNSET, reviewed: bool | None = None, user: str | None = None) -> None:
        """Change some tags of one example in one transaction; only the fields given change."""
        dataset = as_name(dataset, "dataset name")
        patch, names = model.edit_patch(example_id, categories, reviewed=reviewed, mislabeled=mislabeled,
                                        corrected_label=corrected_label, note=note)
        with self._write() as conn:
            dataset_id = _ensure_dataset(conn, dataset)
            known = _category_ids(conn, dataset_id)
            model.resolve_categories(patch, names, known, dataset)
            _apply(conn, dataset_id, [patch], known, kind="edit", user=user or self.user)

    def merge(self, dataset: str, rows: Iterable[Mapping[str, object]], *, user: str | None = None,
              new_categories: Iterable[str] = ()) -> int:
        """Merge many examples' tags at once (a sheet import): all of them or, on any error, none."""
        dataset = as_name(dataset, "dataset name")
        patches, names_per_row = model.merge_patches(rows)
        with self._write() as conn:
            dataset_id = _ensure_dataset(conn, dataset)
            for name in model.categories_to_add(_category_ids(conn, dataset_id), new_categories):
                _insert_category(conn, dataset_id, dataset, name)
            known = _category_ids(conn, dataset_id)
            model.resolve_merge(patches, names_per_row, known, dataset)
            return _apply(conn, dataset_id, patches, known, kind="merge", user=user or self.user)

    def undo(self, dataset: str, *, user: str | None = None) -> str | None:
        """Revert the user's latest edit or merge of a dataset that is not undone yet; None when there is none."""
        dataset = as_name(dataset, "dataset name")
        user = user or self.user
        with self._write() as conn:
            dataset_id = _dataset_id(conn, dataset)
            change = None if dataset_id is None else _latest_undoable(conn, dataset_id, user)
            if dataset_id is None or change is None:
                return None
            entries = [Entry(*row) for row in conn.execute(
                "SELECT example_id, field, category_id, old, new FROM history WHERE change_id = ? "
                "ORDER BY entry_id DESC",
                (change.change_id,),
            )]
            states = _read_states(conn, dataset_id, list(dict.fromkeys(e.example_id for e in entries)))
            known = _category_ids(conn, dataset_id)
            patches = model.undo_patches(entries, states, known.values())
            _apply(conn, dataset_id, patches, known, kind="undo", user=user, undo_of=change.change_id)
            conn.execute("UPDATE changes SET undone = 1 WHERE change_id = ?", (change.change_id,))
        return model.undo_message(change, entries)

    # ------------------------------------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------------------------------------

    def tags(self, dataset: str, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The tags of a dataset as a frame, one row per example that has a record, sorted by id."""
        dataset = as_name(dataset, "dataset name")
        id_list = None if ids is None else [as_id(i) for i in ids]
        chunks: list[tuple] = []
        ticks: list[tuple[int, str]] = []
        with self._read() as conn:
            dataset_id = _dataset_id(conn, dataset)
            categories = _category_ids(conn, dataset_id)
            if dataset_id is not None and id_list != []:
                params: tuple = (dataset_id,) if id_list is None else (dataset_id, _json_list(id_list))
                chunks = _read_chunks(conn, params)
                if chunks and categories:
                    ticks = conn.execute(_TICKS_SQL if id_list is None else _TICKS_OF_IDS_SQL, params).fetchall()
        return tags_frame(chunks, ticks, categories)

    def history(self, dataset: str, *, limit: int | None = None) -> pd.DataFrame:
        """The change history of a dataset, newest first, one row per changed field."""
        dataset = as_name(dataset, "dataset name")
        limit = model.as_limit(limit)
        with self._read() as conn:
            dataset_id = _dataset_id(conn, dataset)
            rows = conn.execute(
                _HISTORY_SQL, (dataset_id if dataset_id is not None else -1, -1 if limit is None else limit)
            ).fetchall()
        return history_frame(rows)


# ----------------------------------------------------------------------------------------------------
# Queries, inside the caller's transaction
# ----------------------------------------------------------------------------------------------------


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), or None when the path names no file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _not_writable(path: Path) -> str | None:
    """Why an existing database file cannot be written ("read-only", "on a read-only file system"), or None."""
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return "on a read-only file system"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "read-only"
        return None
    os.close(fd)
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _dataset_id(conn: sqlite3.Connection, dataset: str) -> int | None:
    row = conn.execute("SELECT dataset_id FROM datasets WHERE name = ?", (dataset,)).fetchone()
    return None if row is None else int(row[0])


def _ensure_dataset(conn: sqlite3.Connection, dataset: str) -> int:
    """The dataset's id, adding the dataset when new (inside a write transaction)."""
    dataset_id = _dataset_id(conn, dataset)
    if dataset_id is None:
        cursor = conn.execute("INSERT INTO datasets (name) VALUES (?)", (dataset,))
        dataset_id = int(cast(int, cursor.lastrowid))
    return dataset_id


def _category_ids(conn: sqlite3.Connection, dataset_id: int | None) -> dict[str, int]:
    """The dataset's categories (name -> id) in the order they were added."""
    if dataset_id is None:
        return {}
    rows = conn.execute(
        "SELECT name, category_id FROM categories WHERE dataset_id = ? ORDER BY category_id", (dataset_id,)
    )
    return dict(rows.fetchall())


def _insert_category(conn: sqlite3.Connection, dataset_id: int, dataset: str, name: object) -> None:
    name = model.check_new_category(dataset, _category_ids(conn, dataset_id), name)
    conn.execute("INSERT INTO categories (dataset_id, name) VALUES (?, ?)", (dataset_id, name))


def _new_change(
    conn: sqlite3.Connection, dataset_id: int, kind: str, user: str, *, undo_of: int | None = None
) -> int:
    cursor = conn.execute(
        "INSERT INTO changes (dataset_id, kind, user_name, at, undo_of) VALUES (?, ?, ?, ?, ?)",
        (dataset_id, kind, user, _now(), undo_of),
    )
    return int(cast(int, cursor.lastrowid))


def _latest_undoable(conn: sqlite3.Connection, dataset_id: int, user: str) -> Change | None:
    row = conn.execute(
        "SELECT change_id, kind, user_name FROM changes WHERE dataset_id = ? AND user_name = ? AND undone = 0 "
        f"AND kind IN ({', '.join('?' * len(model.UNDOABLE_KINDS))}) ORDER BY change_id DESC LIMIT 1",
        (dataset_id, user, *model.UNDOABLE_KINDS),
    ).fetchone()
    return None if row is None else Change(*row)


def _read_states(conn: sqlite3.Connection, dataset_id: int, ids: list[str]) -> dict[str, State]:
    """The stored values of these examples (those with a record)."""
    if len(ids) == 1:
        where, params = "e.example_id = ?", (dataset_id, ids[0])
    else:
        where, params = "e.example_id IN (SELECT value FROM json_each(?))", (dataset_id, _json_list(ids))
    states: dict[str, State] = {}
    for key, example_id, reviewed, mislabeled, label, note in conn.execute(
        "SELECT example_key, example_id, reviewed, mislabeled, corrected_label, note FROM examples e "
        f"WHERE e.dataset_id = ? AND {where}",
        params,
    ):
        states[example_id] = State(key, bool(reviewed), bool(mislabeled), label, note)
    if not states:
        return states
    for example_id, category_id in conn.execute(
        "SELECT e.example_id, ec.category_id FROM examples e "
        "JOIN example_categories ec ON ec.example_key = e.example_key "
        f"WHERE e.dataset_id = ? AND {where}",
        params,
    ):
        states[example_id].ticks.add(category_id)
    return states


def _read_chunks(conn: sqlite3.Connection, params: tuple) -> list[tuple]:
    """The examples of ``params`` (a dataset id, then optionally a JSON list of ids) as aggregated chunks."""
    where = "dataset_id = ?" + ("" if len(params) == 1 else " AND example_id IN (SELECT value FROM json_each(?))")
    chunks = []
    after = ""  # ids are never empty, so every id sorts after ""
    while True:  # the chunk after `after`: find its last id, then aggregate its range
        end = conn.execute(
            _CHUNK_END_SQL.format(where=f"{where} AND example_id > ?"), (*params, after, _CHUNK_ROWS - 1)
        ).fetchone()
        chunk_where = f"{where} AND example_id > ?" + ("" if end is None else " AND example_id <= ?")
        count, *columns = conn.execute(_TAGS_SQL.format(where=chunk_where), (*params, after, *(end or ()))).fetchone()
        if count:
            chunks.append(tuple(columns))
        if end is None:
            return chunks
        after = end[0]


# ----------------------------------------------------------------------------------------------------
# Writing a diff
# ----------------------------------------------------------------------------------------------------


def _apply(conn: sqlite3.Connection, dataset_id: int, patches: list[Patch], categories: Mapping[str, int], *,
           kind: str, user: str, undo_of: int | None = None) -> int:
    """Write the differences between the patches and the stored values; return how many examples changed.

    Runs inside the caller's write transaction, so the stored values it compares with are current;
    ``categories`` (name -> id) is the caller's read of the dataset's categories in that transaction.
    """
    states = _read_states(conn, dataset_id, [p.example_id for p in patches])
    changes = model.diff(patches, states, {v: k for k, v in categories.items()})
    if not changes.entries:
        return 0
    change_id = _new_change(conn, dataset_id, kind, user, undo_of=undo_of)
    _write_diff(conn, dataset_id, changes, user, _now())
    conn.executemany(
        "INSERT INTO history (change_id, example_id, field, category_id, old, new) VALUES (?, ?, ?, ?, ?, ?)",
        [(change_id, e.example_id, e.field, e.category_id, e.old, e.new) for e in changes.entries],
    )
    return changes.changed_examples


def _write_diff(conn: sqlite3.Connection, dataset_id: int, changes: Diff, user: str, now: str) -> None:
    for name, values in changes.column_updates.items():  # names are fixed columns (model.diff)
        conn.executemany(f"UPDATE examples SET {name} = ? WHERE example_key = ?", values)
    if changes.touched:
        conn.executemany(
            "UPDATE examples SET updated_by = ?, updated_at = ? WHERE example_key = ?",
            [(user, now, key) for key in changes.touched],
        )
    if changes.tick_removes:
        conn.executemany(
            "DELETE FROM example_categories WHERE example_key = ? AND category_id = ?", changes.tick_removes
        )
    tick_adds = changes.tick_adds + _insert_new_rows(conn, dataset_id, changes, user, now)
    if tick_adds:
        conn.executemany("INSERT INTO example_categories (example_key, category_id) VALUES (?, ?)", tick_adds)
    if changes.blank:
        conn.executemany("DELETE FROM examples WHERE example_key = ?", [(key,) for key in changes.blank])


def _insert_new_rows(conn: sqlite3.Connection, dataset_id: int, changes: Diff, user: str,
                     now: str) -> list[tuple[int, int]]:
    """Insert the examples that had no record; return their ticks as (key, category id)."""
    if not changes.new_rows:
        return []
    conn.executemany(
        "INSERT INTO examples (dataset_id, example_id, reviewed, mislabeled, corrected_label, note, "
        "updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (dataset_id, i, int(s.reviewed), int(s.mislabeled), s.corrected_label, s.note, user, now)
            for i, s in changes.new_rows
        ],
    )
    if not changes.new_row_ticks:
        return []
    states = _read_states(conn, dataset_id, [i for i, _ in changes.new_rows])
    return [(cast(int, states[example_id].key), category_id) for example_id, category_id in changes.new_row_ticks]
