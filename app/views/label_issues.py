"""Label issues: the examples whose given label is most likely wrong, one at a time, confirmed or dismissed by key.

A confirmation tags the example mislabeled with the corrected label (the model's suggestion unless changed) and
marks it reviewed; a dismissal marks it reviewed with the label kept. Both are saved in the tag store before the page
runs again, where Review, Tallies, the Overview's corrected metrics and the Gaps page see them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import ErrorscopeError, TagError
from analysis.label_issues import DEFAULT_METHOD, METHODS, label_issues
from analysis.multilabel import multilabel_issues
from app import slice_filter, widgets

cur = widgets.require()
preds = cur.preds
store = widgets.store()
dataset = cur.dataset
st.title("Likely label errors")
if not preds.columns.probs:
    st.info("Finding label errors needs the model's probabilities: one `p_<class>` column per class, "
            "predicted out of sample (cross-validated, or by a model that did not train on these examples). "
            "Open such a file on the **Data** page.")
    st.page_link("views/data.py", label="Go to the Data page", icon=":material/folder_open:")
    st.stop()

METHOD_LABELS = {m: m.replace("_", " ") for m in METHODS}


@st.cache_data(show_spinner="Scoring every task...", max_entries=8)
def _multilabel(key: str, _tasks, split: str) -> pd.DataFrame:
    return multilabel_issues(_tasks, split=split)


if cur.tasks is not None:
    with st.expander(f"Across all {len(cur.tasks.names)} tasks: examples ranked by the multi-label score"):
        st.caption("Each task scored one-vs-rest (the probability given to the example's label), the tasks "
                   "without a label left out, then averaged as cleanlab's multi-label score does. Below, the "
                   f"queue of task {widgets.plain(preds.source.task)} alone.")
        try:
            ranked = _multilabel(cur.key.rsplit("|", 1)[0], cur.tasks, widgets.pick_split(preds, key="ml_split"))
        except ErrorscopeError as exc:
            st.info(widgets.plain(exc))
        else:
            st.dataframe(ranked.head(200), hide_index=True, column_config={
                "score": st.column_config.NumberColumn("score", format="%.4f", help="lower = more likely wrong"),
                "labeled": st.column_config.NumberColumn("labeled tasks"),
                "worst": st.column_config.TextColumn("least believed task"),
                "worst_score": st.column_config.NumberColumn("its score", format="%.4f")})


@st.cache_data(show_spinner="Ranking the examples...", max_entries=16)
def _issues(key: str, _preds, split: str, method: str, top: int, include_correct: bool):
    return label_issues(_preds, split=split, method=method, top=top, include_correct=include_correct)


with st.sidebar:
    st.subheader("Queue")
    method = st.selectbox("Ranking", METHODS, index=METHODS.index(DEFAULT_METHOD), format_func=METHOD_LABELS.get,
                          key="li_method", help="How the examples are ordered, most likely wrong first; the "
                          "default was chosen by how many crowd-confirmed errors it ranks at the top (README).")
    top = st.number_input("Examples in the queue", min_value=10, max_value=5000, value=200, step=50, key="li_top")
    include_correct = st.checkbox("Include correct predictions", key="li_correct",
                                  help="Also rank examples the model predicted as labeled, when it was unsure "
                                       "of that label")
    hide_reviewed = st.checkbox("Hide reviewed", value=True, key="li_hide")

def with_tags(result) -> pd.DataFrame:
    """The queue with what the tag store holds of each example."""
    queue = result.issues
    queue = queue[queue["id"].isin(slice_filter.keep_ids(cur, queue["id"].tolist()))]  # the slice's, if any
    tags = store.tags(dataset, queue["id"].tolist()).set_index("id").reindex(queue["id"])  # NaN: never tagged
    queue = widgets.with_texts(cur, queue)  # from the texts file, when the data set has one
    return queue.assign(reviewed=tags["reviewed"].eq(True).to_numpy(),
                        mislabeled=tags["mislabeled"].eq(True).to_numpy(),
                        corrected=[v if isinstance(v, str) else None for v in tags["corrected_label"]])


# --- dev and test side by side -------------------------------------------------------------------------------
side_by_side = [s for s in ("dev", "test") if s in preds.splits] or [preds.splits[-1]]
queues = {}
for col, split in zip(st.columns(len(side_by_side)), side_by_side, strict=True):
    result = _issues(cur.key, preds, split, method, int(top), include_correct)
    queues[split] = (result, with_tags(result))
    done = queues[split][1]
    col.metric(f"{widgets.SPLIT_LABELS[split]}: estimated label errors", f"{result.estimated_errors:,}",
               border=True, help=f"From the confident joint of the model's probabilities, of "
                                 f"{preds.counts.where(split=split).labeled().rows:,} labeled examples")
    col.caption(f"{result.flagged:,} flagged by confident learning · in the queue of {len(done):,}: "
                f"{int(done['mislabeled'].sum()):,} confirmed mislabeled, "
                f"{int((done['reviewed'] & ~done['mislabeled']).sum()):,} kept")

split = st.segmented_control("Review the queue of", list(preds.splits), default=side_by_side[0],
                             format_func=widgets.SPLIT_LABELS.get, key="li_split") or side_by_side[0]
if split not in queues:
    result = _issues(cur.key, preds, split, method, int(top), include_correct)
    queues[split] = (result, with_tags(result))
result, queue = queues[split]
skipped = st.session_state.setdefault(f"li_skipped|{dataset}|{split}", [])
waiting = queue[~queue["id"].isin(skipped) & ~(queue["reviewed"] & hide_reviewed)]

if st.session_state.get("li_error"):
    st.error(widgets.plain(st.session_state.pop("li_error")), icon=":material/error:")
if queue.empty:
    st.success(f"No likely label errors in the {widgets.SPLIT_LABELS[split]} split with these settings.")
    st.stop()


def _save(example: str, **fields) -> None:
    try:
        store.edit(dataset, example, reviewed=True, **fields)
    except TagError as exc:
        st.session_state["li_error"] = str(exc)


def confirm(example: str, key: str) -> None:
    """Mislabeled, with the corrected label picked (the suggestion by default)."""
    _save(example, mislabeled=True, corrected_label=st.session_state[key])


def dismiss(example: str) -> None:
    """The given label is fine: reviewed, not mislabeled, no corrected label."""
    _save(example, mislabeled=False, corrected_label=None)


def skip(example: str) -> None:
    skipped.append(example)


# --- the example under review -----------------------------------------------------------------------------------
if waiting.empty:
    st.success(f"All {len(queue):,} examples of this queue are reviewed. Make it longer in the sidebar, or see "
               "them on the Review page.")
else:
    row = waiting.iloc[0]
    example = str(row["id"])
    st.progress(int(queue["reviewed"].sum()) / len(queue),
                text=f"Reviewed {int(queue['reviewed'].sum())} of {len(queue)} in the queue")
    picture, about = st.columns([1, 2], gap="large")
    with picture:
        image = widgets.picture(cur, row)
        if image is not None:
            st.image(image, width=260)
        elif widgets.has_pictures(cur):
            st.caption(":material/broken_image: image not found or outside the data folder")
        if widgets.has_text(cur) and isinstance(row.get("text"), str):
            st.text(row["text"])
    with about:
        st.caption(f"#{int(row['rank'])} of {len(queue)} · id **{widgets.plain(example)}**"
                   + (" · flagged by confident learning" if row["flagged"] else ""))
        given, suggested = st.columns(2)
        given.metric("Given label", widgets.plain(row["given"]))
        suggested.metric("Suggested label", widgets.plain(row["suggested"]),
                         help="The class the model believes most")
        st.caption(f"Score {row['score']:.4f} ({METHOD_LABELS[method]}; lower is more likely wrong) · "
                   f"model's probability of the given label {row['p_given']:.3f}")
        classes = list(preds.classes)
        pick_key = f"li_fix|{split}|{example}"
        st.selectbox("Corrected label", classes, index=classes.index(row["suggested"]), key=pick_key)
        yes, no, later = st.columns(3)
        yes.button("Mislabeled", type="primary", icon=":material/check:", shortcut="M", key="li_yes",
                   on_click=confirm, args=(example, pick_key), help="The given label is wrong: keep the corrected one")
        no.button("Label is fine", icon=":material/close:", shortcut="F", key="li_no", on_click=dismiss,
                  args=(example,), help="The given label is right")
        later.button("Skip", icon=":material/skip_next:", shortcut="S", key="li_skip", on_click=skip,
                     args=(example,), help="Decide later (back on the next visit)")
        st.caption("Keys: **M** mislabeled · **F** label is fine · **S** skip")

# --- the whole queue ------------------------------------------------------------------------------------------------
st.subheader("The queue")
table = queue[["rank", "id", "given", "suggested", "score", "flagged", "p_given", "reviewed", "mislabeled",
               "corrected", *(["text"] if widgets.has_text(cur) else [])]]
st.dataframe(table, hide_index=True, column_config={
    "rank": st.column_config.NumberColumn("rank", width="small"),
    "score": st.column_config.NumberColumn("score", format="%.4f", help="lower is more likely wrong"),
    "p_given": st.column_config.NumberColumn("p(given)", format="%.3f", help="the model's probability of the label"),
    "flagged": st.column_config.CheckboxColumn("flagged", help="flagged by confident learning"),
    "corrected": st.column_config.TextColumn("corrected label"),
    "text": st.column_config.TextColumn("text", width="large"),
})
st.page_link("views/review.py", label="See the confirmed ones on the Review page (filter: mislabeled)",
             icon=":material/checklist:")
if len(result.pairs):
    with st.expander("Estimated label errors by (given, suggested) pair"):
        st.dataframe(result.pairs, hide_index=True)
