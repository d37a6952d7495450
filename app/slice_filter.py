"""The slice filter of the app: the predicates of one slice (:mod:`analysis.filters`), kept in the session and the
page's address (``?slice=``), shown in a banner at the top of every page until cleared, and applied by Overview,
Confusion, Review and Label issues."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import ErrorscopeError
from analysis.filters import TAG_PREFIX, TAGS, FilterSQL, Predicate, filter_json, filter_label, filter_sql, parse_filter
from analysis.filters import filtered_counts as _filtered_counts
from app import widgets

KEY = "slice"
#: The pages that show only the slice's rows.
APPLIES = "Overview, Confusion matrix, Review and Label issues"


def predicates(cur: widgets.Current | None) -> tuple[Predicate, ...]:
    """The filter of this session (read from the address on the first run), checked against the open file."""
    state = st.session_state
    if KEY not in state:
        state[KEY] = st.query_params.get(KEY) or ""
    if not state[KEY] or cur is None:
        return ()
    try:
        return parse_filter(cur.preds, state[KEY], widgets.store().categories(cur.dataset))
    except ErrorscopeError as exc:  # a column of another file, a hand-edited address
        st.warning(f"The slice filter was cleared: {widgets.plain(exc)}", icon=":material/warning:")
        state[KEY] = ""
        return ()


def set_filter(chosen: tuple[Predicate, ...] | list[Predicate]) -> None:
    st.session_state[KEY] = filter_json(chosen) if chosen else ""


def banner(cur: widgets.Current | None) -> None:
    """The filter at the top of the page, with a button that clears it."""
    chosen = predicates(cur)
    if not chosen:
        return
    text, clear = st.columns([5, 1], vertical_alignment="center")
    text.info(f"**Slice:** {widgets.plain(filter_label(chosen))}. {APPLIES} show only its examples.",
              icon=":material/filter_alt:")
    if clear.button("Clear slice", icon=":material/filter_alt_off:", key="slice_clear", width="stretch"):
        set_filter(())
        st.rerun()


def where(cur: widgets.Current) -> FilterSQL | None:
    """The filter as SQL over the view (with the tags it names), or None when there is none."""
    chosen = predicates(cur)
    if not chosen:
        return None
    store = widgets.store()
    tags = store.tags(cur.dataset) if any(p.column.startswith(TAG_PREFIX) for p in chosen) else None
    return filter_sql(cur.preds, chosen, tags=tags, categories=store.categories(cur.dataset))


@st.cache_data(show_spinner="Counting the slice...", max_entries=16)
def _counts(key: str, text: str, _preds, _where: FilterSQL):
    return _filtered_counts(_preds, _where)


def cache_key(sql: FilterSQL | None) -> str:
    """What identifies a filter's rows for a cache: its SQL, parameters and, for a tag, the tags (an edit changes
    the slice)."""
    if sql is None:
        return ""
    tags = sql.frames.get(TAGS)
    version = "" if tags is None else str(int(pd.util.hash_pandas_object(tags, index=False).sum()))
    return f"|{sql.where}|{sql.params}|{version}"


def counts(cur: widgets.Current):
    """The count table of the open file's rows in the slice (the file's own when no slice is chosen)."""
    sql = where(cur)
    if sql is None:
        return cur.preds.counts
    return _counts(cur.key, cache_key(sql), cur.preds, sql)


def keep_ids(cur: widgets.Current, ids: list[str]) -> list[str]:
    """Those of ``ids`` in the slice, in their order."""
    sql = where(cur)
    if sql is None or not ids:
        return ids
    frames = {**sql.frames, "__ids": pd.DataFrame({"id": pd.Series(ids, dtype=object)})}
    inside = set(cur.preds.query(f"SELECT id FROM preds WHERE id IN (SELECT id FROM __ids) AND {sql.where}",
                                 list(sql.params), frames=frames)["id"])
    return [i for i in ids if i in inside]
