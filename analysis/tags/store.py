"""The tag store's interface: what every backend offers, where the store lives, and how to open it.

Callers open a store with :func:`open_store` and use it through the :class:`TagStore` protocol, so that the
backend (a SQLite file, or a PostgreSQL database for a team) can change without them.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from analysis.errors import TagError
from analysis.tags.model import FIXED_COLUMNS, UNSET, Unset

if TYPE_CHECKING:
    import pandas as pd

#: Environment variable naming the tag store (a file, or a postgresql:// URL); overrides ``errorscope.db`` in the
#: working folder.
DB_ENV_VAR: Final = "ERRORSCOPE_DB"
#: Environment variable naming who makes the changes; overrides the login name.
USER_ENV_VAR: Final = "ERRORSCOPE_USER"
_POSTGRESQL_SCHEMES: Final = ("postgresql://", "postgres://")


@runtime_checkable
class TagStore(Protocol):
    """Error categories and per-example tags of several datasets.

    Tags are keyed by (dataset name, example id), not by predictions file. Example ids follow the project's
    one rule (:func:`analysis.normalize.label_text`): ``3``, ``3.0`` and ``"003"`` name one example, stored as
    ``"3"``. Every write is one transaction: all of it or, on any error, nothing.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> store = open_store(Path(folder) / "tags.db", user="ana")
    >>> store.add_category("digits", "blurry")
    >>> store.edit("digits", "17", categories={"blurry": True}, note="smudged")
    >>> store.tags("digits")[["id", "reviewed", "note", "blurry"]].to_dict("records")
    [{'id': '17', 'reviewed': True, 'note': 'smudged', 'blurry': True}]
    >>> store.undo("digits")
    "undid ana's edit of example '17' (reviewed, note, blurry)"
    >>> store.close()
    """

    #: Name recorded with every change that names no other user.
    user: str

    def datasets(self) -> list[str]:
        """Return the names of the datasets that have categories or tags, sorted."""
        ...

    def categories(self, dataset: str) -> list[str]:
        """Return the error categories of a dataset in the order they were added (none for an unknown one)."""
        ...

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
        ...

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
        ...

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
        ...

    def edit(self, dataset: str, example_id: str, *, categories: Mapping[str, bool] | None = None,
             mislabeled: bool | None = None, corrected_label: str | None | Unset = UNSET,
             note: str | None | Unset = UNSET, reviewed: bool | None = None, user: str | None = None) -> None:
        """Change some tags of one example in one transaction.

        Only the fields given change; the others keep what is stored, even if another session changed them a
        moment ago. Any edit marks the example reviewed unless ``reviewed=False`` is given.

        Parameters
        ----------
        dataset : str
            Dataset name (created when new).
        example_id : str
            The example's id (a number is taken as its text: ``3.0`` is ``"3"``).
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
            If the id is blank, a category is unknown or a value has the wrong type; nothing changes then.

        Notes
        -----
        Each changed field adds one history entry; the entries of one call share a change id, and
        :meth:`undo` reverts them together. An example left with nothing set and not reviewed has no record.
        """
        ...

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
            ``None``/NaN/blank is cleared). An id may appear once (``3`` and ``"3.0"`` are one id).
        user : str, optional
            Who makes the import; defaults to the store's user.
        new_categories : iterable of str, optional
            Categories to add first, in the same transaction (refused as :meth:`add_category` refuses them),
            except those the dataset already has under that exact name: two imports adding one category at
            once both land.

        Returns
        -------
        int
            The number of examples whose stored tags changed.

        Raises
        ------
        TagError
            Naming the first bad row: a missing, blank or repeated id, an unknown key, a wrong value type, or
            (naming them all) unknown categories. Everything is checked before anything is written.
        """
        ...

    def undo(self, dataset: str, *, user: str | None = None) -> str | None:
        """Revert the user's latest edit or merge of a dataset that is not undone yet.

        Only the user's own changes are undone, never another person's; repeated calls walk further back.
        The undo is itself recorded in the history (as kind ``"undo"``) but is never the target of a later
        undo. A field whose stored value is no longer the one the change wrote
        (a tick of a category removed since, say) is left as it is.

        Parameters
        ----------
        dataset : str
            Dataset name.
        user : str, optional
            Whose change is undone, and who undoes; defaults to the store's user.

        Returns
        -------
        str or None
            A short description of what was undone, or None when there is nothing left to undo.
        """
        ...

    def tags(self, dataset: str, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Return the tags of a dataset as a frame, one row per example that has a record, sorted by id.

        Parameters
        ----------
        dataset : str
            Dataset name; an unknown one gives an empty frame.
        ids : iterable of str, optional
            Only these examples (those of them that have a record); ids are normalized as in :meth:`edit`.

        Returns
        -------
        pandas.DataFrame
            Columns ``id`` (str), ``reviewed`` and ``mislabeled`` (bool), ``corrected_label`` and ``note``
            (str or None), ``updated_by`` (str or None), ``updated_at`` (datetime64, UTC), then one bool
            column per category in category order. Text columns have object dtype: missing values are None.
        """
        ...

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
        ...

    def close(self) -> None:
        """Close the store; closing twice is harmless, and a closed store refuses work with a TagError."""
        ...

    def __enter__(self) -> TagStore:
        ...

    def __exit__(self, *exc_info: object) -> None:
        ...


def open_store(target: str | os.PathLike[str], *, user: str | None = None,
               synchronous: Literal["FULL", "NORMAL"] = "FULL") -> TagStore:
    """Open the tag store at ``target``.

    Parameters
    ----------
    target : str or os.PathLike
        The path of a SQLite file (created when missing; see :class:`~analysis.tags.SQLiteTagStore`), or a
        ``postgresql://user@host/db`` URL: a database shared by a team (see
        :class:`~analysis.tags.postgres.PostgresTagStore`; needs ``pip install 'errorscope[postgres]'``).
    user : str, optional
        Name recorded with every change; defaults to the login name.
    synchronous : {"FULL", "NORMAL"}, default "FULL"
        The SQLite file's sync level (see :class:`~analysis.tags.SQLiteTagStore`); PostgreSQL's is the server's.

    Returns
    -------
    TagStore

    Raises
    ------
    TagError
        If the store cannot be opened: a path the SQLite store refuses, a server that cannot be reached, or a
        URL of another kind of database.
    """
    if is_url(target):
        if not str(target).strip().lower().startswith(_POSTGRESQL_SCHEMES):
            raise TagError(f"{shown_target(target)!r} is not a tag store: give a postgresql:// URL or the path of "
                           "a SQLite file")
        from analysis.tags.postgres import PostgresTagStore

        return PostgresTagStore(str(target), user=user)
    from analysis.tags.sqlite import SQLiteTagStore

    return SQLiteTagStore(target, user=user, synchronous=synchronous)


def categories_of(tags: pd.DataFrame) -> list[str]:
    """The category columns of a :meth:`TagStore.tags` frame, in category order.

    Reading them from the frame, rather than from a second query, keeps the two consistent while other
    sessions rename or remove categories.
    """
    return list(tags.columns[len(FIXED_COLUMNS):])


def is_url(target: object) -> bool:
    """Whether a store target is a server's URL (``scheme://...``) rather than a file's path."""
    return isinstance(target, str) and "://" in target


def shown_target(target: str | os.PathLike[str]) -> str:
    """A store's path, or its URL without the password: what messages and pages show."""
    text = str(target).strip()
    parts = urlsplit(text)
    if not is_url(text) or parts.password is None:
        return text
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.netloc.rsplit('@', 1)[1]}"))


def default_db() -> str | Path:
    """Where the tag store lives when none is given: the PostgreSQL URL in ``ERRORSCOPE_DB``, else
    :func:`default_db_path`."""
    value = os.environ.get(DB_ENV_VAR, "").strip()
    return value if is_url(value) else default_db_path()


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


def login_name() -> str:
    """The default user of a store: ``$ERRORSCOPE_USER`` when set (for a team whose members share a login, as in
    containers), else the login name (``"unknown"`` where there is none)."""
    if os.environ.get(USER_ENV_VAR, "").strip():
        return os.environ[USER_ENV_VAR].strip()
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
