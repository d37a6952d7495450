"""The tag store in a PostgreSQL database, shared by a team: :class:`PostgresTagStore`.

Opened with ``--db postgresql://user@host/db`` (or ``ERRORSCOPE_DB``), through SQLAlchemy Core and psycopg 3
(``pip install 'errorscope[postgres]'``). The tables are the SQLite store's (:mod:`analysis.tags.sqlite`), with
PostgreSQL types; what an edit changes is computed by :mod:`analysis.tags.model`, as there.

Concurrency
-----------
Several people, each with their own processes, write one dataset at once. Every write is one ``READ
COMMITTED`` transaction that locks only the rows it changes:

* an edit, merge or undo takes a share lock on its dataset's row and an update lock (``SELECT ... FOR
  UPDATE``, in id order) on the examples it touches, then reads their current values and writes the fields
  that differ: two people editing different fields of one example both keep their edit, and of two edits of
  one field the later wins while the history keeps both. An example without a record gets one first
  (``INSERT ... ON CONFLICT DO NOTHING``), so that a new example is locked like an old one; a record left
  blank is deleted before the commit.
* adding, renaming or removing a category takes an update lock on the dataset's row: it waits for the edits
  in flight on that dataset, and they for it (edits of other datasets never wait).
* a deadlock, serialization failure or foreign-key violation (a category removed while an edit that ticks
  it waited) reported by the server rolls the transaction back and runs it again
  (up to :data:`_ATTEMPTS` times): each transaction reads everything it decides on inside itself. So does
  a connection the server closed (a restart), once the pool has noticed it.

Schema versions (table ``schema_version``)
------------------------------------------
2 (current)
    the tables of the SQLite store's version 2. Older databases are migrated by the steps of
    :data:`_MIGRATIONS` when opened (none yet); a newer one is refused.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Final, TypeVar

import pandas as pd

from analysis.errors import TagError
from analysis.tags import model
from analysis.tags.frames import history_frame, tags_frame
from analysis.tags.model import BOOL_FIELDS, UNSET, Change, Diff, Entry, Patch, State, Unset, as_id, as_name
from analysis.tags.store import login_name, shown_target

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import insert as pg_insert
except ImportError:  # the optional "postgres" extra is not installed
    sa = None  # type: ignore[assignment]

#: The schema version this code writes (the same tables as the SQLite store's version 2).
SCHEMA_VERSION: Final = 2
INSTALL_HINT: Final = "pip install 'errorscope[postgres]'"
_ATTEMPTS: Final = 8
# serialization_failure, deadlock_detected, foreign_key_violation (see _lock_dataset)
_RETRY_STATES: Final = frozenset({"40001", "40P01", "23503"})
# tags() reads the examples in id ranges of this many rows, each aggregated by the server into one string per
# column (as the SQLite store does; see analysis.tags.frames).
_CHUNK_ROWS: Final = 25_000
_LOCK_SCHEMA: Final = 7_216_813  # the advisory lock that serializes schema creation and migrations

T = TypeVar("T")

# ----------------------------------------------------------------------------------------------------
# Schema
# ----------------------------------------------------------------------------------------------------

_SCHEMA: Final = [
    "CREATE TABLE schema_version (version integer NOT NULL)",
    "CREATE TABLE datasets (dataset_id bigserial PRIMARY KEY, name text NOT NULL UNIQUE)",
    "CREATE TABLE categories (category_id bigserial PRIMARY KEY, "
    "dataset_id bigint NOT NULL REFERENCES datasets (dataset_id), name text NOT NULL)",
    "CREATE UNIQUE INDEX categories_name ON categories (dataset_id, lower(name))",
    "CREATE TABLE examples (example_key bigserial PRIMARY KEY, "
    "dataset_id bigint NOT NULL REFERENCES datasets (dataset_id), example_id text COLLATE \"C\" NOT NULL, "
    "reviewed boolean NOT NULL DEFAULT false, mislabeled boolean NOT NULL DEFAULT false, corrected_label text, "
    "note text, updated_by text, updated_at timestamptz)",
    "CREATE UNIQUE INDEX examples_id ON examples (dataset_id, example_id)",
    "CREATE TABLE example_categories ("
    "example_key bigint NOT NULL REFERENCES examples (example_key) ON DELETE CASCADE, "
    "category_id bigint NOT NULL REFERENCES categories (category_id) ON DELETE CASCADE, "
    "PRIMARY KEY (example_key, category_id))",
    "CREATE INDEX example_categories_category ON example_categories (category_id, example_key)",
    "CREATE TABLE changes (change_id bigserial PRIMARY KEY, "
    "dataset_id bigint NOT NULL REFERENCES datasets (dataset_id), "
    "kind text NOT NULL CHECK (kind IN ('edit', 'merge', 'undo', 'remove_category')), user_name text, "
    "at timestamptz NOT NULL, undone boolean NOT NULL DEFAULT false, undo_of bigint REFERENCES changes (change_id))",
    "CREATE INDEX changes_dataset ON changes (dataset_id, user_name, change_id)",
    # old/new: '0'/'1' for flags and ticks, the text (or NULL) of text fields; category_id without a foreign
    # key, so that the history of a removed category stays; change_id without one too: its rows are written
    # only by the statement that adds their change (changes are never deleted), and its check took a fifth of
    # a 20,000-row merge (EXPLAIN ANALYZE: 0.9 of 4.4 s)
    "CREATE TABLE history (entry_id bigserial PRIMARY KEY, "
    "change_id bigint NOT NULL, example_id text NOT NULL, field text NOT NULL, "
    "category_id bigint, old text, new text)",
    "CREATE INDEX history_change ON history (change_id)",
]

#: version -> the statements that bring a database of that version to the next one
_MIGRATIONS: Final[dict[int, list[str]]] = {}

_md = sa.MetaData() if sa is not None else None
if sa is not None:
    datasets_t = sa.Table("datasets", _md, sa.Column("dataset_id", sa.BigInteger, primary_key=True),
                          sa.Column("name", sa.Text))
    categories_t = sa.Table("categories", _md, sa.Column("category_id", sa.BigInteger, primary_key=True),
                            sa.Column("dataset_id", sa.BigInteger), sa.Column("name", sa.Text))
    examples_t = sa.Table(
        "examples", _md, sa.Column("example_key", sa.BigInteger, primary_key=True),
        sa.Column("dataset_id", sa.BigInteger), sa.Column("example_id", sa.Text),
        sa.Column("reviewed", sa.Boolean), sa.Column("mislabeled", sa.Boolean),
        sa.Column("corrected_label", sa.Text), sa.Column("note", sa.Text), sa.Column("updated_by", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    ticks_t = sa.Table("example_categories", _md, sa.Column("example_key", sa.BigInteger),
                       sa.Column("category_id", sa.BigInteger))
    changes_t = sa.Table(
        "changes", _md, sa.Column("change_id", sa.BigInteger, primary_key=True),
        sa.Column("dataset_id", sa.BigInteger), sa.Column("kind", sa.Text), sa.Column("user_name", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True)), sa.Column("undone", sa.Boolean),
        sa.Column("undo_of", sa.BigInteger),
    )
    history_t = sa.Table(
        "history", _md, sa.Column("entry_id", sa.BigInteger, primary_key=True),
        sa.Column("change_id", sa.BigInteger), sa.Column("example_id", sa.Text), sa.Column("field", sa.Text),
        sa.Column("category_id", sa.BigInteger), sa.Column("old", sa.Text), sa.Column("new", sa.Text),
    )

_BY_ID: Final = "example_id"  # of collation "C": ids sort by their bytes, as in the SQLite store, whatever the
# database's collation, and every lookup of ids (= ANY) uses the unique index
_EPOCH_MS: Final = "coalesce((extract(epoch FROM {column}) * 1000)::bigint, -9223372036854775808)"
_TAGS_SQL: Final = f"""
SELECT count(*), string_agg(example_key::text, ',' ORDER BY {_BY_ID}),
       string_agg(reviewed::int::text, ',' ORDER BY {_BY_ID}), string_agg(mislabeled::int::text, ',' ORDER BY {_BY_ID}),
       string_agg({_EPOCH_MS.format(column="updated_at")}::text, ',' ORDER BY {_BY_ID}),
       json_agg(example_id ORDER BY {_BY_ID})::text, json_agg(corrected_label ORDER BY {_BY_ID})::text,
       json_agg(note ORDER BY {_BY_ID})::text, json_agg(updated_by ORDER BY {_BY_ID})::text
FROM examples WHERE dataset_id = :dataset AND {_BY_ID} > :after {{end}} {{ids}}
"""
_CHUNK_END_SQL: Final = (f"SELECT example_id FROM examples WHERE dataset_id = :dataset AND {_BY_ID} > :after {{ids}} "
                         f"ORDER BY {_BY_ID} LIMIT 1 OFFSET :offset")
_TICKS_SQL: Final = """
SELECT ec.category_id, string_agg(ec.example_key::text, ',')
FROM example_categories ec JOIN categories c ON c.category_id = ec.category_id
{join} WHERE c.dataset_id = :dataset {ids} GROUP BY ec.category_id
"""
_HISTORY_SQL: Final = f"""
SELECT h.change_id, h.example_id, coalesce(c.name, h.field), h.category_id IS NOT NULL,
       h.field IN ('reviewed', 'mislabeled'), h.old, h.new, ch.user_name, {_EPOCH_MS.format(column='ch.at')},
       ch.kind, ch.undone
FROM history h JOIN changes ch ON ch.change_id = h.change_id
LEFT JOIN categories c ON c.category_id = h.category_id
WHERE ch.dataset_id = :dataset ORDER BY h.change_id DESC, h.entry_id DESC LIMIT :limit
"""


def engine_url(url: str) -> str:
    """The SQLAlchemy URL of a ``postgresql://`` or ``postgres://`` URL: the same server, through psycopg 3."""
    scheme, rest = url.strip().split("://", 1)
    if scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise TagError(f"not a PostgreSQL URL: {shown_target(url)!r}")
    return f"postgresql+psycopg://{rest}"


# ----------------------------------------------------------------------------------------------------
# The store
# ----------------------------------------------------------------------------------------------------


class PostgresTagStore:
    """The :class:`~analysis.tags.TagStore` kept in a PostgreSQL database, for a team.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/database`` (libpq parameters may follow ``?``, e.g.
        ``sslmode=require``). The tables are created, or migrated, when missing or older.
    user : str, optional
        Name recorded with every change; defaults to the login name.

    Raises
    ------
    TagError
        If SQLAlchemy or psycopg is not installed, the server cannot be reached, or the database holds a newer
        schema or tables of another program.

    Notes
    -----
    One store may be shared by several threads (each call takes a pooled connection). The methods are
    documented on :class:`~analysis.tags.TagStore`.
    """

    def __init__(self, url: str, *, user: str | None = None) -> None:
        if sa is None:
            raise TagError(f"the PostgreSQL tag store needs SQLAlchemy and psycopg: {INSTALL_HINT}")
        self.url = shown_target(url)
        self.user = user if user is not None else login_name()
        try:
            # the server lists the store's connections as "errorscope" unless the URL names them otherwise
            named = {} if "application_name=" in url else {"application_name": "errorscope"}
            self._engine: sa.Engine | None = sa.create_engine(engine_url(url), pool_size=2, max_overflow=8,
                                                              connect_args=named)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise TagError(f"cannot open the tag store {self.url}: {exc}") from None
        except ImportError as exc:
            raise TagError(f"the PostgreSQL tag store needs psycopg ({exc}): {INSTALL_HINT}") from None
        try:
            self._transaction(self._prepare_schema)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------------------------------------
    # Schema, transactions
    # ------------------------------------------------------------------------------------------------

    def _prepare_schema(self, conn: sa.Connection) -> None:
        """Create the tables of a new database or migrate an older one (one process at a time)."""
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_SCHEMA})
        tables = set(sa.inspect(conn).get_table_names())
        if "schema_version" not in tables:
            if tables & {"datasets", "examples", "changes", "history"}:
                raise TagError(f"the database {self.url} holds tables of some other program, not an errorscope "
                               "tag store; give another database (or schema)")
            for statement in _SCHEMA:
                conn.execute(sa.text(statement))
            conn.execute(sa.text("INSERT INTO schema_version VALUES (:v)"), {"v": SCHEMA_VERSION})
            return
        version = conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar_one()
        if version is None or version > SCHEMA_VERSION:
            raise TagError(f"the tag store {self.url} has schema version {version}, which this errorscope does not "
                           f"understand (up to {SCHEMA_VERSION}); upgrade errorscope to open it")
        for step in range(version, SCHEMA_VERSION):
            for statement in _MIGRATIONS[step]:
                conn.execute(sa.text(statement))
        conn.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION})

    def _transaction(self, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work`` in one transaction, again when the server reports a deadlock or serialization failure."""
        if self._engine is None:
            raise TagError(f"the tag store {self.url} is closed")
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._engine.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if (state in _RETRY_STATES or exc.connection_invalidated) and attempt < _ATTEMPTS:
                    time.sleep(random.uniform(0, 0.002 * 2**attempt))  # let the other transaction finish
                    continue
                if isinstance(exc, sa.exc.OperationalError) and state is None:
                    raise TagError(f"cannot reach the tag store {self.url}: {_first_line(exc.orig)}") from None
                raise TagError(f"the tag store {self.url} refused the change: {_first_line(exc.orig)}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the store's connections; closing twice is harmless."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> PostgresTagStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._engine is None else "open"
        return f"PostgresTagStore({self.url!r}, user={self.user!r}, {state})"

    # ------------------------------------------------------------------------------------------------
    # Datasets and categories
    # ------------------------------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        """The names of the datasets that have categories or tags, sorted."""
        d = datasets_t.c
        has = sa.or_(sa.exists().where(categories_t.c.dataset_id == d.dataset_id),
                     sa.exists().where(examples_t.c.dataset_id == d.dataset_id))
        rows = self._transaction(lambda conn: conn.execute(sa.select(d.name).where(has)).scalars().all())
        return sorted(rows)

    def categories(self, dataset: str) -> list[str]:
        """The error categories of a dataset in the order they were added."""
        dataset = as_name(dataset, "dataset name")
        return self._transaction(lambda conn: list(_category_ids(conn, _dataset_id(conn, dataset))))

    def add_category(self, dataset: str, name: str) -> None:
        """Add an error category to a dataset (creating the dataset when new)."""
        dataset = as_name(dataset, "dataset name")
        self._transaction(lambda conn: _insert_category(conn, *_lock_dataset(conn, dataset, "update"), dataset, name))

    def rename_category(self, dataset: str, old: str, new: str) -> None:
        """Rename a category; its tags and its place in the order stay."""
        dataset = as_name(dataset, "dataset name")
        old = as_name(old, "category name")
        new = as_name(new, "new category name")
        model.check_not_reserved(new)

        def rename(conn: sa.Connection) -> None:
            _, categories = _lock_dataset(conn, dataset, "update", create=False)
            if old not in categories:
                raise TagError(model.unknown_categories_message(dataset, [old], categories))
            taken = model.find_casefold([k for k in categories if k != old], new)
            if taken is not None:
                raise TagError(f"dataset {dataset!r} already has the category {taken!r}")
            conn.execute(sa.update(categories_t).where(categories_t.c.category_id == categories[old])
                         .values(name=new))

        self._transaction(rename)

    def remove_category(self, dataset: str, name: str, *, force: bool = False) -> None:
        """Remove a category; with ``force``, its tags too (recorded in the history)."""
        dataset = as_name(dataset, "dataset name")
        name = as_name(name, "category name")

        def remove(conn: sa.Connection) -> None:
            dataset_id, categories = _lock_dataset(conn, dataset, "update", create=False)
            if name not in categories:
                raise TagError(model.unknown_categories_message(dataset, [name], categories))
            category_id = categories[name]
            tagged = conn.execute(
                sa.select(examples_t.c.example_id).join(ticks_t, ticks_t.c.example_key == examples_t.c.example_key)
                .where(ticks_t.c.category_id == category_id).order_by(examples_t.c.example_id)
            ).scalars().all()
            if tagged and not force:
                raise TagError(
                    f"category {name!r} of dataset {dataset!r} still tags {len(tagged)} example(s); "
                    "untag them first or remove it with force=True (which removes those tags too)"
                )
            if tagged:
                _record(conn, dataset_id, "remove_category", self.user,
                        [Entry(i, name, category_id, 1, 0) for i in tagged])
            conn.execute(sa.delete(categories_t).where(categories_t.c.category_id == category_id))

        self._transaction(remove)

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

        def edit(conn: sa.Connection) -> None:
            dataset_id, known = _lock_dataset(conn, dataset, "share")
            model.resolve_categories(patch, names, known, dataset)
            _apply(conn, dataset_id, [patch], known, kind="edit", user=user or self.user)

        self._transaction(edit)

    def merge(self, dataset: str, rows: Iterable[Mapping[str, object]], *, user: str | None = None,
              new_categories: Iterable[str] = ()) -> int:
        """Merge many examples' tags at once (a sheet import): all of them or, on any error, none."""
        dataset = as_name(dataset, "dataset name")
        patches, names_per_row = model.merge_patches(rows)
        new_categories = list(new_categories)

        def merge(conn: sa.Connection) -> int:
            dataset_id, known = _lock_dataset(conn, dataset, "update" if new_categories else "share")
            for name in model.categories_to_add(known, new_categories):
                _insert_category(conn, dataset_id, known, dataset, name)
            model.resolve_merge(patches, names_per_row, known, dataset)
            return _apply(conn, dataset_id, patches, known, kind="merge", user=user or self.user)

        return self._transaction(merge)

    def undo(self, dataset: str, *, user: str | None = None) -> str | None:
        """Revert the user's latest edit or merge of a dataset that is not undone yet; None when there is none."""
        dataset = as_name(dataset, "dataset name")
        who = user or self.user

        def undo(conn: sa.Connection) -> tuple[Change, list[Entry]] | None:
            dataset_id, known = _lock_dataset(conn, dataset, "share", create=False)
            change = None if dataset_id is None else _latest_undoable(conn, dataset_id, who)
            if dataset_id is None or change is None:
                return None
            h = history_t.c
            entries = [_entry(*row) for row in conn.execute(
                sa.select(h.example_id, h.field, h.category_id, h.old, h.new)
                .where(h.change_id == change.change_id).order_by(h.entry_id.desc()))]
            states = _lock_states(conn, dataset_id, list(dict.fromkeys(e.example_id for e in entries)))
            patches = model.undo_patches(entries, states, known.values())
            _apply(conn, dataset_id, patches, known, kind="undo", user=who, undo_of=change.change_id)
            conn.execute(sa.update(changes_t).where(changes_t.c.change_id == change.change_id).values(undone=True))
            return change, entries

        done = self._transaction(undo)
        return None if done is None else model.undo_message(*done)

    # ------------------------------------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------------------------------------

    def tags(self, dataset: str, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The tags of a dataset as a frame, one row per example that has a record, sorted by id."""
        dataset = as_name(dataset, "dataset name")
        id_list = None if ids is None else [as_id(i) for i in ids]

        def read(conn: sa.Connection) -> tuple[list[tuple], list[tuple[int, str]], dict[str, int]]:
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))  # one snapshot
            dataset_id = _dataset_id(conn, dataset)
            categories = _category_ids(conn, dataset_id)
            if dataset_id is None or id_list == []:
                return [], [], categories
            chunks = _read_chunks(conn, dataset_id, id_list)
            ticks: list[tuple[int, str]] = []
            if chunks and categories:
                ids_sql = "" if id_list is None else "AND e.example_id = ANY(:ids)"
                join = "" if id_list is None else "JOIN examples e ON e.example_key = ec.example_key"
                ticks = [tuple(r) for r in conn.execute(sa.text(_TICKS_SQL.format(join=join, ids=ids_sql)),
                                                        {"dataset": dataset_id, "ids": id_list})]
            return chunks, ticks, categories

        return tags_frame(*self._transaction(read))

    def history(self, dataset: str, *, limit: int | None = None) -> pd.DataFrame:
        """The change history of a dataset, newest first, one row per changed field."""
        dataset = as_name(dataset, "dataset name")
        limit = model.as_limit(limit)

        def read(conn: sa.Connection) -> list[tuple]:
            dataset_id = _dataset_id(conn, dataset)
            if dataset_id is None:
                return []
            rows = conn.execute(sa.text(_HISTORY_SQL), {"dataset": dataset_id, "limit": limit})
            return [(*r[:5], _stored(r[5], r[3] or r[4]), _stored(r[6], r[3] or r[4]), *r[7:]) for r in rows]

        return history_frame(self._transaction(read))


# ----------------------------------------------------------------------------------------------------
# Queries, inside the caller's transaction
# ----------------------------------------------------------------------------------------------------


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _stored(text: str | None, is_flag: bool) -> object:
    """A history value as the SQLite store keeps it: 0/1 for flags and ticks, else the text."""
    return int(text) if is_flag and text is not None else text


def _text(value: object) -> str | None:
    return None if value is None else str(int(value)) if isinstance(value, bool | int) else str(value)


def _entry(example_id: str, field: str, category_id: int | None, old: str | None, new: str | None) -> Entry:
    is_flag = category_id is not None or field in BOOL_FIELDS
    return Entry(example_id, field, category_id, _stored(old, is_flag), _stored(new, is_flag))


def _now() -> datetime:
    return datetime.now(UTC)


def _dataset_id(conn: sa.Connection, dataset: str) -> int | None:
    return conn.execute(sa.select(datasets_t.c.dataset_id).where(datasets_t.c.name == dataset)).scalar()


def _lock_dataset(conn: sa.Connection, dataset: str, mode: str, *,
                  create: bool = True) -> tuple[int | None, dict[str, int]]:
    """The dataset's id, its row locked, and its categories (name -> id, in the order they were added).

    ``mode`` is ``share`` for edits (which do not wait for each other) and ``update`` for category changes
    (which wait for the edits in flight, and they for it). A new dataset is added first when ``create``; else
    an unknown one gives (None, {}). An edit that waited for a category change reads the categories as they
    were before it: if that change removed one the edit ticks, the tick's foreign key fails and the edit runs
    again (:data:`_RETRY_STATES`), now refused by name.
    """
    d, c = datasets_t.c, categories_t.c
    query = (sa.select(d.dataset_id, c.name, c.category_id)
             .select_from(datasets_t.outerjoin(categories_t, c.dataset_id == d.dataset_id))
             .where(d.name == dataset).order_by(c.category_id).with_for_update(read=mode == "share", of=datasets_t))
    rows = conn.execute(query).all()
    if not rows and create:
        conn.execute(pg_insert(datasets_t).values(name=dataset).on_conflict_do_nothing(index_elements=["name"]))
        rows = conn.execute(query).all()
    if not rows:
        return None, {}
    if mode == "update":  # the categories joined above are as they were before the lock was granted
        return rows[0][0], _category_ids(conn, rows[0][0])
    return rows[0][0], {name: category_id for _, name, category_id in rows if name is not None}


def _category_ids(conn: sa.Connection, dataset_id: int | None) -> dict[str, int]:
    """The dataset's categories (name -> id) in the order they were added."""
    if dataset_id is None:
        return {}
    c = categories_t.c
    rows = conn.execute(sa.select(c.name, c.category_id).where(c.dataset_id == dataset_id).order_by(c.category_id))
    return {name: category_id for name, category_id in rows}


def _insert_category(conn: sa.Connection, dataset_id: int, known: dict[str, int], dataset: str,
                     name: object) -> None:
    """Add a category (``known``: the dataset's categories, updated here)."""
    name = model.check_new_category(dataset, known, name)
    known[name] = conn.execute(sa.insert(categories_t).values(dataset_id=dataset_id, name=name)
                               .returning(categories_t.c.category_id)).scalar_one()


def _latest_undoable(conn: sa.Connection, dataset_id: int, user: str) -> Change | None:
    """The user's latest change that undo may revert, its row locked (two undos never revert one change)."""
    c = changes_t.c
    query = (sa.select(c.change_id, c.kind, c.user_name)
             .where(c.dataset_id == dataset_id, c.user_name == user, sa.not_(c.undone),
                    c.kind.in_(model.UNDOABLE_KINDS))
             .order_by(c.change_id.desc()).limit(1).with_for_update())
    row = conn.execute(query).first()
    return None if row is None else Change(*row)


# Adds a blank record for each id without one (returned as such: the transaction that inserts a row holds it)
# and locks the others; an id whose record a concurrent transaction added or deleted meanwhile is in neither
# (this statement's snapshot predates it), and the caller asks again.
_LOCK_SQL: Final = f"""
WITH added AS (
    INSERT INTO examples (dataset_id, example_id) SELECT :dataset, unnest(CAST(:ids AS text[]))
    ON CONFLICT DO NOTHING RETURNING example_key, example_id),
locked AS (
    SELECT example_key, example_id, reviewed, mislabeled, corrected_label, note FROM examples
    WHERE dataset_id = :dataset AND example_id = ANY(CAST(:ids AS text[])) ORDER BY {_BY_ID} FOR UPDATE)
SELECT * FROM locked UNION ALL SELECT example_key, example_id, false, false, NULL, NULL FROM added
"""
_TICKS_OF_SQL: Final = ("SELECT example_key, category_id FROM example_categories "
                        "WHERE example_key = ANY(CAST(:keys AS bigint[]))")


def _lock_states(conn: sa.Connection, dataset_id: int, ids: list[str]) -> dict[str, State]:
    """Lock these examples' records (adding a blank one where there is none) and return their values.

    The locks are taken in id order, so that two merges of overlapping ids do not deadlock; a record deleted
    by the transaction we waited for is added again.
    """
    states: dict[str, State] = {}
    missing = sorted(set(ids))
    for _ in range(_ATTEMPTS):
        if not missing:
            break
        for key, example_id, reviewed, mislabeled, label, note in conn.execute(
                sa.text(_LOCK_SQL), {"dataset": dataset_id, "ids": missing}):
            states[example_id] = State(key, reviewed, mislabeled, label, note)
        missing = sorted(set(missing) - set(states))
    if missing:
        raise TagError(f"examples {missing[:3]} kept changing under this edit; try again")
    by_key = {state.key: state for state in states.values()}
    for key, category_id in conn.execute(sa.text(_TICKS_OF_SQL), {"keys": list(by_key)}):
        by_key[key].ticks.add(category_id)
    return states


def _read_chunks(conn: sa.Connection, dataset_id: int, ids: list[str] | None) -> list[tuple]:
    """The examples (all, or these ids) as aggregated chunks of :data:`_CHUNK_ROWS` (see ``tags_frame``)."""
    ids_sql = "" if ids is None else "AND example_id = ANY(:ids)"
    params: dict[str, object] = {"dataset": dataset_id, "ids": ids, "offset": _CHUNK_ROWS - 1}
    chunks, after = [], ""
    while True:
        end = conn.execute(sa.text(_CHUNK_END_SQL.format(ids=ids_sql)), {**params, "after": after}).scalar()
        end_sql = "" if end is None else f"AND {_BY_ID} <= :end"
        count, *columns = conn.execute(sa.text(_TAGS_SQL.format(end=end_sql, ids=ids_sql)),
                                       {**params, "after": after, "end": end}).one()
        if count:
            chunks.append(tuple(columns))
        if end is None:
            return chunks
        after = end


# ----------------------------------------------------------------------------------------------------
# Writing a diff
# ----------------------------------------------------------------------------------------------------


_RECORD_CTES: Final = """
change AS (INSERT INTO changes (dataset_id, kind, user_name, at, undo_of)
           VALUES (:dataset, :kind, :user, :now, :undo_of) RETURNING change_id),
recorded AS (INSERT INTO history (change_id, example_id, field, category_id, old, new)
             SELECT change.change_id, e.* FROM change, unnest(CAST(:ids AS text[]), CAST(:fields AS text[]),
                 CAST(:categories AS bigint[]), CAST(:olds AS text[]), CAST(:news AS text[])) AS e)
"""
_RECORD_SQL: Final = f"WITH {_RECORD_CTES} SELECT 1"
# One statement writes a change: its history, the ticks it removes and adds, and the changed examples (a
# field whose "set_" flag is false keeps its value).
_WRITE_SQL: Final = f"""
WITH {_RECORD_CTES},
untick AS (DELETE FROM example_categories t
           USING unnest(CAST(:untick_keys AS bigint[]), CAST(:untick_categories AS bigint[])) AS v(key, category)
           WHERE t.example_key = v.key AND t.category_id = v.category),
tick AS (INSERT INTO example_categories (example_key, category_id)
         SELECT * FROM unnest(CAST(:tick_keys AS bigint[]), CAST(:tick_categories AS bigint[])))
UPDATE examples e SET
    reviewed = CASE WHEN v.set_reviewed THEN v.reviewed ELSE e.reviewed END,
    mislabeled = CASE WHEN v.set_mislabeled THEN v.mislabeled ELSE e.mislabeled END,
    corrected_label = CASE WHEN v.set_corrected_label THEN v.corrected_label ELSE e.corrected_label END,
    note = CASE WHEN v.set_note THEN v.note ELSE e.note END,
    updated_by = :user, updated_at = :now
FROM unnest(CAST(:keys AS bigint[]), CAST(:set_reviewed AS boolean[]), CAST(:reviewed AS boolean[]),
            CAST(:set_mislabeled AS boolean[]), CAST(:mislabeled AS boolean[]),
            CAST(:set_corrected_label AS boolean[]), CAST(:corrected_label AS text[]),
            CAST(:set_note AS boolean[]), CAST(:note AS text[]))
     AS v(key, set_reviewed, reviewed, set_mislabeled, mislabeled, set_corrected_label, corrected_label,
          set_note, note)
WHERE e.example_key = v.key
"""
_DROP_SQL: Final = "DELETE FROM examples WHERE example_key = ANY(CAST(:keys AS bigint[]))"


def _record_values(dataset_id: int, kind: str, user: str, entries: list[Entry], undo_of: int | None) -> dict:
    return {"dataset": dataset_id, "kind": kind, "user": user, "now": _now(), "undo_of": undo_of,
            "ids": [e.example_id for e in entries], "fields": [e.field for e in entries],
            "categories": [e.category_id for e in entries], "olds": [_text(e.old) for e in entries],
            "news": [_text(e.new) for e in entries]}


def _record(conn: sa.Connection, dataset_id: int, kind: str, user: str, entries: list[Entry]) -> None:
    """Add one change and its history entries (one statement; the entries keep their order)."""
    conn.execute(sa.text(_RECORD_SQL), _record_values(dataset_id, kind, user, entries, None))


def _apply(conn: sa.Connection, dataset_id: int, patches: list[Patch], categories: Mapping[str, int], *,
           kind: str, user: str, undo_of: int | None = None) -> int:
    """Write the differences between the patches and the stored values; return how many examples changed.

    Four statements however many examples change: lock (and read) the examples, read their ticks, write the
    change, and drop the records left blank.
    """
    states = _lock_states(conn, dataset_id, [p.example_id for p in patches])
    changes = model.diff(patches, states, {v: k for k, v in categories.items()})
    # the blank records _lock_states added for examples this change leaves alone go, with those it blanks
    drop = ({s.key for s in states.values() if s.is_blank()} - set(changes.touched)) | set(changes.blank)
    if changes.entries:
        conn.execute(sa.text(_WRITE_SQL), {**_record_values(dataset_id, kind, user, changes.entries, undo_of),
                                           **_example_values(changes)})
    if drop:
        conn.execute(sa.text(_DROP_SQL), {"keys": sorted(drop)})
    return changes.changed_examples


def _example_values(changes: Diff) -> dict[str, list]:
    """The parameters of :data:`_WRITE_SQL` that change examples and their ticks."""
    keys = changes.touched
    values: dict[str, list] = {"keys": keys}
    for name in ("reviewed", "mislabeled", "corrected_label", "note"):
        new = {key: value for value, key in changes.column_updates.get(name, [])}
        values[f"set_{name}"] = [key in new for key in keys]
        values[name] = [_value(name, new.get(key)) for key in keys]
    for prefix, pairs in (("tick", changes.tick_adds), ("untick", changes.tick_removes)):
        values[f"{prefix}_keys"] = [key for key, _ in pairs]
        values[f"{prefix}_categories"] = [category for _, category in pairs]
    return values


def _value(name: str, value: object) -> object:
    return (None if value is None else bool(value)) if name in BOOL_FIELDS else value
