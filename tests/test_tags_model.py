"""Tests of the tag store's rules without a database (analysis/tags/model.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import TagError
from analysis.tags.model import (
    UNSET,
    Change,
    Entry,
    Patch,
    State,
    as_bool,
    as_id,
    as_limit,
    as_name,
    as_text,
    check_new_category,
    diff,
    edit_patch,
    merge_patches,
    resolve_merge,
    undo_message,
    undo_patches,
)

NAMES = {1: "blurry", 2: "occluded"}  # category id -> name

# ------------------------------------------------------------------------------------------------------------
# Value checks
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("17", "17"), (" 17 ", "17"), (3, "3"), (3.0, "3"), ("3.0", "3"), ("003", "3"), (np.int64(4), "4"),
     (1.5, "1.5"), (True, "1"), ("img_01.png", "img_01.png"), (b"7", "7")],
)
def test_ids_follow_the_one_label_rule(value: object, expected: str) -> None:
    assert as_id(value) == expected


@pytest.mark.parametrize("value", ["", " \t", None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_blank_and_missing_ids_are_refused(value: object) -> None:
    with pytest.raises(TagError, match="example id must not be blank"):
        as_id(value)


@pytest.mark.parametrize("value", [[1], {"a": 1}, (1, 2), {3}, object()])
def test_ids_that_are_not_one_value_are_refused(value: object) -> None:
    with pytest.raises(TagError, match=f"example id must be a text or a number, got .* \\({type(value).__name__}\\)"):
        as_id(value)


def test_names_flags_texts_and_limits() -> None:
    assert as_name("  digits ", "dataset name") == "digits"
    for bad in ("  ", 3, None):
        with pytest.raises(TagError, match="dataset name must be a non-blank string"):
            as_name(bad, "dataset name")
    assert [as_bool(v, "x") for v in (True, False, 1, 0, np.bool_(True), np.int64(0))] == [True, False, True,
                                                                                            False, True, False]
    for bad in ("yes", 2, None, 1.0):
        with pytest.raises(TagError, match="x must be True or False"):
            as_bool(bad, "x")
    assert [as_text(v, "note") for v in ("a ", "  ", None, float("nan"), pd.NA, 7)] == ["a ", None, None, None, None,
                                                                                        "7"]
    with pytest.raises(TagError, match=r"note must be a string or None, got 3.5 \(float\)"):
        as_text(3.5, "note")
    assert (as_limit(None), as_limit(np.int64(3))) == (None, 3)
    with pytest.raises(TagError, match="limit must be a non-negative integer"):
        as_limit(-1)


def test_new_category_names_are_trimmed_and_checked() -> None:
    assert check_new_category("d", ["blurry"], " occluded ") == "occluded"
    with pytest.raises(TagError, match="dataset 'd' already has the category 'blurry'"):
        check_new_category("d", ["blurry"], "BLURRY")
    with pytest.raises(TagError, match="fixed column"):
        check_new_category("d", [], "Note")
    with pytest.raises(TagError, match="category name must be a non-blank string"):
        check_new_category("d", [], " ")


# ------------------------------------------------------------------------------------------------------------
# Patches from the callers' values
# ------------------------------------------------------------------------------------------------------------


def test_an_edit_patch_marks_reviewed_and_leaves_unset_texts() -> None:
    patch, names = edit_patch(3.0, {"blurry": True}, reviewed=None, mislabeled=None, corrected_label=UNSET,
                              note="  ")
    assert patch == Patch("3", reviewed=True, mislabeled=None, corrected_label=UNSET, note=None)
    assert names == {"blurry": True}
    patch, _ = edit_patch("4", None, reviewed=False, mislabeled=1, corrected_label=None, note=UNSET)
    assert (patch.reviewed, patch.mislabeled, patch.corrected_label, patch.note) == (False, True, None, UNSET)


def test_merge_patches_skip_missing_flags_and_ticks_and_name_the_bad_row() -> None:
    patches, names = merge_patches([
        {"id": "1", "mislabeled": float("nan"), "note": None, "categories": {"blurry": True, "occluded": None}},
        {"id": 2.0, "corrected_label": "5"},
    ])
    assert [p.example_id for p in patches] == ["1", "2"]
    assert (patches[0].mislabeled, patches[0].note, patches[0].corrected_label) == (None, None, UNSET)
    assert names == [{"blurry": True}, {}]
    with pytest.raises(TagError, match=r"row 2 \(id '2'\): mislabeled must be True or False"):
        merge_patches([{"id": "1"}, {"id": "2", "mislabeled": "perhaps"}])
    with pytest.raises(TagError, match="row 2: example id '1' appears more than once"):
        merge_patches([{"id": 1}, {"id": "001"}])
    with pytest.raises(TagError, match="row 1 must be a dict"):
        merge_patches([["1"]])  # type: ignore[list-item]


def test_a_merge_names_every_unknown_category_at_once() -> None:
    patches, names = merge_patches([{"id": "1", "categories": {"glare": True}}, {"id": "2", "categories": {"dust": 1}}])
    with pytest.raises(TagError, match=r"unknown categories 'dust', 'glare' .*; nothing was imported"):
        resolve_merge(patches, names, {"blurry": 1}, "d")
    patches, names = merge_patches([{"id": "1", "categories": {"blurry": False}}])
    resolve_merge(patches, names, {"blurry": 1}, "d")
    assert patches[0].categories == {1: False}


# ------------------------------------------------------------------------------------------------------------
# The diff
# ------------------------------------------------------------------------------------------------------------


def test_a_new_example_becomes_a_new_row_with_its_ticks() -> None:
    changes = diff([Patch("7", reviewed=True, note="n", categories={1: True, 2: False})], {}, NAMES)
    assert changes.entries == [
        Entry("7", "reviewed", None, 0, 1),
        Entry("7", "note", None, None, "n"),
        Entry("7", "blurry", 1, 0, 1),
    ]
    assert changes.new_rows == [("7", State(None, True, False, None, "n", {1}))]
    assert changes.new_row_ticks == [("7", 1)]
    assert (changes.column_updates, changes.tick_adds, changes.touched, changes.blank) == ({}, [], [], [])
    assert changes.changed_examples == 1


def test_an_existing_example_changes_only_the_fields_that_differ() -> None:
    state = State(key=10, reviewed=True, mislabeled=False, corrected_label=None, note="keep", ticks={1})
    patch = Patch("7", reviewed=True, mislabeled=True, note=UNSET, categories={1: True, 2: True})
    changes = diff([patch], {"7": state}, NAMES)
    assert changes.entries == [Entry("7", "mislabeled", None, 0, 1), Entry("7", "occluded", 2, 0, 1)]
    assert changes.column_updates == {"mislabeled": [(1, 10)]}
    assert (changes.tick_adds, changes.tick_removes, changes.touched, changes.blank) == ([(10, 2)], [], [10], [])
    assert changes.new_rows == [] and state.ticks == {1}  # the stored state is left as it was


def test_an_example_left_with_nothing_set_loses_its_record() -> None:
    state = State(key=4, reviewed=True, ticks={2})
    changes = diff([Patch("4", reviewed=False, categories={2: False})], {"4": state}, NAMES)
    assert changes.tick_removes == [(4, 2)] and changes.blank == [4]
    assert changes.column_updates == {"reviewed": [(0, 4)]}


def test_patches_that_change_nothing_give_an_empty_diff() -> None:
    state = State(key=1, reviewed=True, note="same")
    changes = diff([Patch("1", reviewed=True, note="same", categories={1: False}), Patch("2", reviewed=False)],
                   {"1": state}, NAMES)
    assert changes.entries == [] and changes.changed_examples == 0
    assert changes.new_rows == [] and changes.touched == []


def test_a_corrected_label_marks_the_example_mislabeled_unless_told() -> None:
    patch, _ = edit_patch("5", None, reviewed=None, mislabeled=None, corrected_label="3", note=UNSET)
    assert (patch.mislabeled, patch.corrected_label, patch.reviewed) == (True, "3", True)
    patch, _ = edit_patch("5", None, reviewed=None, mislabeled=False, corrected_label="3", note=UNSET)
    assert patch.mislabeled is False  # said explicitly: kept
    patch, _ = edit_patch("5", None, reviewed=None, mislabeled=None, corrected_label=None, note=UNSET)
    assert patch.mislabeled is None  # clearing the corrected label leaves the flag as it is


def test_an_edit_that_takes_away_the_last_tag_takes_back_its_review() -> None:
    ticked = State(key=3, reviewed=True, ticks={1})
    untick, _ = edit_patch("3", {"blurry": False}, reviewed=None, mislabeled=None, corrected_label=UNSET,
                           note=UNSET)
    untick.categories = {1: False}
    changes = diff([untick], {"3": ticked}, NAMES)
    assert changes.entries == [Entry("3", "reviewed", None, 1, 0), Entry("3", "blurry", 1, 1, 0)]
    assert changes.blank == [3]  # nothing left: the record goes

    flagged = State(key=4, reviewed=True, mislabeled=True)
    unflag, _ = edit_patch("4", None, reviewed=None, mislabeled=False, corrected_label=UNSET, note=UNSET)
    assert diff([unflag], {"4": flagged}, NAMES).column_updates == {"reviewed": [(0, 4)], "mislabeled": [(0, 4)]}

    told, _ = edit_patch("4", None, reviewed=True, mislabeled=False, corrected_label=UNSET, note=UNSET)
    assert diff([told], {"4": flagged}, NAMES).column_updates == {"mislabeled": [(0, 4)]}  # reviewed said: kept

    seen = State(key=5, reviewed=True, note="n")  # a tag left: still reviewed
    other, _ = edit_patch("5", None, reviewed=None, mislabeled=False, corrected_label=UNSET, note=UNSET)
    assert diff([other], {"5": seen}, NAMES).entries == []
    nothing = State(key=6, reviewed=True)  # reviewed alone, and an edit that changes nothing: kept
    assert diff([other], {"5": nothing}, NAMES).entries == []


# ------------------------------------------------------------------------------------------------------------
# Undo
# ------------------------------------------------------------------------------------------------------------


def test_undo_reverts_fields_still_as_the_change_left_them() -> None:
    entries = [  # newest first, as the history hands them over
        Entry("1", "blurry", 1, 0, 1),
        Entry("1", "note", None, "old", "new"),
        Entry("1", "reviewed", None, 0, 1),
        Entry("2", "occluded", 2, 1, 0),
    ]
    states = {"1": State(key=1, reviewed=True, note="edited since", ticks={1})}
    patches = undo_patches(entries, states, [1, 2])
    assert patches == [Patch("1", reviewed=False, categories={1: False}), Patch("2", categories={2: True})]


def test_undo_leaves_ticks_of_removed_categories() -> None:
    patches = undo_patches([Entry("1", "blurry", 1, 0, 1)], {"1": State(key=1, ticks={1})}, [2])
    assert patches == [Patch("1")]


def test_undo_messages() -> None:
    entries = [Entry("9", "blurry", 1, 0, 1), Entry("9", "reviewed", None, 0, 1)]
    assert undo_message(Change(1, "edit", "ana"), entries) == "undid ana's edit of example '9' (reviewed, blurry)"
    assert undo_message(Change(2, "merge", None), entries + [Entry("8", "note", None, None, "x")]) == (
        "undid an import of 2 example(s)"
    )
