"""Tests of the tag store (analysis/tags/).

Most tests are written against the :class:`TagStore` interface and run once per backend (the ``store`` and
``new_store`` fixtures, parametrized in conftest.py); the section "SQLite files" at the end is about the SQLite
backend alone: kill -9, processes sharing a file, schema versions and the files it refuses. The rules without a
database are tested in test_tags_model.py.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import analysis.tags.postgres as postgres_module
import analysis.tags.sqlite as sqlite_module
from analysis.errors import ErrorscopeError, TagError
from analysis.tags import SCHEMA_VERSION, SQLiteTagStore, TagStore, default_db_path, open_store

ROOT = Path(__file__).resolve().parents[1]
DS = "digits"
FIXED = ["id", "reviewed", "mislabeled", "corrected_label", "note", "updated_by", "updated_at"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "tags.db"


@pytest.fixture
def store(new_store) -> TagStore:
    """ana's store of the backend under test, with three categories of the dataset DS."""
    opened = new_store(user="ana")
    for name in ("blurry", "occluded", "ambiguous"):
        opened.add_category(DS, name)
    return opened


@pytest.fixture
def small_chunks(store_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the backend read tags() in chunks of 1,000 examples."""
    modules = {"sqlite": sqlite_module, "postgresql": postgres_module}
    if store_backend not in modules:
        pytest.fail(f"no chunk size to set for the {store_backend} store")
    monkeypatch.setattr(modules[store_backend], "_CHUNK_ROWS", 1_000)


def row(store: TagStore, example_id: str, dataset: str = DS) -> dict:
    frame = store.tags(dataset, ids=[example_id])
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


def snapshot(store: TagStore, dataset: str = DS) -> tuple[list, int]:
    """Everything an edit could change: the tags and the number of history entries."""
    frame = store.tags(dataset)
    return frame.drop(columns="updated_at").to_dict("records"), len(store.history(dataset))


# ------------------------------------------------------------------------------------------------------------
# Categories
# ------------------------------------------------------------------------------------------------------------


def test_categories_keep_the_order_they_were_added_in(store: TagStore) -> None:
    store.add_category(DS, "  wrong crop  ")
    assert store.categories(DS) == ["blurry", "occluded", "ambiguous", "wrong crop"]
    assert store.categories("unknown dataset") == []
    assert store.datasets() == [DS]


@pytest.mark.parametrize("name", ["Blurry", "BLURRY", " blurry ", "", "   ", "note", "ID", "Reviewed"])
def test_duplicate_blank_and_reserved_category_names_are_refused(store: TagStore, name: str) -> None:
    with pytest.raises(TagError):
        store.add_category(DS, name)
    assert store.categories(DS) == ["blurry", "occluded", "ambiguous"]


def test_categories_belong_to_one_dataset(store: TagStore) -> None:
    store.add_category("imdb", "blurry")
    assert store.categories("imdb") == ["blurry"]
    store.edit("imdb", "1", categories={"blurry": True})
    assert store.tags(DS).empty
    assert store.datasets() == [DS, "imdb"]


def test_a_dataset_with_neither_categories_nor_tags_is_not_listed(store: TagStore) -> None:
    store.edit("typo", "1", reviewed=False)  # changes nothing
    store.add_category("gone", "blurry")
    store.remove_category("gone", "blurry")
    assert store.datasets() == [DS]


def test_rename_keeps_tags_order_and_history(store: TagStore) -> None:
    store.edit(DS, "7", categories={"blurry": True, "occluded": True})
    store.rename_category(DS, "blurry", "smudged")
    assert store.categories(DS) == ["smudged", "occluded", "ambiguous"]
    tags = row(store, "7")
    assert tags["smudged"] and tags["occluded"] and not tags["ambiguous"]
    assert "blurry" not in store.tags(DS).columns
    assert "smudged" in set(store.history(DS)["field"])
    store.rename_category(DS, "smudged", "Smudged")  # a change of letter case only is allowed
    assert store.categories(DS)[0] == "Smudged"
    assert row(store, "7")["Smudged"]


def test_rename_refuses_unknown_old_and_taken_new(store: TagStore) -> None:
    with pytest.raises(TagError, match="unknown category 'nope'"):
        store.rename_category(DS, "nope", "x")
    with pytest.raises(TagError, match="already has the category 'occluded'"):
        store.rename_category(DS, "blurry", "Occluded")
    with pytest.raises(TagError):
        store.rename_category(DS, "blurry", "  ")
    assert store.categories(DS) == ["blurry", "occluded", "ambiguous"]


def test_remove_is_refused_while_tagged_and_forced_removes_the_tags(store: TagStore) -> None:
    store.edit(DS, "1", categories={"blurry": True})
    store.edit(DS, "2", categories={"blurry": True, "occluded": True})
    with pytest.raises(TagError, match="still tags 2 example"):
        store.remove_category(DS, "blurry")
    assert store.categories(DS) == ["blurry", "occluded", "ambiguous"]
    assert store.tags(DS)["blurry"].tolist() == [True, True]

    store.remove_category(DS, "blurry", force=True)
    assert store.categories(DS) == ["occluded", "ambiguous"]
    frame = store.tags(DS)
    assert list(frame.columns) == [*FIXED, "occluded", "ambiguous"]
    assert frame["occluded"].tolist() == [False, True]
    removal = store.history(DS).query("kind == 'remove_category'")
    assert sorted(removal["id"]) == ["1", "2"] and set(removal["old"]) == {True}

    # a new category of the old name starts empty; the removed one's tags are gone for good
    store.add_category(DS, "blurry")
    assert not store.tags(DS)["blurry"].any()
    store.remove_category(DS, "ambiguous")  # never used: no force needed
    with pytest.raises(TagError, match="unknown category"):
        store.remove_category(DS, "ambiguous")


# ------------------------------------------------------------------------------------------------------------
# Edits
# ------------------------------------------------------------------------------------------------------------


def test_edit_changes_only_the_fields_given(store: TagStore) -> None:
    store.edit(DS, "3", categories={"blurry": True})
    store.edit(DS, "3", note="looks like an 8")
    store.edit(DS, "3", mislabeled=True, corrected_label="8")
    store.edit(DS, "3", categories={"occluded": True})
    tags = row(store, "3")
    assert tags["reviewed"] and tags["mislabeled"]
    assert (tags["corrected_label"], tags["note"]) == ("8", "looks like an 8")
    assert (tags["blurry"], tags["occluded"], tags["ambiguous"]) == (True, True, False)

    store.edit(DS, "3", categories={"blurry": False})
    tags = row(store, "3")
    assert (tags["blurry"], tags["occluded"], tags["note"]) == (False, True, "looks like an 8")


def test_reviewed_alone_and_unreviewing(store: TagStore) -> None:
    store.edit(DS, "4", reviewed=True)
    tags = row(store, "4")
    assert tags["reviewed"] and not tags["mislabeled"]
    assert not any(tags[c] for c in store.categories(DS))
    assert tags["note"] is None and tags["corrected_label"] is None

    store.edit(DS, "5", note="keep me")
    store.edit(DS, "5", reviewed=False)
    assert not row(store, "5")["reviewed"]
    assert row(store, "5")["note"] == "keep me"

    store.edit(DS, "4", reviewed=False)  # nothing left: the example has no record any more
    assert store.tags(DS, ids=["4"]).empty


def test_a_tick_then_its_untick_leaves_the_example_not_reviewed(store: TagStore) -> None:
    store.edit(DS, "8", categories={"blurry": True})
    assert row(store, "8")["reviewed"]
    store.edit(DS, "8", categories={"blurry": False})
    assert store.tags(DS, ids=["8"]).empty  # not reviewed with no tag, which would lower every share
    store.edit(DS, "9", mislabeled=True)
    store.edit(DS, "9", mislabeled=False)
    assert store.tags(DS, ids=["9"]).empty
    store.edit(DS, "10", reviewed=True, categories={"blurry": True})
    store.edit(DS, "10", reviewed=True, categories={"blurry": False})
    assert row(store, "10")["reviewed"]


def test_a_corrected_label_is_saved_with_the_mislabeled_flag(store: TagStore) -> None:
    store.edit(DS, "11", corrected_label="7")
    tags = row(store, "11")
    assert (tags["corrected_label"], tags["mislabeled"], tags["reviewed"]) == ("7", True, True)
    assert store.undo(DS) and store.tags(DS, ids=["11"]).empty  # one edit: undone together


def test_none_clears_a_note_and_a_corrected_label(store: TagStore) -> None:
    store.edit(DS, "6", note="first", corrected_label="3")
    store.edit(DS, "6", note=None)
    tags = row(store, "6")
    assert tags["note"] is None and tags["corrected_label"] == "3"
    store.edit(DS, "6", corrected_label="  ")  # blank counts as cleared
    assert row(store, "6")["corrected_label"] is None


def test_edit_records_who_and_when(store: TagStore) -> None:
    before = pd.Timestamp.now(tz="UTC").floor("ms")  # stored to the millisecond
    store.edit(DS, "8", note="by ana")
    assert row(store, "8")["updated_by"] == "ana"
    store.edit(DS, "8", mislabeled=True, user="ben")
    tags = row(store, "8")
    assert tags["updated_by"] == "ben"
    assert before <= tags["updated_at"] <= pd.Timestamp.now(tz="UTC")


def test_an_edit_that_changes_nothing_leaves_no_history(store: TagStore) -> None:
    store.edit(DS, "9", note="same", categories={"blurry": True})
    entries = len(store.history(DS))
    store.edit(DS, "9", note="same", categories={"blurry": True, "occluded": False})
    assert len(store.history(DS)) == entries


@pytest.mark.parametrize(
    "kwargs",
    [
        {"categories": {"blurry": True, "no such category": True}},
        {"categories": {"Blurry": True}},  # names are exact
        {"mislabeled": "yes"},
        {"note": 3.5},
        {"categories": {"blurry": "maybe"}},
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(store: TagStore, kwargs: dict) -> None:
    store.edit(DS, "10", note="before")
    before = snapshot(store)
    with pytest.raises(TagError):
        store.edit(DS, "10", **{"note": "after", **kwargs})
    with pytest.raises(TagError):
        store.edit(DS, "11", **kwargs)
    assert snapshot(store) == before
    assert row(store, "10")["note"] == "before"


def test_tag_errors_are_errorscope_value_errors(store: TagStore) -> None:
    with pytest.raises(ErrorscopeError, match="unknown category 'nope' for dataset 'digits'"):
        store.edit(DS, "1", categories={"nope": True})
    with pytest.raises(TagError, match=r"example id must be a text or a number, got \[1.5\] \(list\)"):
        store.edit(DS, [1.5], note="x")  # type: ignore[arg-type]
    assert issubclass(TagError, ErrorscopeError) and issubclass(ErrorscopeError, ValueError)


# ------------------------------------------------------------------------------------------------------------
# Reading: tags() and history()
# ------------------------------------------------------------------------------------------------------------


def test_tags_frame_columns_types_and_values(store: TagStore) -> None:
    store.edit(DS, "b", categories={"occluded": True}, mislabeled=True, corrected_label="4", user="ben")
    store.edit(DS, "a", note="smudge")
    store.edit(DS, "c", reviewed=True)
    frame = store.tags(DS)
    assert list(frame.columns) == [*FIXED, "blurry", "occluded", "ambiguous"]
    assert frame["id"].tolist() == ["a", "b", "c"]
    for column in ("reviewed", "mislabeled", "blurry", "occluded", "ambiguous"):
        assert frame[column].dtype == bool, column
    assert str(frame["updated_at"].dt.tz) == "UTC"
    assert frame.to_dict("list") | {"updated_at": None} == {
        "id": ["a", "b", "c"],
        "reviewed": [True, True, True],
        "mislabeled": [False, True, False],
        "corrected_label": [None, "4", None],
        "note": ["smudge", None, None],
        "updated_by": ["ana", "ben", "ana"],
        "updated_at": None,
        "blurry": [False, False, False],
        "occluded": [False, True, False],
        "ambiguous": [False, False, False],
    }
    assert store.tags(DS, ids=["c", "a", "not tagged"])["id"].tolist() == ["a", "c"]
    assert store.tags(DS, ids=[]).empty


def test_tags_of_an_unknown_dataset_is_an_empty_frame_with_the_fixed_columns(store: TagStore) -> None:
    frame = store.tags("never seen")
    assert frame.empty and list(frame.columns) == FIXED
    assert store.history("never seen").empty


def test_tags_follow_the_dataset_name_not_the_file(new_store, store: TagStore) -> None:
    """Tags made on one model's predictions show up for a newer model of the same dataset."""
    store.edit(DS, "42", categories={"blurry": True})
    with new_store(user="ben") as later:
        assert later.tags(DS, ids=["42", "43"])["id"].tolist() == ["42"]
        assert later.tags(DS)["blurry"].tolist() == [True]


@pytest.mark.parametrize("examples", [2_999, 3_000, 3_001])
def test_tags_read_in_chunks_match_what_was_written(store: TagStore, small_chunks: None, examples: int) -> None:
    rows = [
        {"id": f"x{i:05d}", "categories": {"blurry": i % 3 == 0, "ambiguous": i % 7 == 0}, "note": f"n{i}"}
        for i in reversed(range(examples))
    ]
    assert store.merge(DS, rows) == examples
    frame = store.tags(DS)
    assert frame["id"].tolist() == [f"x{i:05d}" for i in range(examples)]
    assert frame["note"].tolist() == [f"n{i}" for i in range(examples)]
    assert frame["blurry"].tolist() == [i % 3 == 0 for i in range(examples)]
    assert frame["ambiguous"].tolist() == [i % 7 == 0 for i in range(examples)]
    assert not frame["occluded"].any()
    some = store.tags(DS, ids=[f"x{i:05d}" for i in reversed(range(0, examples, 2))])
    assert some["id"].tolist() == frame["id"].tolist()[::2]
    assert some["blurry"].tolist() == frame["blurry"].tolist()[::2]


def test_history_lists_each_changed_field_newest_first(store: TagStore) -> None:
    store.edit(DS, "1", categories={"blurry": True}, note="hm")
    store.edit(DS, "1", note=None, mislabeled=True, user="ben")
    history = store.history(DS)
    assert list(history.columns)[:7] == ["change_id", "id", "field", "old", "new", "user", "at"]
    records = history[["change_id", "id", "field", "old", "new", "user"]].to_dict("records")
    first, second = sorted(set(history["change_id"]))
    assert records == [
        {"change_id": second, "id": "1", "field": "note", "old": "hm", "new": None, "user": "ben"},
        {"change_id": second, "id": "1", "field": "mislabeled", "old": False, "new": True, "user": "ben"},
        {"change_id": first, "id": "1", "field": "blurry", "old": False, "new": True, "user": "ana"},
        {"change_id": first, "id": "1", "field": "note", "old": None, "new": "hm", "user": "ana"},
        {"change_id": first, "id": "1", "field": "reviewed", "old": False, "new": True, "user": "ana"},
    ]
    assert history["at"].is_monotonic_decreasing
    assert len(store.history(DS, limit=2)) == 2
    with pytest.raises(TagError):
        store.history(DS, limit=-1)


# ------------------------------------------------------------------------------------------------------------
# Undo
# ------------------------------------------------------------------------------------------------------------


def test_undo_reverts_change_groups_newest_first_then_returns_none(store: TagStore) -> None:
    store.edit(DS, "1", categories={"blurry": True}, note="a")
    store.edit(DS, "1", categories={"blurry": False, "occluded": True}, note="b")
    store.edit(DS, "2", mislabeled=True, corrected_label="7")

    assert store.undo(DS) == "undid ana's edit of example '2' (reviewed, mislabeled, corrected_label)"
    assert store.tags(DS, ids=["2"]).empty  # it had no record before

    assert store.undo(DS) == "undid ana's edit of example '1' (note, blurry, occluded)"
    tags = row(store, "1")
    assert (tags["blurry"], tags["occluded"], tags["note"]) == (True, False, "a")

    assert store.undo(DS) == "undid ana's edit of example '1' (reviewed, note, blurry)"
    assert store.tags(DS).empty
    assert store.undo(DS) is None
    assert store.undo("never seen") is None

    history = store.history(DS)
    assert set(history.loc[history["kind"] == "edit", "undone"]) == {True}
    undos = history.loc[history["kind"] == "undo", "undone"]
    assert len(undos) == (history["kind"] == "edit").sum()  # each undone field is recorded by its undo...
    assert not undos.any()  # ...and an undo is never undone itself


def test_undo_after_a_rename_and_after_a_newer_edit_of_another_example(store: TagStore) -> None:
    store.edit(DS, "1", categories={"blurry": True})
    store.rename_category(DS, "blurry", "smudged")
    store.edit(DS, "2", note="x")
    store.undo(DS)
    assert row(store, "1")["smudged"]
    store.undo(DS)
    assert store.tags(DS).empty


# ------------------------------------------------------------------------------------------------------------
# Merge
# ------------------------------------------------------------------------------------------------------------


def test_merge_writes_in_one_change_group_and_counts_changed_rows(store: TagStore) -> None:
    store.edit(DS, "1", note="old note", categories={"occluded": True})
    changed = store.merge(
        DS,
        [
            {"id": "1", "categories": {"blurry": True}, "note": None},
            {"id": "2", "mislabeled": True, "corrected_label": "5"},
            {"id": 3, "categories": {"ambiguous": True}},  # integer ids are stored as text
        ],
        user="importer",
    )
    assert changed == 3
    frame = store.tags(DS).set_index("id")
    assert frame.loc["1", ["blurry", "occluded"]].tolist() == [True, True]
    assert frame.loc["1", "note"] is None
    assert frame.loc["2", "corrected_label"] == "5" and frame.loc["3", "ambiguous"]
    assert set(frame["updated_by"]) == {"importer"}
    assert store.history(DS).query("kind == 'merge'")["change_id"].nunique() == 1
    assert store.merge(DS, [{"id": "2", "mislabeled": True}]) == 0

    assert store.undo(DS, user="importer") == "undid importer's import of 3 example(s)"  # one undoes one's own
    assert store.tags(DS)["id"].tolist() == ["1"]
    assert row(store, "1")["note"] == "old note"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ({"id": "9", "categories": {"blurry": True, "glare": True}}, "unknown category 'glare'"),
        ({"id": "9", "mislabeled": "perhaps"}, r"row 3 \(id '9'\): mislabeled"),
        ({"id": "1", "note": "twice"}, "appears more than once"),
        ({"id": "9", "notes": "typo"}, "unknown key"),
        ({"categories": {"blurry": True}}, "has no 'id'"),
    ],
)
def test_a_bad_merge_is_refused_whole(store: TagStore, bad_row: dict, message: str) -> None:
    store.edit(DS, "1", note="before")
    before = snapshot(store)
    rows = [
        {"id": "1", "note": "after", "categories": {"blurry": True}},
        {"id": "2", "mislabeled": True},
        bad_row,
    ]
    with pytest.raises(TagError, match=message):
        store.merge(DS, rows)
    assert snapshot(store) == before


def test_merge_adds_new_categories_in_its_own_transaction(store: TagStore) -> None:
    before = snapshot(store)
    with pytest.raises(TagError, match="ghost"):  # one row names a category nobody adds: nothing at all changes
        store.merge(DS, [{"id": "1", "categories": {"fresh": True, "ghost": True}}], new_categories=["fresh"])
    assert snapshot(store) == before
    assert "fresh" not in store.categories(DS)
    with pytest.raises(TagError, match="already has the category"):
        store.merge(DS, [{"id": "1"}], new_categories=["Blurry"])
    assert store.merge(DS, [{"id": "1", "categories": {"fresh": True}}], new_categories=["fresh"]) == 1
    assert store.categories(DS)[-1] == "fresh" and row(store, "1")["fresh"]


# ------------------------------------------------------------------------------------------------------------
# Example ids: one rule (analysis.normalize.label_text) for writing and reading
# ------------------------------------------------------------------------------------------------------------


def test_ids_are_stored_normalized_so_any_spelling_finds_the_example(store: TagStore) -> None:
    store.edit(DS, "3.0", note="written as 3.0")
    store.edit(DS, 7.0, categories={"blurry": True})
    store.edit(DS, " 12 ", mislabeled=True)
    assert store.tags(DS)["id"].tolist() == ["12", "3", "7"]
    assert row(store, 3)["note"] == "written as 3.0"  # type: ignore[arg-type]
    assert row(store, "003")["note"] == "written as 3.0"
    assert row(store, "7")["blurry"] and row(store, 7.0)["blurry"]  # type: ignore[arg-type]
    assert row(store, "12")["mislabeled"]
    store.edit(DS, 3, note="edited as 3")  # the same example, not a second one
    assert store.tags(DS, ids=["3"])["note"].tolist() == ["edited as 3"]
    assert set(store.history(DS)["id"]) == {"3", "7", "12"}
    assert store.undo(DS) == "undid ana's edit of example '3' (note)"


def test_merge_normalizes_ids_and_sees_two_spellings_of_one_id_as_a_repeat(store: TagStore) -> None:
    assert store.merge(DS, [{"id": 5.0, "note": "five"}, {"id": "006", "note": "six"}]) == 2
    assert store.tags(DS, ids=[5, 6])["note"].tolist() == ["five", "six"]
    before = snapshot(store)
    with pytest.raises(TagError, match=r"row 2: example id '5' appears more than once"):
        store.merge(DS, [{"id": "5", "note": "a"}, {"id": "5.0", "note": "b"}])
    assert snapshot(store) == before


@pytest.mark.parametrize("example_id", ["", "   ", None, float("nan"), pd.NA])
def test_a_blank_example_id_is_refused(store: TagStore, example_id: object) -> None:
    with pytest.raises(TagError, match="example id must not be blank"):
        store.edit(DS, example_id, note="x")  # type: ignore[arg-type]
    with pytest.raises(TagError, match="example id must not be blank"):
        store.merge(DS, [{"id": example_id, "note": "x"}])
    with pytest.raises(TagError, match="example id must not be blank"):
        store.tags(DS, ids=[example_id])  # type: ignore[list-item]
    assert store.tags(DS).empty and store.history(DS).empty


@pytest.mark.parametrize("example_id", [["1"], {"id": 1}, (1,), {1}])
def test_an_example_id_that_is_not_one_value_is_refused(store: TagStore, example_id: object) -> None:
    with pytest.raises(TagError, match="example id must be a text or a number"):
        store.edit(DS, example_id, note="x")  # type: ignore[arg-type]
    with pytest.raises(TagError, match=r"example id must be a text or a number"):
        store.merge(DS, [{"id": example_id}])
    assert store.tags(DS).empty


# ------------------------------------------------------------------------------------------------------------
# Concurrent connections and threads
# ------------------------------------------------------------------------------------------------------------


def test_two_connections_editing_different_fields_of_one_example_keep_both(new_store) -> None:
    with new_store(user="ana") as ana, new_store(user="ben") as ben:
        ana.add_category(DS, "blurry")
        ana.add_category(DS, "occluded")
        stale = ben.tags(DS)  # ben's page shows the state before ana's edits
        assert stale.empty
        ana.edit(DS, "1", note="ana's note")
        ben.edit(DS, "1", mislabeled=True)
        ana.edit(DS, "1", categories={"blurry": True})
        ben.edit(DS, "1", categories={"occluded": True}, corrected_label="9")
        for store in (ana, ben):
            tags = row(store, "1")
            assert (tags["note"], tags["mislabeled"], tags["corrected_label"]) == ("ana's note", True, "9")
            assert tags["blurry"] and tags["occluded"]
        history = ana.history(DS)
        assert set(history["user"]) == {"ana", "ben"}
        assert set(history["field"]) == {
            "reviewed",
            "note",
            "mislabeled",
            "blurry",
            "occluded",
            "corrected_label",
        }
        assert history["change_id"].nunique() == 4


def test_one_store_shared_by_threads(store: TagStore) -> None:
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(50):
                store.edit(DS, f"t{thread}-{i}", categories={"blurry": True}, note=str(thread))
                store.tags(DS, ids=[f"t{thread}-{i}"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    frame = store.tags(DS)
    assert len(frame) == 200 and frame["blurry"].all()


# ------------------------------------------------------------------------------------------------------------
# Opening and closing
# ------------------------------------------------------------------------------------------------------------


def test_a_store_offers_the_interface(store: TagStore) -> None:
    assert isinstance(store, TagStore)


def test_a_closed_store_refuses_work(new_store) -> None:
    store = new_store()
    store.close()
    store.close()
    with pytest.raises(TagError, match="closed"):
        store.categories(DS)


def test_default_db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ERRORSCOPE_DB", raising=False)
    assert default_db_path() == tmp_path / "errorscope.db"
    monkeypatch.setenv("ERRORSCOPE_DB", "shared/team.db")
    assert default_db_path() == tmp_path / "shared" / "team.db"
    monkeypatch.setenv("ERRORSCOPE_DB", str(tmp_path / "abs.db"))
    assert default_db_path() == tmp_path / "abs.db"


# ------------------------------------------------------------------------------------------------------------
# SQLite files: kill -9 and processes sharing a file (specific to the SQLite store)
# ------------------------------------------------------------------------------------------------------------


EDIT_FOREVER = """
import sys
from analysis.tags import SQLiteTagStore
store = SQLiteTagStore(sys.argv[1], user="child", synchronous=sys.argv[2])
i = 0
while True:
    store.edit("digits", f"ex{i}", categories={"blurry": True}, note=f"note {i}")
    print(f"ok {i}", flush=True)
    i += 1
"""

EDIT_THOUSAND = """
import sys
from analysis.tags import SQLiteTagStore
path, category = sys.argv[1], sys.argv[2]
# Lost updates do not depend on the sync level; NORMAL keeps this test fast on disks with slow syncs.
store = SQLiteTagStore(path, user=category, synchronous="NORMAL")
print("ready", flush=True)
sys.stdin.readline()
for i in range(1000):
    store.edit("digits", f"ex{i}", categories={category: True})
print("done", flush=True)
"""


@pytest.fixture
def start():
    """Start ``python -c code args`` in the project folder; its stdout lines arrive in a queue.

    Every child still running at the end of the test is killed, and its pipes are closed.
    """
    started: list[subprocess.Popen] = []

    def start_child(code: str, *args: str, stdin: int | None = None) -> tuple[subprocess.Popen, queue.Queue]:
        proc, lines = _start(code, *args, stdin=stdin)
        started.append(proc)
        return proc, lines

    yield start_child
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _start(code: str, *args: str, stdin: int | None = None) -> tuple[subprocess.Popen, queue.Queue]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line.strip())
        lines.put(None)  # end of output

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def next_line(proc: subprocess.Popen, lines: queue.Queue, deadline: float) -> str:
    try:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        proc.kill()
        pytest.fail("the child process printed nothing before the deadline")
    if line is None:
        pytest.fail(f"the child process ended early: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
    return line


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_acknowledged_edits_survive_kill_9(db: Path, synchronous: str, start) -> None:
    with SQLiteTagStore(db) as setup:
        setup.add_category(DS, "blurry")
    proc, lines = start(EDIT_FOREVER, str(db), synchronous)
    deadline = time.monotonic() + 20
    acknowledged = set()
    while len(acknowledged) < 40:
        acknowledged.add(int(next_line(proc, lines, deadline).removeprefix("ok ")))
    proc.kill()  # SIGKILL, in the middle of its stream of edits
    assert proc.wait(timeout=10) == -9
    while (line := lines.get(timeout=10)) is not None:  # acknowledged just before the kill
        acknowledged.add(int(line.removeprefix("ok ")))

    with SQLiteTagStore(db) as reopened:
        frame = reopened.tags(DS).set_index("id")
        for i in acknowledged:
            assert frame.loc[f"ex{i}", "blurry"] and frame.loc[f"ex{i}", "note"] == f"note {i}"
        assert len(frame) in (len(acknowledged), len(acknowledged) + 1)  # at most one unacknowledged commit
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_two_processes_writing_at_once_lose_no_edit(db: Path, start) -> None:
    with SQLiteTagStore(db) as setup:
        setup.add_category(DS, "a")
        setup.add_category(DS, "b")
    children = [start(EDIT_THOUSAND, str(db), name, stdin=subprocess.PIPE) for name in ("a", "b")]
    deadline = time.monotonic() + 30
    for proc, lines in children:
        assert next_line(proc, lines, deadline) == "ready"
    for proc, _ in children:  # both open: let them go together
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    for proc, lines in children:
        assert next_line(proc, lines, deadline) == "done"
        assert proc.wait(timeout=10) == 0, proc.stderr.read()  # type: ignore[union-attr]

    with SQLiteTagStore(db) as reopened:
        frame = reopened.tags(DS)
        assert len(frame) == 1000
        assert frame["a"].all() and frame["b"].all() and frame["reviewed"].all()
        fields = reopened.history(DS)["field"].value_counts().to_dict()
        assert fields == {"a": 1000, "b": 1000, "reviewed": 1000}


# ------------------------------------------------------------------------------------------------------------
# SQLite files: schema versions and the paths refused (specific to the SQLite store)
# ------------------------------------------------------------------------------------------------------------


# The version-1 schema exactly as it was: no history tables, no examples.updated_by.
SCHEMA_V1 = """
CREATE TABLE datasets (dataset_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets (dataset_id),
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX categories_name ON categories (dataset_id, name COLLATE NOCASE);
CREATE TABLE examples (
    example_key INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets (dataset_id),
    example_id TEXT NOT NULL,
    reviewed INTEGER NOT NULL DEFAULT 0 CHECK (reviewed IN (0, 1)),
    mislabeled INTEGER NOT NULL DEFAULT 0 CHECK (mislabeled IN (0, 1)),
    corrected_label TEXT,
    note TEXT,
    updated_at TEXT,
    UNIQUE (dataset_id, example_id)
);
CREATE TABLE example_categories (
    example_key INTEGER NOT NULL REFERENCES examples (example_key) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (category_id) ON DELETE CASCADE,
    PRIMARY KEY (example_key, category_id)
) WITHOUT ROWID;
CREATE INDEX example_categories_category ON example_categories (category_id, example_key);
INSERT INTO datasets VALUES (1, 'digits');
INSERT INTO categories (dataset_id, name) VALUES (1, 'blurry'), (1, 'occluded');
INSERT INTO examples VALUES (1, 1, '17', 1, 1, '7', 'old note', '2024-05-01T10:00:00+00:00');
INSERT INTO examples VALUES (2, 1, '18', 1, 0, NULL, NULL, '2024-05-01T10:01:00.5+00:00');
INSERT INTO examples VALUES (3, 1, '19', 0, 0, NULL, 'no time', NULL);
INSERT INTO example_categories VALUES (1, 2), (2, 1), (3, 1);
PRAGMA user_version = 1;
"""


def test_a_version_1_file_is_migrated_and_keeps_its_data(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA_V1)
    conn.close()
    with SQLiteTagStore(db, user="ana") as store:
        assert store.categories(DS) == ["blurry", "occluded"]
        frame = store.tags(DS)
        assert frame[["id", "reviewed", "mislabeled", "corrected_label", "note", "updated_by"]].to_dict(
            "records"
        ) == [
            {"id": "17", "reviewed": True, "mislabeled": True, "corrected_label": "7", "note": "old note",
             "updated_by": None},
            {"id": "18", "reviewed": True, "mislabeled": False, "corrected_label": None, "note": None,
             "updated_by": None},
            {"id": "19", "reviewed": False, "mislabeled": False, "corrected_label": None, "note": "no time",
             "updated_by": None},
        ]  # fmt: skip
        assert frame["occluded"].tolist() == [True, False, False]
        assert frame["blurry"].tolist() == [False, True, True]
        assert frame["updated_at"].tolist()[:2] == [
            pd.Timestamp("2024-05-01T10:00:00Z"),
            pd.Timestamp("2024-05-01T10:01:00.5Z"),
        ]
        assert pd.isna(frame["updated_at"].iloc[2])
        assert store.history(DS).empty
        store.edit(DS, "17", note="new note")
        assert row(store, "17")["updated_by"] == "ana"
        assert store.history(DS)["old"].tolist() == ["old note"]
        assert store.undo(DS) == "undid ana's edit of example '17' (note)"
        assert row(store, "17")["note"] == "old note"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_file_from_a_newer_errorscope_is_refused(db: Path) -> None:
    SQLiteTagStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    with pytest.raises(TagError, match=r"schema version 3.*upgrade errorscope") as info:
        SQLiteTagStore(db)
    assert str(db) in str(info.value)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TagError, match="is a folder") as info:
        SQLiteTagStore(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    path.write_text("id,y_true,y_pred\n1,cat,dog\n")
    with pytest.raises(TagError, match="not a SQLite database") as info:
        SQLiteTagStore(path)
    assert str(path) in str(info.value)
    assert path.read_text() == "id,y_true,y_pred\n1,cat,dog\n"


def test_another_programs_database_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(TagError, match="not an errorscope tag store"):
        SQLiteTagStore(other)
    with sqlite3.connect(other) as conn:  # refused before anything was changed
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    conn.close()
    with pytest.raises(TagError, match="does not exist"):
        SQLiteTagStore(tmp_path / "no such folder" / "tags.db")


def test_an_empty_file_becomes_a_store_and_settings_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with SQLiteTagStore(path) as store:
        store.add_category(DS, "blurry")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_open_store_opens_a_path_as_a_sqlite_file(db: Path) -> None:
    with open_store(str(db), user="ana") as store:
        assert isinstance(store, SQLiteTagStore) and store.path == db and store.user == "ana"
    with open_store(db) as store:
        assert isinstance(store, SQLiteTagStore)
