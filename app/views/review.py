"""Review: the error-analysis spreadsheet. A sample of mistakes, one checkbox column per error category.

Every edit is saved to the tag store in the editor's on_change callback, before the page runs again; the grid is
rebuilt from the database on each run, so a refresh or a restart shows exactly what was saved.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import TagError
from analysis.review import review_sample, split_mistakes, split_rows, tagged_ids
from app import slice_filter, widgets

cur = widgets.require()
preds = cur.preds
store = widgets.store()
dataset = cur.dataset
st.title("Review mistakes")
MISLABELED = widgets.MISLABELED

@st.cache_resource(show_spinner="Reading the split for correct predictions (once: the next samples come from "
                   "memory)...", max_entries=4)
def _split_rows(key: str, _preds, split: str):
    return split_rows(_preds, split)


@st.cache_resource(show_spinner="Reading the split's mistakes...", max_entries=4)
def _split_mistakes(key: str, _preds, split: str):
    return split_mistakes(_preds, split)


@st.cache_data(show_spinner="Drawing the sample...", max_entries=32)
def _sample(key: str, _preds, split, n, seed, stratify, correct, true_class, pred_class, ids, exclude,
            slice_key: str = "", _where=None):
    return review_sample(_preds, split=split, n=n, seed=seed, stratify=stratify, correct=correct,
                         true_class=true_class, pred_class=pred_class, ids=list(ids) if ids is not None else None,
                         exclude_ids=list(exclude), where=_where,
                         rows=_split_rows(key, _preds, split) if correct else _split_mistakes(key, _preds, split))


# --- the sample -------------------------------------------------------------------------------------------
widgets.apply_review_request()  # "review these" from another page: its filters, set before the widgets exist
with st.sidebar:
    st.subheader("Sample")
    split = widgets.pick_split(preds, key="rv_split")
    n = st.number_input("Mistakes to review", min_value=1, max_value=2000, value=100, step=10, key="rv_n")
    seed = st.number_input("Seed", min_value=0, value=0, step=1, key="rv_seed",
                           help="The same seed draws the same sample, today and after a restart.")
    stratify = st.checkbox("Stratify by true class", key="rv_stratify",
                           help="Sample each true class in proportion to its mistakes")
    correct = st.number_input("Also mix in correct predictions", min_value=0, max_value=500, value=0, step=5,
                              key="rv_correct", help="Label errors hide among correct predictions too")
    classes = [None, *preds.classes]
    true_class = st.selectbox("True class", classes, format_func=lambda c: "any" if c is None else c, key="rv_true")
    pred_class = st.selectbox("Predicted class", classes, format_func=lambda c: "any" if c is None else c,
                              key="rv_pred")
    categories = store.categories(dataset)
    category = st.selectbox("Tagged with", [None, *categories, MISLABELED], key="rv_cat",
                            format_func=lambda c: "any" if c is None else widgets.category_name(c))
    unreviewed = st.checkbox("Only not yet reviewed", key="rv_unreviewed")

# the tags are read only for what this run shows: a filter by category, and the sample's own rows
if category == MISLABELED:  # label errors hide among correct predictions too: show those as well
    ids, correct = tuple(sorted(tagged_ids(store, dataset, mislabeled=True))), max(int(correct), int(n))
else:
    ids = tuple(sorted(tagged_ids(store, dataset, category=category))) if category is not None else None
# not yet reviewed: drawn among the others, so the sample keeps its size as the review goes on
exclude = tuple(sorted(tagged_ids(store, dataset, reviewed=True))) if unreviewed else ()
in_slice = slice_filter.where(cur)  # the slice chosen on the Slices page, if any
sample = _sample(cur.key, preds, split, int(n), int(seed), stratify, int(correct), true_class, pred_class, ids,
                 exclude, slice_filter.cache_key(in_slice), in_slice)
sample = widgets.with_texts(cur, sample)
tags = store.tags(dataset, sample["id"].tolist()).set_index("id").reindex(sample["id"])  # NaN: never tagged

# --- categories -------------------------------------------------------------------------------------------
with st.expander("Error categories" + (f" ({len(categories)})" if categories else " — add the causes you see"),
                 expanded=not categories):
    add, rename, remove = st.columns(3)
    with add.form("add_category", clear_on_submit=True, border=False):
        name = st.text_input("New category", placeholder="e.g. blurry, dog taken for cat")
        if st.form_submit_button("Add", type="primary") and name.strip():
            try:
                store.add_category(dataset, name.strip())
                st.rerun()
            except TagError as exc:
                st.error(widgets.plain(exc))
    if categories:
        with rename.form("rename_category", clear_on_submit=True, border=False):
            old = st.selectbox("Rename", categories)
            new = st.text_input("to")
            if st.form_submit_button("Rename") and new.strip():
                try:
                    store.rename_category(dataset, old, new.strip())
                    st.rerun()
                except TagError as exc:
                    st.error(widgets.plain(exc))
        with remove.form("remove_category", border=False):
            gone = st.selectbox("Remove", categories)
            force = st.checkbox("also remove its tags", help="A category that still has tags is kept unless ticked")
            if st.form_submit_button("Remove"):
                try:
                    store.remove_category(dataset, gone, force=force)
                    st.rerun()
                except TagError as exc:
                    st.error(widgets.plain(exc))

if st.session_state.get("tag_error"):
    st.error(widgets.plain(st.session_state.pop("tag_error")), icon=":material/error:")

if sample.empty:
    if not preds.counts.where(split=split).labeled().rows:
        st.info(f"The {widgets.SPLIT_LABELS[split]} split has no labeled examples to review.")
    elif true_class or pred_class or category or unreviewed or in_slice:
        st.info("No mistakes match these filters. Loosen them in the sidebar.")
    else:
        st.success(f"No mistakes in the {widgets.SPLIT_LABELS[split]} split: nothing to review.")
    st.stop()

# --- the sheet: built from the database on every run --------------------------------------------------------
ids_shown = sample["id"].tolist()
sheet = pd.DataFrame({"id": ids_shown})
if widgets.has_pictures(cur):
    sheet["image"] = [widgets.picture_uri(cur, row) for _, row in sample.iterrows()]
if widgets.has_text(cur):
    sheet["text"] = sample["text"].to_numpy()
sheet["true"] = sample["y_true"].to_numpy()
sheet["predicted"] = sample["y_pred"].to_numpy()
if preds.columns.probs:
    sheet["confidence"] = sample["confidence"].to_numpy()
for c in categories:
    sheet[f"cat:{c}"] = tags[c].eq(True).to_numpy()
sheet["mislabeled"] = tags["mislabeled"].eq(True).to_numpy()
sheet["corrected_label"] = [v if isinstance(v, str) else None for v in tags["corrected_label"]]
sheet["note"] = [v if isinstance(v, str) else "" for v in tags["note"]]
sheet["reviewed"] = tags["reviewed"].eq(True).to_numpy()
if sample["correct"].any():
    sheet["correct"] = sample["correct"].to_numpy()
meta = [c for c in preds.columns.metadata if c in sample.columns]
for c in meta:
    sheet[f"meta:{c}"] = sample[c].to_numpy()

reviewed = int(sheet["reviewed"].sum())
st.progress(reviewed / len(sheet), text=f"Reviewed {reviewed} of {len(sheet)} sampled examples")
if st.session_state.get("tag_message"):
    st.toast(widgets.plain(st.session_state.pop("tag_message")))
mode = st.segmented_control("View", ["Grid", "One at a time"], default="Grid", key="rv_mode",
                            help="The grid for bulk work; one at a time, with keys, for a fast review") or "Grid"

editor_key = f"sheet|{dataset}|{split}|{hash(tuple(ids_shown))}|{'/'.join(categories)}"


def save() -> None:
    """Write the grid's edits to the tag store (runs before the page reruns)."""
    changes = st.session_state[editor_key].get("edited_rows", {})
    try:
        for pos, edit in changes.items():
            example = ids_shown[int(pos)]
            fields = {}
            cats = {col[4:]: bool(v) for col, v in edit.items() if col.startswith("cat:")}
            if cats:
                fields["categories"] = cats
            if "mislabeled" in edit:
                fields["mislabeled"] = bool(edit["mislabeled"])
            if "corrected_label" in edit:
                fields["corrected_label"] = edit["corrected_label"] or None
            if "note" in edit:
                fields["note"] = edit["note"] or None
            if "reviewed" in edit:
                fields["reviewed"] = bool(edit["reviewed"])
            if fields:
                store.edit(dataset, example, **fields)
            st.session_state[f"closer_{split}"] = example  # the closer look follows the row last edited
    except TagError as exc:
        st.session_state["tag_error"] = str(exc)


def _edit(example: str, **fields) -> None:
    try:
        store.edit(dataset, example, **fields)
    except TagError as exc:
        st.session_state["tag_error"] = str(exc)


def _ticked(value: object) -> bool:
    return bool(pd.notna(value) and value)


def _move(key: str, to: int) -> None:
    st.session_state[key] = max(0, min(to, len(ids_shown) - 1))


def _undo() -> None:
    what = store.undo(dataset)
    st.session_state["tag_message"] = f"Undone: {what}" if what else "Nothing to undo"


def one_at_a_time(sample: pd.DataFrame, tags: pd.DataFrame, categories: list[str], meta: list[str]) -> None:
    """One example, large, with keys: 1-9 toggle a category, M mislabeled, J/K next and previous, U undo."""
    key = f"rv_pos|{editor_key}"
    pos = min(int(st.session_state.get(key, 0)), len(ids_shown) - 1)
    row, saved = sample.iloc[pos], tags.iloc[pos]
    example = str(row["id"])
    where, what = st.columns([3, 2], gap="large")
    with where:
        st.caption(f"Example {pos + 1} of {len(ids_shown)} · id **{widgets.plain(example)}**"
                   + (" · a correct prediction" if row["correct"] else "")
                   + (" · reviewed" if _ticked(saved["reviewed"]) else ""))
        if widgets.has_pictures(cur):
            picture = widgets.picture(cur, row)
            if picture is None:
                st.caption(":material/broken_image: image not found or outside the data folder")
            else:
                st.image(picture, width=360)
        if widgets.has_text(cur) and isinstance(row.get("text"), str):
            st.text(row["text"])
        if meta:
            st.dataframe(pd.DataFrame({"column": meta, "value": [str(row[c]) for c in meta]}), hide_index=True)
    with what:
        given, predicted = st.columns(2)
        given.metric("True label", widgets.plain(row["y_true"]))
        predicted.metric("Predicted", widgets.plain(row["y_pred"]),
                         help=None if pd.isna(row.get("confidence")) else f"confidence {row['confidence']:.3f}")
        for i, c in enumerate(categories[:9], start=1):
            on = _ticked(saved[c])
            st.button(f"{c}", key=f"rv_cat_{i}", shortcut=str(i), type="primary" if on else "secondary",
                      icon=":material/check_box:" if on else ":material/check_box_outline_blank:",
                      on_click=_edit, args=(example,), kwargs={"categories": {c: not on}}, width="stretch")
        if not categories:
            st.caption("Add error categories above: keys 1-9 then tick them.")
        mislabeled = _ticked(saved["mislabeled"])
        st.button("mislabeled (the ground truth is wrong)", key="rv_mislabeled", shortcut="M",
                  type="primary" if mislabeled else "secondary", width="stretch",
                  icon=":material/check_box:" if mislabeled else ":material/check_box_outline_blank:",
                  on_click=_edit, args=(example,), kwargs={"mislabeled": not mislabeled})
        labels = [None, *preds.classes]
        fixed = saved["corrected_label"] if isinstance(saved["corrected_label"], str) else None
        fix_key = f"rv_fix|{example}|{fixed}"
        st.selectbox("Corrected label (ticks mislabeled)", labels, index=labels.index(fixed) if fixed in labels
                     else 0, format_func=lambda v: "none" if v is None else v, key=fix_key,
                     on_change=lambda: _edit(example, corrected_label=st.session_state[fix_key]))
        back, forward, undo = st.columns(3)
        back.button("Back", key="rv_prev", shortcut="K", icon=":material/arrow_back:", disabled=pos == 0,
                    on_click=_move, args=(key, pos - 1), width="stretch")
        forward.button("Next", key="rv_next", shortcut="J", icon=":material/arrow_forward:",
                       disabled=pos == len(ids_shown) - 1, on_click=_move, args=(key, pos + 1), width="stretch")
        undo.button("Undo", key="rv_undo", shortcut="U", icon=":material/undo:", on_click=_undo, width="stretch")
        st.caption("Keys: **1-9** toggle a category · **M** mislabeled · **J** next · **K** previous · **U** undo")


config = {
    "id": st.column_config.TextColumn("id", disabled=True, pinned=True),
    "image": st.column_config.ImageColumn("image", width="small"),
    "text": st.column_config.TextColumn("text", disabled=True, width="large"),
    "true": st.column_config.TextColumn("true", disabled=True),
    "predicted": st.column_config.TextColumn("predicted", disabled=True),
    "confidence": st.column_config.NumberColumn("confidence", disabled=True, format="%.2f"),
    "correct": st.column_config.CheckboxColumn("correct", disabled=True, help="a correct prediction mixed in"),
    "mislabeled": st.column_config.CheckboxColumn("mislabeled", help="the ground truth is wrong"),
    "corrected_label": st.column_config.SelectboxColumn("corrected label", options=list(preds.classes)),
    "note": st.column_config.TextColumn("note", width="medium"),
    "reviewed": st.column_config.CheckboxColumn("reviewed",
                                                help="ticked by an edit that tags the row; tick to mark a row seen"),
}
for c in categories:
    config[f"cat:{c}"] = st.column_config.CheckboxColumn(c, help=f"error category: {widgets.plain(c)}")
for c in meta:
    config[f"meta:{c}"] = st.column_config.Column(c, disabled=True)

if mode == "One at a time":
    one_at_a_time(sample, tags, categories, meta)
    st.stop()
st.data_editor(sheet, key=editor_key, on_change=save, hide_index=True, column_config=config,
               height=min(38 + 35 * len(sheet), 600), row_height=widgets.ROW_PX)
if not categories:
    st.caption("Add error categories above to get one checkbox column per category.")

# --- a closer look, and undo --------------------------------------------------------------------------------
look, undo = st.columns([4, 1])
with look:
    if st.session_state.get(f"closer_{split}") not in ids_shown:
        st.session_state.pop(f"closer_{split}", None)
    chosen = st.selectbox("Look closer at", ids_shown, key=f"closer_{split}",
                          help="Follows the row you last edited in the grid")
    row = sample.loc[sample["id"] == chosen].iloc[0]
    a, b = st.columns([1, 2])
    if widgets.has_pictures(cur):
        picture = widgets.picture(cur, row)
        if picture is not None:
            a.image(picture, width=240)
    with b:
        st.caption(f"**{widgets.plain(row['id'])}** — true {widgets.plain(row['y_true'])}, "
                   f"predicted {widgets.plain(row['y_pred'])}")
        if widgets.has_text(cur) and isinstance(row.get("text"), str):
            st.text(row["text"])
        details = {c: row[c] for c in meta}
        if details:
            st.dataframe(pd.DataFrame([details]), hide_index=True)
with undo:
    st.button("Undo my last edit", icon=":material/undo:", on_click=_undo,
              help=f"undo the last edit of {widgets.plain(store.user)}")

with st.expander("Who changed what, and when"):
    changes = store.history(dataset, limit=200)
    if changes.empty:
        st.caption("No changes yet: the edits above, of everyone tagging this dataset, are listed here.")
    else:
        st.dataframe(changes[["at", "user", "id", "field", "old", "new", "kind", "undone"]], hide_index=True,
                     column_config={"at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss")})
