"""The tag store: error categories and per-example tags, behind one interface.

The store is the only source of truth for tags. The app saves every edit through it (one small transaction per
edit, committed before the next render), the CLI and notebooks read and bulk-merge through it, and several
processes and threads may use one store at once.

Tags are keyed by (dataset name, example id), not by predictions file: tags made while reviewing one model's
mistakes show up again when a newer model's predictions of the same examples are opened under the same dataset
name.

Modules
-------
:mod:`analysis.tags.store`
    :class:`TagStore`, the interface every backend offers; :func:`open_store`, :func:`default_db_path`,
    :func:`categories_of`, :func:`default_db`, :func:`shown_target`.
:mod:`analysis.tags.model`
    The rules without a database: value checks, patches and states, the edit diff, undo.
:mod:`analysis.tags.frames`
    The frames :meth:`TagStore.tags` and :meth:`TagStore.history` return.
:mod:`analysis.tags.sqlite`
    :class:`SQLiteTagStore`, the store in one SQLite file (the default).
:mod:`analysis.tags.postgres`
    :class:`~analysis.tags.postgres.PostgresTagStore`, the store in a PostgreSQL database shared by a team
    (optional: ``pip install 'errorscope[postgres]'``).
"""

from __future__ import annotations

from analysis.tags.model import FIXED_COLUMNS, UNSET
from analysis.tags.sqlite import SCHEMA_VERSION, SQLiteTagStore
from analysis.tags.store import (
    DB_ENV_VAR,
    TagStore,
    categories_of,
    default_db,
    default_db_path,
    is_url,
    open_store,
    shown_target,
)

__all__ = ["DB_ENV_VAR", "FIXED_COLUMNS", "SCHEMA_VERSION", "UNSET", "SQLiteTagStore", "TagStore", "categories_of",
           "default_db", "default_db_path", "is_url", "open_store", "shown_target"]
