"""Each page of the dashboard, run headless with Streamlit's AppTest on the demo data and a real tag store."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import confusion_matrix, gaps_from_counts, load_predictions, per_class
from analysis.tags import open_store
from tests import many_classes
from tests.conftest import ROOT
from tests.many_classes import HUNDRED, NEWSGROUPS

MAIN = str(ROOT / "app" / "main.py")


@pytest.fixture
def app(monkeypatch, tmp_path, demo_path, demo_config):
    monkeypatch.setenv("ERRORSCOPE_FILE", str(demo_path))
    monkeypatch.setenv("ERRORSCOPE_DB", str(tmp_path / "tags.db"))
    monkeypatch.setenv("ERRORSCOPE_DATASET", demo_config["dataset"])
    monkeypatch.setenv("ERRORSCOPE_HUMAN_ERROR", str(demo_config["human_error"]))
    monkeypatch.setenv("ERRORSCOPE_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("ERRORSCOPE_UPLOAD_DIR", str(tmp_path))

    def run(page: str) -> AppTest:
        at = AppTest.from_file(MAIN, default_timeout=60)
        at.run()
        at.switch_page(f"views/{page}.py")
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return run


def dev_matrix(demo_path):
    return confusion_matrix(load_predictions(demo_path).counts.where(split="dev")).matrix


def test_overview(app, demo_path):
    at = app("overview")
    m = dev_matrix(demo_path)
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["Dev error"] == f"{100 * (m.sum() - m.trace()) / m.sum():.2f}%"
    assert set(metrics) == {"Train error", "Train-dev error", "Dev error", "Test error"}
    table = at.dataframe[1].value
    expected = per_class(load_predictions(demo_path).counts.where(split="dev"))
    assert table["recall"].round(12).tolist() == expected["recall"].round(12).tolist()


def test_overview_metric_choice(app, demo_path):
    import pandas as pd
    from sklearn.metrics import f1_score

    at = app("overview")
    at.segmented_control[0].set_value("Macro F1").run()
    metrics = {x.label: x.value for x in at.metric}
    assert set(metrics) == {"Train macro f1", "Train-dev macro f1", "Dev macro f1", "Test macro f1"}
    dev = pd.read_csv(demo_path, dtype={"y_true": str, "y_pred": str}).query("split == 'dev'")
    assert metrics["Dev macro f1"] == f"{f1_score(dev.y_true, dev.y_pred, average='macro'):.4f}"


def test_overview_shows_every_registered_metric(app, demo_path):
    from analysis.registry import METRICS

    at = app("overview")
    assert at.segmented_control[0].options == ["Error", "Accuracy", "Macro F1", "Support-weighted F1",
                                               "Weighted error"]
    table = at.dataframe[0].value
    assert len(table.columns) == 1 + len(METRICS)
    dev = table.set_index("split").loc["Dev"]
    counts = load_predictions(demo_path).counts.where(split="dev")
    for name, m in METRICS.items():
        column = f"{m.label} (%)" if m.format == "percent" else m.label
        scale = 100 if m.format == "percent" else 1
        assert dev[column] == pytest.approx(scale * m(counts), abs=1e-12), name


def test_data_page_shows_the_file_and_database(app, demo_path, demo_config, tmp_path):
    at = app("data")
    texts = [t.value for t in at.text]
    assert str(demo_path) in texts and str(tmp_path / "tags.db") in texts
    assert at.text_input(key="dataset_digits-demo").value == "digits-demo"
    assert at.number_input[0].value == pytest.approx(100 * demo_config["human_error"])


def test_human_error_from_the_environment_as_a_percentage(app, monkeypatch):
    monkeypatch.setenv("ERRORSCOPE_HUMAN_ERROR", "4%")
    assert app("data").number_input[0].value == pytest.approx(4.0)


def test_a_bad_human_error_in_the_environment_is_a_warning_not_a_crash(app, monkeypatch):
    monkeypatch.setenv("ERRORSCOPE_HUMAN_ERROR", "four")
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert "'four' is not a number" in at.warning[0].value
    at.switch_page("views/data.py").run()
    assert at.number_input[0].value is None


def test_data_page_bad_path_keeps_the_open_file(app, tmp_path):
    at = app("data")
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(tmp_path / "missing.csv"))
    at.button[0].click().run()
    assert "no such file" in at.error[0].value
    assert "digits-demo" in [t.value for t in at.sidebar.text]


def heatmap_of(at) -> dict:
    """The confusion page's figure as plotly JSON: a heatmap, and a square marker per cell for clicks."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def cells_of(figure: dict) -> dict[tuple[str, str], tuple[str, str]]:
    """(true, predicted) -> (the value written in the cell, the value on hover)."""
    written = [text for row in figure["data"][0]["text"] for text in row]
    return {(t, p): (text, hover) for (t, p, _, hover), text in zip(figure["data"][1]["customdata"], written,
                                                                    strict=True)}


def test_confusion(app, demo_path):
    at = app("confusion")
    assert at.title[0].value == "Confusion matrix"
    m = dev_matrix(demo_path)
    labels = load_predictions(demo_path).classes
    cells = cells_of(heatmap_of(at))
    assert {(t, p): int(hover) for (t, p), (_, hover) in cells.items()} == {
        (a, b): int(m[i, j]) for i, a in enumerate(labels) for j, b in enumerate(labels)}
    pairs = at.dataframe[0].value
    assert pairs.iloc[0]["count"] == max(m[i, j] for i in range(len(m)) for j in range(len(m)) if i != j)


def test_normalized_percentages_are_written_whole_in_cells_that_fit_them(app, demo_path):
    """The test split as shares of the true class, weighted: each cell shows its share to 0.1 %, in a font
    small enough that the longest value fits the cell (the grid cut "13.7%" to "3.7%")."""
    at = app("confusion")
    at.selectbox(key="cm_split").set_value("test")
    at.selectbox(key="cm_norm").set_value("Share of true class (recall)")
    at.toggle(key="cm_weighted").set_value(True).run()
    preds = load_predictions(demo_path)
    shares = confusion_matrix(preds.counts.where(split="test"), weighted=True, normalize="true").matrix
    figure = heatmap_of(at)
    cells = cells_of(figure)
    for i, a in enumerate(preds.classes):
        for j, b in enumerate(preds.classes):
            written, hover = cells[(a, b)]
            assert hover == f"{100 * shares[i, j]:.1f}%"
            assert written == hover or (written == "" and i != j and shares[i, j] == 0)
    assert any(t.startswith("1") and len(t) == 5 for t, _ in cells.values())  # a two-digit share such as 13.7%
    font = figure["data"][0]["textfont"]["size"]
    cell_px = figure["data"][1]["marker"]["size"]
    assert figure["data"][0]["texttemplate"] == "%{text}"
    assert 8 <= font and 0.62 * font * max(len(t) for t, _ in cells.values()) <= cell_px


@pytest.mark.parametrize("classes, rows", [(NEWSGROUPS, 4000), (HUNDRED, 20_000)], ids=["20 classes", "100"])
def test_the_matrix_fits_the_page_with_every_class(app, tmp_path, monkeypatch, classes, rows):
    """Every class is a row and a column of a plot of at most 640 px a side (the page's main area at 1400 px is
    about 1,000 px beside the sidebar; the browser test measures it); names whole on hover; ordering by prefix
    draws the family blocks."""
    monkeypatch.setenv("ERRORSCOPE_FILE", str(many_classes.write(tmp_path / "many.csv", classes, rows)))
    at = app("confusion")
    figure = heatmap_of(at)
    assert figure["data"][1]["marker"]["size"] * len(classes) <= 640
    assert {t for t, _ in cells_of(figure)} == set(classes) == {p for _, p in cells_of(figure)}
    assert len(figure["data"][1]["customdata"]) == len(classes) ** 2
    if len(classes) == 20:
        assert all(text for text, _ in cells_of(figure).values() if text != "")  # values written at 20
        at.selectbox(key="cm_order").set_value("prefix").run()
        assert len(heatmap_of(at)["layout"]["shapes"]) == 2 * 6  # alt|comp|misc|rec|sci|soc|talk
    else:
        assert "hover a cell to read it" in " ".join(c.value for c in at.main.caption)


def test_a_cell_picked_in_another_file_is_not_shown(app):
    at = app("confusion")
    at.session_state["cm_cell"] = ("dev", "cat", "dog")  # picked before another file was opened
    at.run()
    assert not at.exception
    assert any("Pick a cell of the matrix" in c.value for c in at.main.caption)


def test_review_sheet_is_fed_from_the_database_and_tallies_count_it(app, tmp_path, demo_path):
    at = app("review")
    m = dev_matrix(demo_path)
    mistakes = int(m.sum() - m.trace())
    sampled = min(100, mistakes)
    assert at.get("progress")[0].proto.text == f"Reviewed 0 of {sampled} sampled examples"
    with open_store(tmp_path / "tags.db") as store:
        store.add_category("digits-demo", "thick strokes")
    at.run()
    sheet = at.dataframe[0].value
    assert len(sheet) == sampled and "cat:thick strokes" in sheet
    first = sheet["id"].iloc[0]
    with open_store(tmp_path / "tags.db") as store:  # another session tags it
        store.edit("digits-demo", first, categories={"thick strokes": True})
    at.run()
    assert at.get("progress")[0].proto.text == f"Reviewed 1 of {sampled} sampled examples"
    assert at.dataframe[0].value.set_index("id").loc[first, "cat:thick strokes"]

    at.switch_page("views/tallies.py").run()
    assert not at.exception
    dev = at.dataframe[0].value.set_index("category")
    assert dev.loc["thick strokes", "count"] == 1
    assert dev.loc["thick strokes", "share"] == pytest.approx(100.0)
    assert dev.loc["thick strokes", "ceiling"] == pytest.approx(100 * mistakes / m.sum())


def test_gaps(app, demo_path, demo_config):
    at = app("gaps")
    g = gaps_from_counts(load_predictions(demo_path).counts, human=demo_config["human_error"])
    warning = at.warning[0].value
    assert warning.startswith(f"**Largest gap: {g.largest.replace('_', ' ')}")
    assert f"{100 * g.known[g.largest]:.2f} percentage points" in warning
    table = at.table[0].value.set_index("gap")
    assert table.loc["Avoidable bias", "percentage points"] == f"{100 * g.avoidable_bias:+.2f}"
    assert table.loc["Dev overfitting", "percentage points"] == f"{100 * g.dev_overfitting:+.2f}"


def test_data_page_maps_unknown_column_names(app, tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text("key,gold,guess\n1,cat,cat\n2,cat,dog\n3,dog,dog\n")
    at = app("data")
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(path))
    at.button[0].click().run()
    assert "no true-label column" in at.error[0].value.replace("\\", "")
    assert "digits-demo" in [t.value for t in at.sidebar.text]  # still open
    form = {s.label: s for s in reversed(at.selectbox)}  # the first form: the file that failed to open
    form["y_true"].set_value("gold")
    form["y_pred"].set_value("guess")
    form["id"].set_value("key")
    next(b for b in at.button if b.label == "Open with these columns").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, at.error[0].value
    assert "gold" in [t.value for t in at.sidebar.text]  # the dataset is named after the file
    at.switch_page("views/overview.py").run()
    assert {m.label: m.value for m in at.metric}["Dev error"] == f"{100 / 3:.2f}%"


def test_user_text_in_messages_is_shown_as_typed_not_as_markup(app, tmp_path):
    at = app("data")
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(tmp_path / "[click](x.html) **bold** <b>.csv"))
    at.button[0].click().run()
    shown = at.error[0].value  # the Markdown source: every special character escaped
    assert r"\[click\](x\.html) \*\*bold\*\* \<b\>\.csv" in shown


def test_user_text_in_charts_is_shown_as_typed_not_as_markup(app, tmp_path, demo_path):
    import json

    from analysis.review import review_sample

    mistake = review_sample(load_predictions(demo_path), n=1)["id"].iloc[0]
    with open_store(tmp_path / "tags.db") as store:
        store.add_category("digits-demo", '<a href="x">link</a>')
        store.edit("digits-demo", mistake, categories={'<a href="x">link</a>': True})
    at = app("tallies")
    names = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    assert '&lt;a href="x"&gt;link&lt;/a&gt;' in names and not any("<a" in n for n in names)


def test_review_filters_by_category_and_by_not_yet_reviewed(app, tmp_path):
    with open_store(tmp_path / "tags.db") as store:
        store.add_category("digits-demo", "thick strokes")
    at = app("review")
    first, second = at.dataframe[0].value["id"].iloc[:2]
    sampled = len(at.dataframe[0].value)
    with open_store(tmp_path / "tags.db") as store:
        store.edit("digits-demo", first, categories={"thick strokes": True})
        store.edit("digits-demo", second, reviewed=True)
    at.selectbox(key="rv_cat").set_value("thick strokes").run()
    assert at.dataframe[0].value["id"].tolist() == [first]
    at.selectbox(key="rv_cat").set_value(None).run()
    at.checkbox(key="rv_unreviewed").check().run()
    shown = at.dataframe[0].value["id"].tolist()
    assert len(shown) == sampled - 2 and first not in shown and second not in shown
    # a sample smaller than the mistakes keeps its size: the reviewed ones make room for others
    at.number_input(key="rv_n").set_value(10).run()
    shown = at.dataframe[0].value["id"].tolist()
    assert len(shown) == 10 and first not in shown and second not in shown


def test_browser_tests_click_rows_at_the_apps_row_height():
    from app.widgets import ROW_PX
    from tests.e2e import conftest

    assert conftest.ROW_PX == ROW_PX


def test_a_bad_file_given_at_start_shows_its_error_on_every_page(app, monkeypatch, write):
    monkeypatch.setenv("ERRORSCOPE_FILE", str(write("bad.csv", "id,y_true,y_pred\n1,a,a\n1,b,a\n")))
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert "duplicate id '1'" in at.error[0].value
    assert "No predictions file is open yet" in at.info[0].value


def test_data_page_opens_no_path_outside_the_data_root(app, tmp_path):
    secret = tmp_path.parent / "secret.csv"
    secret.write_text("id,y_true,y_pred\nroot:x:0:0,hidden-label,hidden-label\n")
    at = app("data")
    at.radio[0].set_value("File path").run()
    for typed in ("/etc/passwd", str(secret), "../secret.csv", str(tmp_path / ".." / "secret.csv")):
        at.text_input[0].input(typed)
        at.button[0].click().run()
        assert not at.exception
        shown = at.error[0].value.replace("\\", "")
        assert "outside the data folder" in shown and "root:x" not in shown and "hidden-label" not in shown
        assert not [b for b in at.button if b.label == "Open with these columns"]  # no way to browse its rows
        assert "digits-demo" in [t.value for t in at.sidebar.text]


def test_an_upload_with_a_very_long_name_opens(app, tmp_path):
    at = app("data")
    at.radio[0].set_value("Upload").run()
    at.file_uploader[0].upload("p" * 300 + ".csv", b"id,y_true,y_pred\n1,cat,cat\n2,cat,dog\n", "text/csv").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, at.error[0].value
    at.run()
    assert "p" * 100 in [t.value for t in at.sidebar.text]
    stored = list(tmp_path.glob("errorscope-upload-*/*.csv"))
    assert len(stored) == 1 and len(stored[0].name) == 104


def test_an_unexpected_error_would_show_a_short_message_not_a_traceback():
    from streamlit import config

    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert config.get_option("client.showErrorDetails") == "none"  # Streamlit logs the traceback on the server


def _markdown_texts(at: AppTest) -> list[str]:
    kinds = ("caption", "markdown", "error", "warning", "info", "success", "title", "header", "subheader")
    return [str(e.value) for kind in kinds for e in (*getattr(at, kind), *getattr(at.sidebar, kind))]


def test_user_text_never_becomes_a_link(app, tmp_path):
    path = tmp_path / "www.evil.org.csv"  # shown in the sidebar's caption
    path.write_text("id,y_true,y_pred,note\nwww.evil.org,http://evil.org/a,mail@evil.org,x\n"
                    "2,http://evil.org/a,http://evil.org/a,y\n")
    at = app("data")
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(path))
    at.button[0].click().run()
    at.run()
    for page in ("data", "overview", "confusion", "review", "shift"):
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        texts = _markdown_texts(at)
        assert any("evil" in t for t in texts), (page, texts)
        for text in texts:  # GitHub-flavoured Markdown links these three forms
            assert "http://" not in text and "www.evil" not in text and "mail@" not in text, (page, text)


def _page_errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error).replace("\\", "")


@pytest.mark.parametrize("page", ["review", "data", "tallies"])
def test_a_damaged_tag_store_gives_one_clear_message_on_each_page(app, tmp_path, page):
    from tests.test_tags_damaged import _filled, _garble

    _filled(tmp_path / "tags.db")
    _garble(tmp_path / "tags.db")
    assert "is damaged" in _page_errors(app(page))


@pytest.mark.parametrize("page", ["review", "data", "tallies"])
def test_a_read_only_tag_store_is_shown(app, tmp_path, page):
    from tests.test_tags_damaged import _lock

    with open_store(tmp_path / "tags.db") as store:
        store.add_category("digits-demo", "blurry")
    _lock(tmp_path / "tags.db")
    try:
        at = app(page)
        assert not at.error, _page_errors(at)
    finally:
        _lock(tmp_path / "tags.db", locked=False)


def test_an_edit_after_the_tag_store_was_deleted_says_so(app, tmp_path):
    at = app("review")
    box = next(t for t in at.text_input if t.label == "New category")
    box.input("blurry")
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.error
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"tags.db{suffix}").unlink(missing_ok=True)
    box = next(t for t in at.text_input if t.label == "New category")
    box.input("dark")
    next(b for b in at.button if b.label == "Add").click().run()
    assert "was deleted or replaced while errorscope had it open; this change was not saved" in _page_errors(at)


def test_opening_a_file_names_it_at_once_forgets_the_demos_human_error_and_keeps_it_in_the_address(app, tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("id,y_true,y_pred\n1,cat,cat\n2,cat,dog\n3,dog,dog\n")
    at = app("data")
    assert at.query_params == {}  # the file given at start needs no address
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(path))
    at.button[0].click().run()  # one run: no change of page
    assert not at.exception, [e.message for e in at.exception]
    sidebar = [t.value for t in at.sidebar.text]
    assert "pets" in sidebar and "digits-demo" not in sidebar
    assert at.number_input[0].value is None  # the demo's human-level error is not the new file's
    assert at.query_params["file"] == str(path) and at.query_params["dataset"] == "pets"
    at.number_input[0].set_value(2.5).run()
    assert float(at.query_params["human"]) == pytest.approx(0.025)

    reloaded = AppTest.from_file(MAIN, default_timeout=60)
    reloaded.query_params = dict(at.query_params)
    reloaded.run()
    reloaded.switch_page("views/data.py").run()
    assert not reloaded.exception
    assert "pets" in [t.value for t in reloaded.sidebar.text]
    assert reloaded.number_input[0].value == pytest.approx(2.5)


def test_an_address_naming_a_file_outside_the_data_root_opens_the_start_file(app, tmp_path):
    secret = tmp_path.parent / "secret.csv"
    secret.write_text("id,y_true,y_pred\n1,hidden-label,hidden-label\n")
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params = {"file": str(secret), "dataset": "secret"}
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    assert "digits-demo" in [t.value for t in at.sidebar.text]
    shown = at.error[0].value.replace("\\", "")
    assert "outside the data folder" in shown and "hidden-label" not in shown


def test_an_uploaded_file_is_kept_in_the_address(app, tmp_path):
    at = app("data")
    at.radio[0].set_value("Upload").run()
    at.file_uploader[0].upload("up.csv", b"id,y_true,y_pred\n1,cat,cat\n2,cat,dog\n", "text/csv").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "up" in [t.value for t in at.sidebar.text]
    assert at.query_params["file"].endswith("up.csv") and at.query_params["dataset"] == "up"


def test_data_page_engine_choice_reads_the_open_file_with_spark(app, spark_session):
    """The Data page's Engine choice: Spark reads the open file again, with the same rows per split."""
    at = app("data")
    assert any("read by DuckDB" in c.value for c in at.caption)
    before = at.dataframe[0].value
    at.radio[1].set_value("spark").run(timeout=600)
    assert not at.exception, [e.message for e in at.exception]
    assert any("read by Spark" in c.value for c in at.caption)
    assert at.dataframe[0].value.equals(before)


def test_after_a_failed_open_the_column_role_form_shows_once(app, tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text("key,gold,guess\n1,cat,cat\n2,cat,dog\n")
    at = app("data")
    at.radio[0].set_value("File path").run()
    at.text_input[0].input(str(path))
    at.button[0].click().run()
    assert "no true-label column" in at.error[0].value.replace("\\", "")
    assert [s.label for s in at.selectbox].count("y_true") == 1  # the failed file's form, not also the open one's
    assert [b.label for b in at.button].count("Apply") == 0


def test_images_from_a_media_folder_named_by_id(app, tmp_path, monkeypatch, demo_path):
    """A file without an image column shows the images of a folder, each named by the pattern; a name that
    would leave the folder shows nothing; a pattern with anything but {id} is refused with a message."""
    frame = pd.read_csv(demo_path).drop(columns=["image"])
    dev = frame.index[frame["split"] == "dev"]
    frame.loc[dev[:2], "id"] = ["../outside", "d_missing"]
    path = tmp_path / "noimages.csv"
    frame.to_csv(path, index=False)
    media = tmp_path / "pictures"
    media.mkdir()
    for image in (demo_path.parent / "images").glob("*.png"):
        shutil.copy(image, media / image.name)
    shutil.copy(next(media.glob("*.png")), tmp_path / "outside.png")  # outside the folder: never shown
    monkeypatch.setenv("ERRORSCOPE_FILE", str(path))
    at = app("data")
    assert "image" not in at.dataframe[0].value  # the file facts, before
    fields = {t.label: t for t in at.text_input}
    fields["Name of an image"].input("{id.__class__}.png")
    fields["Folder of the images"].input("pictures")
    next(b for b in at.button if b.label == "Show these images").click().run()
    assert "write {id} where the example's id goes" in at.error[0].value.replace("\\", "")
    fields = {t.label: t for t in at.text_input}
    fields["Name of an image"].input("{id}.png")
    fields["Folder of the images"].input("pictures")
    next(b for b in at.button if b.label == "Show these images").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("views/review.py").run()
    at.number_input(key="rv_correct").set_value(500).run()  # the whole dev split: its mistakes and the rest
    sheet = at.dataframe[0].value.set_index("id")
    assert len(sheet) == len(dev)
    assert sheet.loc[["../outside", "d_missing"], "image"].isna().all()
    shown = sheet["image"].dropna()
    assert len(shown) == len(dev) - 2 and shown.str.startswith("data:image/png;base64,").all()


def test_review_these_from_a_confusion_cell_opens_the_review_page_on_its_mistakes(app, demo_path):
    at = app("confusion")
    m = dev_matrix(demo_path)
    labels = load_predictions(demo_path).classes
    i, j = max(((a, b) for a in range(len(m)) for b in range(len(m)) if a != b), key=lambda c: m[c])
    at.session_state["cm_cell"] = ("dev", labels[i], labels[j])
    at.run()
    next(b for b in at.button if b.label.startswith("Review and tag these")).click().run()
    assert at.title[0].value == "Review mistakes"
    sheet = at.dataframe[0].value
    assert len(sheet) == m[i, j]
    assert set(sheet["true"]) == {labels[i]} and set(sheet["predicted"]) == {labels[j]}


def test_texts_from_a_second_file_joined_on_id(app, tmp_path, monkeypatch):
    """A file without a text column shows the texts of a second file, matched by id, in the review grid."""
    frame = many_classes.predictions(many_classes.NEWSGROUPS, 400)
    frame.drop(columns=["text"]).to_csv(tmp_path / "preds.csv", index=False)
    texts = frame[["id", "text"]].iloc[1:]  # the first example has no text
    texts.to_parquet(tmp_path / "texts.parquet")
    monkeypatch.setenv("ERRORSCOPE_FILE", str(tmp_path / "preds.csv"))
    at = app("data")
    field = next(t for t in at.text_input if t.label == "File of the texts")
    field.input("preds.csv")  # no text column: refused, nothing changes
    next(b for b in at.button if b.label == "Show these texts").click().run()
    assert "a texts file needs the columns id and text; it lacks text" in at.error[0].value.replace("\\", "")
    field = next(t for t in at.text_input if t.label == "File of the texts")
    field.input("texts.parquet")
    next(b for b in at.button if b.label == "Show these texts").click().run()
    assert not at.error, at.error[0].value
    at.switch_page("views/review.py").run()
    sheet = at.dataframe[0].value.set_index("id")
    expected = frame.set_index("id")["text"].reindex(sheet.index)
    expected[expected.index == frame["id"].iloc[0]] = None
    assert sheet["text"].tolist() == expected.tolist()


def test_label_issues_show_the_texts_of_a_second_file(app, demo_path, tmp_path, monkeypatch):
    """The label-issue queue and its example under review show the texts file's text of each id, as Review does."""
    frame = pd.read_csv(demo_path).drop(columns=["image"])
    frame.to_csv(tmp_path / "preds.csv", index=False)
    texts = pd.DataFrame({"id": frame["id"], "text": [f"Scanned digit {i} of the form" for i in frame["id"]]})
    texts.iloc[1:].to_csv(tmp_path / "texts.csv", index=False)  # the first example has no text
    monkeypatch.setenv("ERRORSCOPE_FILE", str(tmp_path / "preds.csv"))
    monkeypatch.setenv("ERRORSCOPE_TEXTS", str(tmp_path / "texts.csv"))
    at = app("label_issues")
    queue = next(d.value for d in at.dataframe if "rank" in d.value).set_index("id")
    assert len(queue) > 10
    expected = texts.set_index("id")["text"].reindex(queue.index)
    assert queue["text"].tolist() == expected.where(expected.index != frame["id"].iloc[0], None).tolist()
    shown = queue.index[0]  # the example under review, its text beside it
    assert f"Scanned digit {shown} of the form" in [t.value for t in at.text]
