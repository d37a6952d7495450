"""What the pages share: the open data set, the tag store, cached queries, formatting and colours.

The pages stay thin: every number comes from ``analysis``; this module only caches and formats.
"""

from __future__ import annotations

import base64
import html
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from analysis import ErrorscopeError, InputError, Predictions, load_predictions
from analysis.access import confine
from analysis.gaps import LABELS, parse_fraction
from analysis.images import check_media_pattern, media_name, resolve_image
from analysis.load import estimated_rows
from analysis.masked import summarize_tasks
from analysis.normalize import SPLITS
from analysis.review import examples
from analysis.tags import TagStore, default_db, open_store
from analysis.tasks import TaskSet, file_layout, load_tasks
from analysis.texts import read_texts

#: Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999"
SPLIT_LABELS = {split: LABELS[split] for split in SPLITS}
#: Height of a row in the app's grids, px (the browser tests click rows by it).
ROW_PX = 35


@dataclass(frozen=True)
class Current:
    """The data set the pages show: its predictions, the name its tags go under, the human-level error, and the
    folder and name pattern of its images when the file has no image column (``--media DIR --media-pattern``), the
    file of its texts when it has no text column (``--texts FILE``, joined on id)."""

    preds: Predictions
    dataset: str
    human: float | None
    media: tuple[str, str] | None = None
    texts: str | None = None
    tasks: TaskSet | None = None  # a multi-task file: ``preds`` are those of the task picked in the sidebar

    @property
    def key(self) -> str:
        """Identifies the file's content for caches (path, size, modification time, column roles, task)."""
        stat = self.preds.path.stat()
        roles = sorted(self.preds.columns.role_columns().items())
        return f"{self.preds.path}|{stat.st_size}|{stat.st_mtime_ns}|{roles}|{self.preds.source.task}"


@st.cache_data(show_spinner=False, max_entries=8)
def _load(path: str, overrides: tuple[tuple[str, object], ...], size: int, mtime: int, engine: str = "duckdb",
          _progress: Callable[[float], None] | None = None) -> Predictions | TaskSet:
    columns = dict(overrides)
    labels = columns.pop("tasks", None)  # a wide file's task label columns, named on the Data page
    if file_layout(path, columns, labels, engine=engine).kind == "single":
        return load_predictions(path, columns=columns or None, progress=_progress, engine=engine, keep_mistakes=True)
    return load_tasks(path, columns=columns, labels=labels, engine=engine)


def engine() -> str:
    """The engine that reads files in this session: the Data page's choice, at first the server's --engine."""
    if "engine" not in st.session_state:
        st.session_state["engine"] = os.environ.get("ERRORSCOPE_ENGINE") or "duckdb"
    return st.session_state["engine"]


def load(path: str | Path, overrides: dict[str, object] | None = None) -> Predictions | TaskSet:
    """Read a predictions file (one task or several) once with the session's engine; later calls with the same
    unchanged file come from the cache.

    The read runs in a thread; when it takes more than half a second (a large file, not from the cache), a
    progress bar shows the rows the file holds, how far the engine is and the time taken.
    """
    stat = Path(path).stat() if Path(path).is_file() else None
    args = (str(path), tuple(sorted((overrides or {}).items())), stat.st_size if stat else -1,
            stat.st_mtime_ns if stat else -1, engine())
    state = {"done": 0.0}
    context = get_script_run_ctx()

    def work() -> Predictions | TaskSet:
        add_script_run_ctx(threading.current_thread(), context)  # the cache needs the session's context
        return _load(*args, _progress=lambda fraction: state.update(done=fraction))

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(work)
        finished, _ = wait([future], timeout=0.5)
        if finished:
            return future.result()
        rows = estimated_rows(path)
        about = f"about {rows:,} rows" if rows else "rows unknown"
        start = time.perf_counter()
        bar = st.progress(0.0, text=f"Reading {Path(path).name} ({about})...")
        while not wait([future], timeout=0.25)[0]:
            done = state["done"]
            read = f" · about {done * rows:,.0f} rows read" if rows and done else ""
            bar.progress(done, text=f"Reading {Path(path).name} ({about}): {100 * done:.0f}% read{read} · "
                                    f"{time.perf_counter() - start:.0f} s")
        bar.empty()
        return future.result()


def db_target() -> str | Path:
    """The tag store: a PostgreSQL URL, or the SQLite file's absolute path."""
    target = default_db()
    return target.resolve() if isinstance(target, Path) else target


@st.cache_resource(show_spinner=False)
def _store(target: str) -> TagStore:
    return open_store(target)


def store() -> TagStore:
    """The tag store, one per database, shared by all sessions."""
    return _store(str(db_target()))


def _env_human() -> float | None:
    value = os.environ.get("ERRORSCOPE_HUMAN_ERROR", "").strip()
    try:
        return parse_fraction(value) if value else None
    except InputError as exc:
        st.warning(f"ERRORSCOPE_HUMAN_ERROR: {plain(exc)}; the human-level error is left unknown",
                   icon=":material/warning:")
        return None


def open_file(path: str | Path, *, dataset: str | None = None, overrides: dict[str, object] | None = None,
              human: float | None = None, media: tuple[str, str] | None = None,
              texts: str | None = None) -> Predictions | TaskSet:
    """Make ``path`` the open data set with its human-level error (unknown unless given) and its media folder and
    pattern (none unless given); on bad input raise InputError and leave the open one as it was."""
    if media is not None:
        check_media_pattern(media[1])
        if not Path(media[0]).is_dir():
            raise InputError(f"{media[0]}: no such folder of images")
    if texts is not None:
        read_texts(texts, [])  # refuses a file without id and text columns before anything changes
    preds = load(path, overrides)
    state = st.session_state
    state["file"] = str(Path(path).resolve())
    state["overrides"] = dict(overrides or {})
    state["human"] = human
    state["media"] = media
    state["texts"] = texts
    if dataset or state.get("file_for_dataset") != state["file"]:
        state["dataset"] = dataset or Path(path).stem
        state["file_for_dataset"] = state["file"]
    return preds


def reopenable(path: str | Path) -> Path:
    """A path from the page's address (``?file=``, a reload): one :func:`openable` opens, or an upload stored by
    this server."""
    uploads = os.environ.get("ERRORSCOPE_UPLOAD_DIR")
    if uploads and Path(path).is_absolute() and Path(path).resolve().is_relative_to(Path(uploads).resolve()):
        return Path(path).resolve()
    return openable(path)


def _open_from_address() -> bool:
    """Open the file the page's address names (kept there so that a reload shows it again); False if none."""
    params = st.query_params
    if not params.get("file"):
        return False
    try:
        human = parse_fraction(params["human"]) if params.get("human") else None
        media = (str(openable(params["media"])), params.get("media_pattern", "")) if params.get("media") else None
        texts = str(openable(params["texts"])) if params.get("texts") else None
        open_file(reopenable(params["file"]), dataset=params.get("dataset") or None, human=human, media=media,
                  texts=texts)
    except ErrorscopeError as exc:
        st.session_state["load_error"] = str(exc)
        return False
    return True


def _open_at_start() -> None:
    """The file of the address, else the one given on the command line (ERRORSCOPE_FILE), if any."""
    state = st.session_state
    if _open_from_address():
        return
    path = os.environ.get("ERRORSCOPE_FILE")
    if not path:
        state["file"] = None
        return
    folder = os.environ.get("ERRORSCOPE_MEDIA")
    media = (folder, os.environ.get("ERRORSCOPE_MEDIA_PATTERN", "{id}.png")) if folder else None
    try:
        open_file(path, dataset=os.environ.get("ERRORSCOPE_DATASET"), human=_env_human(), media=media,
                  texts=os.environ.get("ERRORSCOPE_TEXTS") or None)
    except ErrorscopeError as exc:
        state["load_error"] = str(exc)
        state["file"] = None
        return
    state["start"] = _opened(state)


def _opened(state) -> tuple:
    return state["file"], state["dataset"], state.get("human"), state.get("media"), state.get("texts")


def keep_in_address() -> None:
    """Name the open file in the page's address (``?file=&dataset=&human=&task=``), so that a reload reopens it; the
    file given at start, under its given name and human-level error, needs no address."""
    state = st.session_state
    wanted = {}
    if state.get("file") and _opened(state) != state.get("start"):
        wanted = {"file": state["file"], "dataset": state["dataset"]}
        if state.get("human") is not None:
            wanted["human"] = repr(state["human"])
        if state.get("media"):
            wanted["media"], wanted["media_pattern"] = state["media"]
        if state.get("texts"):
            wanted["texts"] = state["texts"]
    if state.get("file") and state.get("task"):  # a multi-task file's picked task
        wanted["task"] = state["task"]
    if state.get("slice"):  # the slice filter (app.slice_filter) stays across pages and reloads
        wanted["slice"] = state["slice"]
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def current() -> Current | None:
    """The open data set (the one of the address or the command line until the user opens another), or None."""
    state = st.session_state
    if "file" not in state:
        _open_at_start()
    if not state.get("file"):
        return None
    try:
        loaded = load(state["file"], state.get("overrides"))
    except InputError as exc:  # the file changed on disk since it was opened
        state["load_error"] = str(exc)
        return None
    opened = (state["dataset"], state.get("human"), state.get("media"), state.get("texts"))
    if not isinstance(loaded, TaskSet):
        state.pop("task", None)
        return Current(loaded, *opened)
    if state.get("task") not in loaded.names:  # before the sidebar's picker (key "task") is drawn
        asked = st.query_params.get("task")
        state["task"] = asked if asked in loaded.names else loaded.names[0]
    return Current(loaded.task(state["task"]), *opened, loaded)


@st.cache_data(show_spinner="Measuring every task...", max_entries=8)
def _tasks_summary(key: str, _tasks: TaskSet, human: float | None) -> dict:
    return summarize_tasks(_tasks, human=human)


def tasks_summary(cur: Current) -> dict:
    """The summary of every task of the open multi-task file (:func:`analysis.masked.summarize_tasks`)."""
    return _tasks_summary(cur.key.rsplit("|", 1)[0], cur.tasks, cur.human)


def pick_task(cur: Current, where=st) -> None:
    """The task chooser of a multi-task file (every page shows the picked task); nothing for a single task."""
    if cur.tasks is not None:
        where.selectbox("Task", cur.tasks.names, key="task",
                        help="A multi-task file: every page shows this task's labeled examples.")


def pick_split(preds: Predictions, *, key: str, where=st) -> str:
    """A split chooser (dev first when the file has it), in ``where`` (the page, the sidebar, a column)."""
    default = preds.splits.index("dev") if "dev" in preds.splits else 0
    return where.selectbox("Split", preds.splits, index=default, format_func=SPLIT_LABELS.get, key=key)


def require() -> Current:
    """The open data set, or a pointer to the Data page and the end of this page's run."""
    cur = current()
    if cur is None:
        error = st.session_state.get("load_error")
        if error and not st.session_state.get("file"):  # the file given at start could not be read
            st.error(plain(error), icon=":material/error:")
        st.info("No predictions file is open yet. Open one on the **Data** page.")
        st.page_link("views/data.py", label="Go to the Data page", icon=":material/folder_open:")
        st.stop()
    return cur


#: What Markdown or Streamlit's directives would act on; ``:``, ``.`` and ``@`` too, which break the autolinks
#: GitHub-flavoured Markdown makes of ``http://...``, ``www.example.org`` and ``name@example.org``.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$:.@])")


def plain(text: object) -> str:
    r"""``text`` escaped for use inside Markdown, so that user text shows as typed and never as markup or a link.

    >>> print(plain("www.evil.org, http://evil.org, a@evil.org"))
    www\.evil\.org, http\://evil\.org, a\@evil\.org
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


def chart_text(text: object) -> str:
    """``text`` escaped for a plotly label or hover, which would act on tags such as ``<a href>`` or ``<b>``."""
    return html.escape(str(text), quote=False)


def file_stem(cur: Current) -> str:
    """A safe base for download names: the dataset name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", cur.dataset).strip("_") or "errorscope"


def timed_page(page) -> None:
    """Run a page and show how long the server took (read by the benchmarks)."""
    start = time.perf_counter()
    try:
        page.run()  # a page that ends early with st.stop() ends the run here, without the timing
    except ErrorscopeError as exc:  # bad input shows as a message, never as a traceback
        st.error(plain(exc), icon=":material/error:")
    ms = (time.perf_counter() - start) * 1000
    st.sidebar.caption(f"Page ran in {ms:.0f} ms", help="Server-side time of this run of the page")


# --- "review these": another page's examples opened on the Review page -------------------------------------

#: The "Tagged with" choice of examples marked mislabeled (categories are strings, so this cannot clash).
MISLABELED = ("mislabeled",)


def category_name(category: object) -> str:
    """A category as a chooser shows it; :data:`MISLABELED` as what it means."""
    return "mislabeled (a label error)" if category == MISLABELED else str(category)


#: The Review page's sidebar filters a request may set, by the key of their widget.
_REVIEW_FILTERS = {"split": "rv_split", "true_class": "rv_true", "pred_class": "rv_pred", "category": "rv_cat"}


def review_these(*, split: str, true_class: str | None = None, pred_class: str | None = None,
                 category: object = None) -> None:
    """Open the Review page on these examples (the other filters reset): a "review these" link of another page."""
    st.session_state["review_request"] = {"split": split, "true_class": true_class, "pred_class": pred_class,
                                          "category": category}
    st.switch_page("views/review.py")


def review_button(label: str = "Review these", *, key: str, **filters) -> None:
    """A button that opens the Review page on the examples ``filters`` name (see :func:`review_these`)."""
    if st.button(label, key=key, icon=":material/checklist:"):
        review_these(**filters)


def apply_review_request() -> None:
    """On the Review page, before its widgets are made: set its filters as a "review these" asked."""
    request = st.session_state.pop("review_request", None)
    if request:
        for name, key in _REVIEW_FILTERS.items():
            st.session_state[key] = request[name]
        st.session_state["rv_unreviewed"] = False


# --- examples: the rows behind a confusion cell, a review sample --------------------------------------------

PAGE_SIZE = 24
GALLERY_COLUMNS = 6


@st.cache_data(show_spinner="Finding the examples...", max_entries=64)
def _cell_examples(key: str, _preds: Predictions, split: str, true_class: str, pred_class: str,
                   limit: int, offset: int, _where=None):
    return examples(_preds, split=split, true_class=true_class, pred_class=pred_class, limit=limit, offset=offset,
                    where=_where)


@st.cache_data(show_spinner=False, max_entries=2_500)  # images up to 512 KiB are inlined: keep the cache bounded
def _resolve_image(folder: str, value: object, hosts: tuple[str, ...]) -> str | None:
    return resolve_image(folder, value, hosts)


def image_hosts() -> tuple[str, ...]:
    """The hosts whose image URLs the browser may load (``errorscope app --allow-image-host``); none by default."""
    return tuple(h.strip() for h in os.environ.get("ERRORSCOPE_IMAGE_HOSTS", "").split(",") if h.strip())


def image_uri(cur: Current, value: object) -> str | None:
    """An ``image`` cell as a URL or data URI; None when missing, outside the data file's folder or on a host
    not allowed."""
    return _resolve_image(str(cur.preds.folder), value, image_hosts())


def data_root() -> Path:
    """The folder whose files a user may open by path (``errorscope app --data-root``; else the working folder)."""
    return Path(os.environ.get("ERRORSCOPE_DATA_ROOT") or os.getcwd()).resolve()


def openable(path: str | Path) -> Path:
    """``path`` resolved, when it lies under :func:`data_root` or is the file the app was started with."""
    start = os.environ.get("ERRORSCOPE_FILE")
    return confine(path, data_root(), [start] if start else [])


def image_of(cur: Current, value: object) -> bytes | str | None:
    """What ``st.image`` can show for an ``image`` cell: bytes of a file inside the data's folder, or a URL."""
    return _shown(image_uri(cur, value))


def _shown(uri: str | None) -> bytes | str | None:
    if uri is not None and uri.startswith("data:"):
        return base64.b64decode(uri.split(",", 1)[1])
    return uri


def has_pictures(cur: Current) -> bool:
    """Whether the examples have images: an image column, or a media folder."""
    return bool(cur.preds.columns.image or cur.media)


def picture_uri(cur: Current, row) -> str | None:
    """An example's image as a URL or data URI (see :func:`image_uri`): its image cell, else its file in the
    media folder, named by the pattern; None when it has none."""
    if cur.preds.columns.image:
        return image_uri(cur, row["image"])
    if cur.media:
        folder, pattern = cur.media
        return _resolve_image(folder, media_name(pattern, row["id"]), ())
    return None


def picture(cur: Current, row) -> bytes | str | None:
    """What ``st.image`` can show of an example's image (see :func:`picture_uri`)."""
    return _shown(picture_uri(cur, row))


def has_text(cur: Current) -> bool:
    """Whether the examples have texts: a text column, or a texts file."""
    return bool(cur.preds.columns.text or cur.texts)


def with_texts(cur: Current, frame):
    """``frame`` (rows of the view) with the ``text`` of each id from the texts file, when the data set has one."""
    if cur.preds.columns.text or not cur.texts or frame.empty:
        return frame
    found = read_texts(cur.texts, frame["id"].tolist())
    return frame.assign(text=[found.get(i) for i in frame["id"]])


def _details(row) -> str:
    parts = [f"true {row['y_true']}", f"pred {row['y_pred']}"]
    if "y_pred_b" in row:  # a comparison's rows: model B's prediction too
        parts[1] = f"A {row['y_pred']}, B {row['y_pred_b']}"
    if row.get("confidence") is not None and row["confidence"] == row["confidence"]:
        parts.append(f"conf {row['confidence']:.2f}")
    return " · ".join(parts)


def show_examples(cur: Current, frame) -> None:
    """Examples as a gallery when they have images, else as a table of their text and metadata."""
    preds = cur.preds
    if frame.empty:
        st.info("No examples to show.")
        return
    if has_pictures(cur):
        grid = st.columns(GALLERY_COLUMNS)
        for i, (_, row) in enumerate(frame.iterrows()):
            with grid[i % GALLERY_COLUMNS]:
                shown = picture(cur, row)
                if shown is None:
                    st.caption(":material/broken_image: image not found or outside the data folder")
                else:
                    st.image(shown, width="stretch")
                st.caption(f"**{plain(row['id'])}**  \n{plain(_details(row))}")
        return
    shown = ["id", "y_true", "y_pred", "confidence"] + [c for c in ("y_pred_b", "confidence_b") if c in frame]
    shown += ["text"] if has_text(cur) else []
    shown += [c for c in frame.columns if c in preds.columns.metadata]
    st.dataframe(frame[shown], hide_index=True, column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "confidence": st.column_config.NumberColumn("confidence", format="%.3f"),
    })


def show_cell(cur: Current, *, split: str, true_class: str, pred_class: str, total: int, where=None,
              where_key: str = "") -> None:
    """The examples of one confusion cell (within a slice, ``where``, identified by ``where_key``), a page at a
    time."""
    pages = -(-total // PAGE_SIZE)
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1,
                               key=f"page_{split}_{true_class}_{pred_class}")
    frame = _cell_examples(cur.key + where_key, cur.preds, split, true_class, pred_class, PAGE_SIZE,
                           (page - 1) * PAGE_SIZE, where)
    show_examples(cur, with_texts(cur, frame))
