"""Review: the error-analysis spreadsheet. A sample of mistakes, one checkbox column per error category.

Every edit is saved to the tag store in the editor's on_change callback, before the page runs again; the grid is
rebuilt from the database on each run, so a refresh or a restart shows exactly what was saved.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import TagError
from analysis.review import review_sample, tagged_ids
from app import widgets

cur = widgets.require()
preds = cur.preds
store = widgets.store()
dataset = cur.dataset
st.title("Review mistakes")
#: The "Tagged with" choice of examples marked mislabeled (categories are strings, so this cannot clash).
MISLABELED = ("mislabeled",)

@st.cache_data(show_spinner="Drawing the sample...", max_entries=32)
def _sample(key: str, _preds, split, n, seed, stratify, correct, true_class, pred_class, ids, exclude):
    return review_sample(_preds, split=split, n=n, seed=seed, stratify=stratify, correct=correct,
                         true_class=true_class, pred_class=pred_class, ids=list(ids) if ids is not None else None,
                         exclude_ids=list(exclude))


# --- the sample -------------------------------------------------------------------------------------------
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
                            format_func=lambda c: "any" if c is None else "mislabeled (a label error)"
                            if c == MISLABELED else c)
    unreviewed = st.checkbox("Only not yet reviewed", key="rv_unreviewed")

# the tags are read only for what this run shows: a filter by category, and the sample's own rows
if category == MISLABELED:  # label errors hide among correct predictions too: show those as well
    ids, correct = tuple(sorted(tagged_ids(store, dataset, mislabeled=True))), max(int(correct), int(n))
else:
    ids = tuple(sorted(tagged_ids(store, dataset, category=category))) if category is not None else None
# not yet reviewed: drawn among the others, so the sample keeps its size as the review goes on
exclude = tuple(sorted(tagged_ids(store, dataset, reviewed=True))) if unreviewed else ()
sample = _sample(cur.key, preds, split, int(n), int(seed), stratify, int(correct), true_class, pred_class, ids,
                 exclude)
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
    elif true_class or pred_class or category or unreviewed:
        st.info("No mistakes match these filters. Loosen them in the sidebar.")
    else:
        st.success(f"No mistakes in the {widgets.SPLIT_LABELS[split]} split: nothing to review.")
    st.stop()

# --- the sheet: built from the database on every run --------------------------------------------------------
ids_shown = sample["id"].tolist()
sheet = pd.DataFrame({"id": ids_shown})
if preds.columns.image:
    sheet["image"] = [widgets.image_uri(cur, v) for v in sample["image"]]
if preds.columns.text:
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
    except TagError as exc:
        st.session_state["tag_error"] = str(exc)


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

st.data_editor(sheet, key=editor_key, on_change=save, hide_index=True, column_config=config,
               height=min(38 + 35 * len(sheet), 600), row_height=widgets.ROW_PX)
if not categories:
    st.caption("Add error categories above to get one checkbox column per category.")

# --- a closer look, and undo --------------------------------------------------------------------------------
look, undo = st.columns([4, 1])
with look:
    chosen = st.selectbox("Look closer at", ids_shown, key=f"closer_{split}")
    row = sample.loc[sample["id"] == chosen].iloc[0]
    a, b = st.columns([1, 2])
    if preds.columns.image:
        picture = widgets.image_of(cur, row["image"])
        if picture is not None:
            a.image(picture, width=240)
    with b:
        st.caption(f"**{widgets.plain(row['id'])}** — true {widgets.plain(row['y_true'])}, "
                   f"predicted {widgets.plain(row['y_pred'])}")
        if preds.columns.text and isinstance(row.get("text"), str):
            st.text(row["text"])
        details = {c: row[c] for c in meta}
        if details:
            st.dataframe(pd.DataFrame([details]), hide_index=True)
with undo:
    if st.button("Undo my last edit", icon=":material/undo:",
                 help=f"undo the last edit of {widgets.plain(store.user)}"):
        what = store.undo(dataset)
        st.toast(f"Undone: {widgets.plain(what)}" if what else "Nothing to undo")
        st.rerun()

with st.expander("Who changed what, and when"):
    changes = store.history(dataset, limit=200)
    if changes.empty:
        st.caption("No changes yet: the edits above, of everyone tagging this dataset, are listed here.")
    else:
        st.dataframe(changes[["at", "user", "id", "field", "old", "new", "kind", "undone"]], hide_index=True,
                     column_config={"at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss")})
