"""What the pages share: the open data set, the tag store, cached queries, formatting and colours.

The pages stay thin: every number comes from ``analysis``; this module only caches and formats.
"""

from __future__ import annotations

import base64
import html
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from analysis import ErrorscopeError, InputError, Predictions, load_predictions
from analysis.access import confine
from analysis.gaps import LABELS, parse_fraction
from analysis.images import resolve_image
from analysis.normalize import SPLITS
from analysis.review import examples
from analysis.tags import TagStore, default_db_path, open_store

#: Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999"
SPLIT_LABELS = {split: LABELS[split] for split in SPLITS}
#: Height of a row in the app's grids, px (the browser tests click rows by it).
ROW_PX = 35


@dataclass(frozen=True)
class Current:
    """The data set the pages show: its predictions, the name its tags go under, the human-level error."""

    preds: Predictions
    dataset: str
    human: float | None

    @property
    def key(self) -> str:
        """Identifies the file's content for caches (path, size, modification time, column roles)."""
        stat = self.preds.path.stat()
        roles = sorted(self.preds.columns.role_columns().items())
        return f"{self.preds.path}|{stat.st_size}|{stat.st_mtime_ns}|{roles}"


@st.cache_data(show_spinner="Reading the predictions file...", max_entries=8)
def _load(path: str, overrides: tuple[tuple[str, str | None], ...], size: int, mtime: int,
          engine: str = "duckdb") -> Predictions:
    return load_predictions(path, columns=dict(overrides) or None, engine=engine)


def engine() -> str:
    """The engine that reads files in this session: the Data page's choice, at first the server's --engine."""
    if "engine" not in st.session_state:
        st.session_state["engine"] = os.environ.get("ERRORSCOPE_ENGINE") or "duckdb"
    return st.session_state["engine"]


def load(path: str | Path, overrides: dict[str, str | None] | None = None) -> Predictions:
    """Read a predictions file once with the session's engine; later calls with the same unchanged file come from
    the cache."""
    stat = Path(path).stat() if Path(path).is_file() else None
    return _load(str(path), tuple(sorted((overrides or {}).items())), stat.st_size if stat else -1,
                 stat.st_mtime_ns if stat else -1, engine())


def db_path() -> Path:
    return default_db_path().resolve()


@st.cache_resource(show_spinner=False)
def _store(path: str) -> TagStore:
    return open_store(path)


def store() -> TagStore:
    """The tag store, one per database file, shared by all sessions."""
    return _store(str(db_path()))


def _env_human() -> float | None:
    value = os.environ.get("ERRORSCOPE_HUMAN_ERROR", "").strip()
    try:
        return parse_fraction(value) if value else None
    except InputError as exc:
        st.warning(f"ERRORSCOPE_HUMAN_ERROR: {plain(exc)}; the human-level error is left unknown",
                   icon=":material/warning:")
        return None


def open_file(path: str | Path, *, dataset: str | None = None, overrides: dict[str, str | None] | None = None,
              human: float | None = None) -> Predictions:
    """Make ``path`` the open data set with its human-level error (unknown unless given); on bad input raise
    InputError and leave the open one as it was."""
    preds = load(path, overrides)
    state = st.session_state
    state["file"] = str(Path(path).resolve())
    state["overrides"] = dict(overrides or {})
    state["human"] = human
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
        open_file(reopenable(params["file"]), dataset=params.get("dataset") or None, human=human)
    except InputError as exc:
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
    try:
        open_file(path, dataset=os.environ.get("ERRORSCOPE_DATASET"), human=_env_human())
    except InputError as exc:
        state["load_error"] = str(exc)
        state["file"] = None
        return
    state["start"] = (state["file"], state["dataset"], state["human"])


def keep_in_address() -> None:
    """Name the open file in the page's address (``?file=&dataset=&human=``), so that a reload reopens it; the
    file given at start, under its given name and human-level error, needs no address."""
    state = st.session_state
    wanted = {}
    if state.get("file") and (state["file"], state["dataset"], state.get("human")) != state.get("start"):
        wanted = {"file": state["file"], "dataset": state["dataset"]}
        if state.get("human") is not None:
            wanted["human"] = repr(state["human"])
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
        preds = load(state["file"], state.get("overrides"))
    except InputError as exc:  # the file changed on disk since it was opened
        state["load_error"] = str(exc)
        return None
    return Current(preds, state["dataset"], state.get("human"))


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


# --- examples: the rows behind a confusion cell, a review sample --------------------------------------------

PAGE_SIZE = 24
GALLERY_COLUMNS = 6


@st.cache_data(show_spinner="Finding the examples...", max_entries=64)
def _cell_examples(key: str, _preds: Predictions, split: str, true_class: str, pred_class: str,
                   limit: int, offset: int):
    return examples(_preds, split=split, true_class=true_class, pred_class=pred_class, limit=limit, offset=offset)


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
    uri = image_uri(cur, value)
    if uri is None:
        return None
    if uri.startswith("data:"):
        return base64.b64decode(uri.split(",", 1)[1])
    return uri


def _details(row) -> str:
    parts = [f"true {row['y_true']}", f"pred {row['y_pred']}"]
    if row.get("confidence") is not None and row["confidence"] == row["confidence"]:
        parts.append(f"conf {row['confidence']:.2f}")
    return " · ".join(parts)


def show_examples(cur: Current, frame) -> None:
    """Examples as a gallery when they have images, else as a table of their text and metadata."""
    preds = cur.preds
    if frame.empty:
        st.info("No examples to show.")
        return
    if preds.columns.image:
        grid = st.columns(GALLERY_COLUMNS)
        for i, (_, row) in enumerate(frame.iterrows()):
            with grid[i % GALLERY_COLUMNS]:
                picture = image_of(cur, row["image"])
                if picture is None:
                    st.caption(":material/broken_image: image not found or outside the data folder")
                else:
                    st.image(picture, width="stretch")
                st.caption(f"**{plain(row['id'])}**  \n{plain(_details(row))}")
        return
    shown = ["id", "y_true", "y_pred", "confidence"] + (["text"] if preds.columns.text else [])
    shown += [c for c in frame.columns if c in preds.columns.metadata]
    st.dataframe(frame[shown], hide_index=True, column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "confidence": st.column_config.NumberColumn("confidence", format="%.3f"),
    })


def show_cell(cur: Current, *, split: str, true_class: str, pred_class: str, total: int) -> None:
    """The examples of one confusion cell, a page at a time."""
    pages = -(-total // PAGE_SIZE)
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1,
                               key=f"page_{split}_{true_class}_{pred_class}")
    frame = _cell_examples(cur.key, cur.preds, split, true_class, pred_class, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    show_examples(cur, frame)
