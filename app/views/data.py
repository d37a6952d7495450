"""Data: open a predictions file, check how its columns were read, name the dataset, set human-level error."""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import ErrorscopeError, InputError, file_columns, guess_roles
from analysis.access import upload_folder, upload_path
from analysis.columns import ROLES
from analysis.demo import demo_config
from analysis.engine import ENGINES
from analysis.engine.spark import INSTALL
from analysis.tags import shown_target
from app import widgets

st.title("Data")

ROLE_HELP = {
    "y_true": "true class (blank = unlabeled)", "y_pred": "predicted class (else the argmax of p_*)",
    "id": "unique example id (else the row number)", "split": "train, train_dev, dev or test (else all dev)",
    "weight": "example weight >= 0", "text": "text shown when reviewing",
    "image": "image path (relative to the file), URL or data URI",
}
UPLOAD_LIMIT_MB = int(st.get_option("server.maxUploadSize"))


def _open(path: str | Path, *, dataset: str | None = None, overrides: dict | None = None,
          human: float | None = None, media: tuple[str, str] | None = None, texts: str | None = None) -> None:
    """Open a file (its human-level error unknown unless given) and run the app again, so that the sidebar and the
    address name it; on bad input keep the open one and say why."""
    try:
        widgets.open_file(path, dataset=dataset, overrides=overrides, human=human, media=media, texts=texts)
    except ErrorscopeError as exc:
        st.session_state["load_error"] = str(exc)
        st.session_state["failed_file"] = (str(path), overrides or {})
        return
    st.session_state.pop("load_error", None)
    st.session_state.pop("failed_file", None)
    st.rerun()


def column_form(key: str, names: list[str], roles: dict, submit: str) -> dict | None:
    """Selectboxes assigning a column to each role; the roles that changed, when submitted."""
    with st.form(key):
        chosen = {}
        cols = st.columns(2)
        for i, role in enumerate(ROLES):
            options = [None, *names]
            chosen[role] = cols[i % 2].selectbox(
                role, options, index=options.index(roles[role]),
                format_func=lambda v: "(none)" if v is None else v, help=ROLE_HELP[role])
        if st.form_submit_button(submit, type="primary"):
            return {r: c for r, c in chosen.items() if c != roles[r]}
    return None


def task_form(path: str | Path, names: list[str], old: dict, **opened) -> None:
    """Name the tasks of a file whose names do not follow the convention: a long file's task column, or a wide
    file's task label columns (each with a p_<task> or pred_<task> column)."""
    with st.expander("Several tasks? Name the task columns"):
        with st.form("tasks_form", border=False):
            options = [None, *names]
            task = st.selectbox("Task column (long file: one row per example and task)", options,
                                index=options.index(old.get("task")) if old.get("task") in names else 0,
                                format_func=lambda v: "(none)" if v is None else v)
            labels = st.multiselect("Task label columns (wide file: one column per task)", names,
                                    default=[n for n in old.get("tasks", ()) if n in names])
            if st.form_submit_button("Open with these tasks"):
                overrides = {k: v for k, v in old.items() if k not in ("task", "tasks")}
                overrides |= {"task": task} if task else {}
                overrides |= {"tasks": tuple(labels)} if labels else {}
                _open(path, overrides=overrides, **opened)
                st.rerun()  # reached when it failed: show why


def media_form(cur: widgets.Current) -> None:
    """The images of a file without an image column: a folder of files named after the ids."""
    st.subheader("Images")
    st.caption("The file has no image column. If its images are files named after the example ids, say where.")
    folder, pattern = cur.media or ("", "{id}.png")
    with st.form("media_folder", border=False):
        typed = st.text_input("Folder of the images", value=folder, placeholder="images/",
                              help=f"Under {widgets.data_root()} (the server's --data-root)")
        typed_pattern = st.text_input("Name of an image", value=pattern, help="{id} stands for the example's id")
        if st.form_submit_button("Show these images") and typed.strip():
            try:
                media = (str(widgets.openable(typed.strip())), typed_pattern)
            except ErrorscopeError as exc:
                st.session_state["load_error"] = str(exc)
                st.rerun()
            _open(cur.preds.path, dataset=cur.dataset, overrides=st.session_state.get("overrides"),
                  human=cur.human, media=media, texts=cur.texts)
            st.rerun()  # reached when it failed: show why


def texts_form(cur: widgets.Current) -> None:
    """The texts of a file without a text column: a second file with id and text columns."""
    st.subheader("Texts")
    st.caption("The file has no text column. If the texts are in another file (columns id and text), say which.")
    with st.form("texts_file", border=False):
        typed = st.text_input("File of the texts", value=cur.texts or "", placeholder="texts.parquet",
                              help=f"Under {widgets.data_root()}; joined to the predictions on id")
        if st.form_submit_button("Show these texts") and typed.strip():
            try:
                texts = str(widgets.openable(typed.strip()))
            except ErrorscopeError as exc:
                st.session_state["load_error"] = str(exc)
                st.rerun()
            _open(cur.preds.path, dataset=cur.dataset, overrides=st.session_state.get("overrides"),
                  human=cur.human, media=cur.media, texts=texts)
            st.rerun()  # reached when it failed: show why


cur = widgets.current()

st.subheader("Open predictions")
source = st.radio("Source", ["Demo data", "File path", "Upload"], horizontal=True, label_visibility="collapsed")
ENGINE_HELP = {"duckdb": "DuckDB, embedded: the fastest on one machine",
               "spark": "Spark: a local Spark, or the cluster of SPARK_REMOTE (sc://host:15002); "
                        "slower to start (a Java VM), for files past one machine"}
ENGINE_LABELS = {"duckdb": "DuckDB", "spark": "Spark"}
chosen = st.radio("Engine", ENGINES, index=ENGINES.index(widgets.engine()), horizontal=True,
                  format_func=ENGINE_LABELS.get, help=ENGINE_HELP[widgets.engine()])
if chosen == "spark" and find_spec("pyspark") is None:
    st.error(f"The Spark engine is not installed: {INSTALL}.", icon=":material/error:")
elif chosen != widgets.engine():
    st.session_state["engine"] = chosen  # the open file is read again by the new engine
    st.rerun()
if source == "Demo data":
    st.caption("Scikit-learn's handwritten digits: a model's predictions on four splits, with images.")
    if st.button("Open the demo", type="primary"):
        config = demo_config()
        _open(config["path"], dataset=config["dataset"], human=config["human_error"])
elif source == "File path":
    with st.form("open_path", border=False):
        path = st.text_input("Path of a CSV or Parquet file on the server", placeholder="predictions.parquet")
        st.caption(f"Files under {widgets.plain(widgets.data_root())} (the server's --data-root).")
        if st.form_submit_button("Open", type="primary") and path.strip():
            try:
                _open(widgets.openable(path.strip()))
            except InputError as exc:  # outside the data root: nothing of the file was read
                st.session_state["load_error"] = str(exc)
                st.session_state.pop("failed_file", None)
else:
    upload = st.file_uploader(f"CSV or Parquet, up to {UPLOAD_LIMIT_MB} MB", type=["csv", "parquet", "pq"])
    if upload is not None and st.session_state.get("uploaded") != upload.file_id:
        st.session_state["uploaded"] = upload.file_id
        target = upload_path(upload_folder(), upload.name)
        with target.open("wb") as fh:
            shutil.copyfileobj(upload, fh, 1 << 20)  # in chunks: no second copy of the upload in memory
        _open(target)

mapping_failed = False  # the column-role form of a file that failed to open: then the only one shown
if st.session_state.get("load_error"):
    st.error(widgets.plain(st.session_state["load_error"]), icon=":material/error:")
    if cur is not None:
        st.caption("The data set that was open stays open, and no tag was changed.")
    failed, tried = st.session_state.get("failed_file", (None, {}))
    try:
        names = list(file_columns(failed)) if failed else []
    except InputError:
        names = []  # not even the header could be read: nothing to map
    if names:
        mapping_failed = True
        st.caption(f"If a column has a name errorscope does not know, say which it is "
                   f"({widgets.plain(Path(failed).name)}):")
        roles = guess_roles(names, {r: c for r, c in tried.items() if r in ROLES})
        changed = column_form("failed_columns", names, roles, "Open with these columns")
        task_form(failed, names, tried)
        if changed is not None:
            _open(failed, overrides={**tried, **changed})
            st.rerun()  # reached when it failed again: show why

cur = widgets.current()
if cur is None:
    st.info("No predictions file is open. Open the demo, a path, or upload a file above.")
    st.stop()

preds = cur.preds
st.divider()
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Open file")
    st.text(str(preds.path))
    facts = pd.DataFrame([{"split": split, "rows": table.rows, "labeled": table.labeled().rows}
                          for split, table in preds.counts.by("split")])
    st.dataframe(facts, hide_index=True, width="content")
    st.caption(f"{preds.rows:,} rows · {len(preds.classes)} classes · "
               f"{'weighted' if preds.counts.weighted else 'no weight column'} · "
               f"read by {ENGINE_LABELS[preds.engine]}")

    if cur.tasks is not None:
        st.subheader("Tasks")
        st.caption(f"A {cur.tasks.layout} multi-task file: {len(cur.tasks.names)} tasks, "
                   f"{cur.tasks.examples:,} examples. Pick the task to analyse in the sidebar.")
    st.subheader("Columns")
    st.caption("How errorscope read each column. Correct a role if it guessed wrong.")
    if not mapping_failed:  # the failed file's forms, above, are then the only ones
        task_form(preds.path, list(file_columns(preds.path)), st.session_state.get("overrides", {}),
                  dataset=cur.dataset, human=cur.human, media=cur.media, texts=cur.texts)
    names = list(preds.names)
    roles = preds.columns.role_columns()
    if mapping_failed:
        st.caption("Say which column is which for the file that failed, above; this file's roles are kept.")
    elif cur.tasks is None:  # a task's roles come from the file's layout: the "Several tasks?" form names them
        changed = column_form("columns", names, roles, "Apply")
        if changed:
            _open(preds.path, dataset=cur.dataset, overrides={**st.session_state.get("overrides", {}), **changed},
                  human=cur.human, media=cur.media, texts=cur.texts)
            st.rerun()  # reached when it failed: show why
    cut = preds.source.cut
    if cut is not None:  # a task's columns as the file names them
        read = {role: col for role, col in preds.columns.role_columns().items() if col}
        read |= {f"p_{c}": col for c, col in preds.columns.probs.items()}
        st.caption(f"Task {widgets.plain(cut.task)} reads: " + widgets.plain(", ".join(
            f"{role} from {cut.origin(col) or '1 - the probability of class 1'}" for role, col in read.items())))
    else:
        st.caption(f"Probability columns: {widgets.plain(', '.join(preds.columns.probs.values()) or 'none')}")
    st.caption(f"Metadata columns: {widgets.plain(', '.join(preds.columns.metadata) or 'none')}")
    if not preds.columns.image:
        media_form(cur)
    if not preds.columns.text:
        texts_form(cur)

with right:
    st.subheader("Dataset name")
    st.caption("Tags are saved under this name, so a newer model's predictions of the same examples, "
               "opened under the same name, show the same tags.")
    known = widgets.store().datasets()
    name = st.text_input("Dataset", value=cur.dataset, key=f"dataset_{cur.dataset}")
    if name.strip() and name.strip() != cur.dataset:
        st.session_state["dataset"] = name.strip()
        st.rerun()
    if known:
        st.caption("Datasets with tags in this database: " + widgets.plain(", ".join(known)))

    st.subheader("Human-level error")
    st.caption("The error of an expert (a proxy for the Bayes error); avoidable bias is measured from it.")
    human = st.number_input("Human-level error (%)", min_value=0.0, max_value=100.0, step=0.1, format="%.2f",
                            value=None if cur.human is None else round(100 * cur.human, 4),
                            placeholder="unknown")
    new_human = None if human is None else human / 100
    if new_human != cur.human:
        st.session_state["human"] = new_human
        st.rerun()

    st.subheader("Tag database")
    st.text(shown_target(widgets.db_target()))
    st.caption("Every tag edit is saved here at once. Choose another with --db or ERRORSCOPE_DB.")
