"""Error by slice and slice discovery, against the `sliceline` package, pandas group-bys and a hand computation."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from analysis import ErrorscopeError, load_predictions
from analysis.filters import Predicate, filter_json, filter_sql, filtered_counts, parse_filter
from analysis.slices import Context, error_by_slice, find_slices, slice_columns
from tests.test_cli import run

COLUMNS = {"a": 4, "b": 6, "c": 3, "d": 5, "e": 8}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """10,000 rows, five categorical columns; errors 0.1, 0.5 where a=a1 and b=b2, at least 0.3 where c=c0."""
    rng = np.random.default_rng(0)
    n = 10_000
    x = pd.DataFrame({k: [f"{k}{v}" for v in rng.integers(0, m, n)] for k, m in COLUMNS.items()})
    p = np.full(n, 0.1)
    p[(x.a == "a1") & (x.b == "b2")] = 0.5
    p[x.c == "c0"] = np.maximum(p[x.c == "c0"], 0.3)
    err = rng.random(n) < p
    y_true = np.where(rng.random(n) < 0.5, "x", "y")
    y_pred = np.where(err, np.where(y_true == "x", "y", "x"), y_true)
    frame = pd.concat([pd.DataFrame({"id": range(n), "y_true": y_true, "y_pred": y_pred}), x], axis=1)
    path = tmp_path_factory.mktemp("planted") / "planted.csv"
    frame.to_csv(path, index=False)
    return load_predictions(path), x, err


def _as_dicts(found) -> list[dict]:
    return [{p.column: p.value for p in s.predicates} for s in found.slices]


@pytest.mark.parametrize(("levels", "k", "support"), [(1, 5, 50), (2, 10, 30), (3, 10, 60)])
def test_top_k_equals_the_sliceline_package(planted, levels, k, support):
    from sliceline.slicefinder import Slicefinder

    preds, x, err = planted
    ref = Slicefinder(alpha=0.95, k=k, max_l=levels, min_sup=support, verbose=False)
    ref.fit(x.to_numpy(), err.astype(float))
    found = find_slices(preds, "dev", list(COLUMNS), max_predicates=levels, min_support=support, top=k, alpha=0.95)
    stats = ref.top_slices_statistics_
    assert len(found.slices) == len(stats) > 0
    np.testing.assert_allclose([s.score for s in found.slices], [s["slice_score"] for s in stats], atol=1e-6)
    assert [s.size for s in found.slices] == [int(s["slice_size"]) for s in stats]
    assert [s.errors for s in found.slices] == [int(s["sum_slice_error"]) for s in stats]
    theirs = [{c: v for c, v in zip(COLUMNS, row, strict=True) if v is not None} for row in ref.top_slices_]
    key = lambda d: sorted(d.items())  # noqa: E731
    assert sorted(_as_dicts(found), key=key) == sorted(theirs, key=key)


def test_the_planted_slices_are_the_top_ones(planted):
    preds, x, err = planted
    found = find_slices(preds, "dev", list(COLUMNS), max_predicates=3, top=5)
    top3 = _as_dicts(found)[:3]
    assert {"a": "a1", "b": "b2"} in top3 and {"c": "c0"} in top3
    for s in found.slices:  # each slice's counts are those of its rows
        mask = np.logical_and.reduce([(x[p.column] == p.value).to_numpy() for p in s.predicates])
        assert (s.size, s.errors) == (int(mask.sum()), int(err[mask].sum()))
    assert found.rows == 10_000 and found.errors == int(err.sum())


def test_wilson_intervals_equal_a_hand_computation(write):
    rows = ["id,y_true,y_pred,site"] + [f"{i},a,{'b' if i < 10 else 'a'},north" for i in range(100)]
    rows += [f"{100 + i},a,{'b' if i < 1 else 'a'},south" for i in range(7)]
    table = error_by_slice(load_predictions(write("p.csv", "\n".join(rows) + "\n")), "dev", ["site"])
    z = 1.959964  # the 97.5% normal quantile, as analysis.tallies rounds it
    for value, k, n in (("north", 10, 100), ("south", 1, 7)):
        row = table[table["value"] == value].iloc[0]
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert (row["examples"], row["errors"]) == (n, k)
        assert row["low"] == pytest.approx(centre - half, abs=1e-12)
        assert row["high"] == pytest.approx(centre + half, abs=1e-12)
        assert row["share_of_errors"] == pytest.approx(k / 11)
        assert row["lift"] == pytest.approx(p / (11 / 107))
    assert table.loc[table["value"] == "north", "low"].iloc[0] == pytest.approx(0.0552, abs=1e-4)


@pytest.fixture(scope="module")
def adult(adult_path):
    return load_predictions(adult_path), pd.read_parquet(adult_path)


def test_adult_error_by_slice_equals_a_pandas_group_by(adult):
    preds, frame = adult
    table = error_by_slice(preds, "dev")
    dev = frame[frame["split"] == "dev"].assign(err=lambda f: f["y_true"] != f["y_pred"])
    assert set(table["column"]) >= {"workclass", "education", "age", "capital_gain", "y_true", "y_pred",
                                    "confidence", "native_country"}
    for col in ("workclass", "education", "marital_status", "occupation", "race", "sex", "native_country"):
        want = dev.groupby(col)["err"].agg(["size", "sum", "mean"])
        got = table[table["column"] == col].set_index("value")
        assert sorted(got.index) == sorted(want.index)
        assert got.loc[want.index, "examples"].tolist() == want["size"].tolist()
        np.testing.assert_allclose(got.loc[want.index, "error_rate"], want["mean"], rtol=1e-12)
    for col in ("age", "hours_per_week", "capital_gain"):  # numbers in bins: the predicate's range in pandas
        for row in table[table["column"] == col].itertuples():
            low, high = row.predicate.value
            x = dev[col].astype(float)
            mask = (x >= (-np.inf if low is None else low)) & (x < (np.inf if high is None else high))
            assert row.examples == int(mask.sum()) and row.errors == int(dev["err"][mask].sum())
        assert table[table["column"] == col]["examples"].sum() == len(dev)
    assert table.loc[table["value"] == "= 0", "column"].tolist() == ["capital_gain", "capital_loss"]


def test_adult_slices_hold_the_rows_pandas_finds(adult):
    preds, frame = adult
    found = find_slices(preds, "train", max_predicates=2, top=8)
    train = frame[frame["split"] == "train"].assign(
        confidence=lambda f: np.where(f["y_pred"] == "high", f["p_high"], f["p_low"]))
    err = (train["y_true"] != train["y_pred"]).to_numpy()
    assert found.rows == 26_049 and found.errors == 3_369 and found.min_support == 261
    assert len(found.slices) == 8 and found.slices[0].score >= found.slices[-1].score > 0
    for s in found.slices:
        mask = np.ones(len(train), dtype=bool)
        for p in s.predicates:
            values = train[p.column]
            if p.op == "=":
                mask &= (values.astype(str) == p.value).to_numpy()
            else:
                low, high = p.value
                x = values.astype(float)
                mask &= ((x >= (-np.inf if low is None else low)) & (x < (np.inf if high is None else high))).to_numpy()
        assert (s.size, s.errors) == (int(mask.sum()), int(err[mask].sum()))
        assert {p.column for p in s.predicates} != {"y_true", "y_pred"}  # a confusion cell is not a slice


def test_the_demo_s_planted_difficulty_is_the_top_slice(demo_path):
    preds = load_predictions(demo_path)
    for split in ("dev", "test"):
        top = find_slices(preds, split, top=3).slices[0]
        assert [p.to_dict() for p in top.predicates] == [{"column": "position", "op": "=", "value": "off-centre"}]
        assert top.error_rate > 0.5


def test_tags_are_slice_columns(demo_path, store):
    preds = load_predictions(demo_path)
    store.add_category("d", "blurry")
    dev = preds.query("SELECT id, y_true <> y_pred AS wrong FROM preds WHERE split = 'dev' ORDER BY id")
    wrong = dev[dev["wrong"]]["id"].tolist()
    for i in wrong[:6]:
        store.edit("d", i, categories={"blurry": True})
    for i in wrong[6:10]:
        store.edit("d", i, reviewed=True)
    store.edit("d", wrong[10], mislabeled=True, corrected_label="3")
    ctx = Context(tags=store.tags("d"), categories=("blurry",))
    cols, _ = slice_columns(preds, "dev", context=ctx)
    assert [c.name for c in cols][-2:] == ["tag:blurry", "tag:mislabeled"]
    table = error_by_slice(preds, "dev", ["tag:blurry", "tag:mislabeled"], context=ctx).set_index(
        ["column", "value"])
    assert table.loc[("tag:blurry", "yes"), "examples"] == 6 and table.loc[("tag:blurry", "no"), "examples"] == 5
    assert table.loc[("tag:mislabeled", "yes"), "errors"] == 1
    found = find_slices(preds, "dev", context=ctx)  # tags only when named: reviewed examples are mostly mistakes
    assert found.slices and not any(p.column.startswith("tag:") for s in found.slices for p in s.predicates)
    named = find_slices(preds, "dev", ["tag:blurry", "position"], max_predicates=1, min_support=5, context=ctx)
    assert any(s.label == "tag:blurry = yes" for s in named.slices)
    where = filter_sql(preds, [Predicate("tag:blurry", "=", "yes")], tags=store.tags("d"), categories=("blurry",))
    assert filtered_counts(preds, where).rows == 6


def test_a_filter_round_trips_and_counts_what_pandas_counts(demo_path):
    preds = load_predictions(demo_path)
    raw = [{"column": "stroke", "op": "=", "value": "thick"}, {"column": "noise", "op": "range",
                                                                "value": [0.02, None]},
           {"column": "y_true", "op": "=", "value": "8"}]
    predicates = parse_filter(preds, json.dumps(raw))
    assert json.loads(filter_json(predicates)) == raw
    counts = filtered_counts(preds, filter_sql(preds, predicates))
    frame = pd.read_csv(demo_path, dtype={"y_true": str, "y_pred": str})
    want = frame[(frame["stroke"] == "thick") & (frame["noise"] >= 0.02) & (frame["y_true"] == "8")]
    assert counts.rows == len(want) > 0
    assert counts.where(split="test").rows == int((want["split"] == "test").sum())
    assert filtered_counts(preds, filter_sql(preds, ())) is preds.counts


@pytest.mark.parametrize(("raw", "message"), [
    ('[{"column": "nope", "op": "=", "value": "x"}]', "no column 'nope'"),
    ('[{"column": "stroke", "op": "~", "value": "x"}]', "an op among"),
    ('[{"column": "noise", "op": "range", "value": [null, null]}]', "[low, high]"),
    ('[{"column": "stroke", "op": "=", "value": 3}]', "text or null"),
    ('{"column": "stroke"}', "a list of"),
    ("[{", "JSON list"),
])
def test_a_bad_filter_is_refused(demo_path, raw, message):
    with pytest.raises(ErrorscopeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_filter(load_predictions(demo_path), raw)


def test_dates_are_sliced_by_month(write):
    rows = ["id,y_true,y_pred,day"] + [f"{i},a,{'b' if i % 3 == 0 and i < 40 else 'a'},2024-{1 + i // 30:02d}-"
                                       f"{1 + i % 28:02d}" for i in range(90)]
    preds = load_predictions(write("d.csv", "\n".join(rows) + "\n"))
    table = error_by_slice(preds, "dev", ["day"])
    assert table["value"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table["examples"].tolist() == [30, 30, 30] and table["errors"].tolist() == [10, 4, 0]
    feb = table["predicate"].iloc[1]
    assert feb.value == ("2024-02-01", "2024-03-01")
    assert filtered_counts(preds, filter_sql(preds, [feb])).rows == 30


def test_a_column_of_a_million_values_is_refused_at_once(tmp_path):
    n = 1_000_000
    path = tmp_path / "wide.parquet"
    pd.DataFrame({"id": np.arange(n), "y_true": "a", "y_pred": np.where(np.arange(n) % 7, "a", "b"),
                  "user": [f"u{i}" for i in range(n)], "site": np.where(np.arange(n) % 2, "x", "y")}
                 ).to_parquet(path)
    preds = load_predictions(path)
    start = time.perf_counter()
    with pytest.raises(ErrorscopeError, match="'user' has about .* distinct values"):
        find_slices(preds, "dev", ["user", "site"])
    assert time.perf_counter() - start < 20
    found = find_slices(preds, "dev", max_predicates=1)  # every column: the id-like one left out, said why
    assert "user" in found.skipped and found.rows == n


@pytest.mark.parametrize(("options", "message"), [
    ({"max_predicates": 4}, "max_predicates must be 1, 2 or 3"),
    ({"min_support": 0}, "min_support must be"),
    ({"alpha": 0}, "alpha must be in"),
    ({"top": 0}, "top must be"),
    ({"columns": ["nope"]}, "no column 'nope' to slice by"),
    ({"split": "train"}, "no split 'train'"),
])
def test_bad_options_are_refused(demo_path, write, options, message):
    preds = load_predictions(write("p.csv", "id,y_true,y_pred,site\n1,a,a,x\n2,a,b,y\n"))
    with pytest.raises(ErrorscopeError, match=message):
        find_slices(preds, **{"split": "dev", **options})


def test_cli_slices_json_and_csv(demo_path):
    out = json.loads(run("slices", demo_path, "--split", "test", "--top", "3", "--json").stdout)
    assert out["split"] == "test" and 0 < out["error_rate"] < 1 and len(out["slices"]) == 3
    first = out["slices"][0]
    assert set(first) == {"predicates", "size", "errors", "error_rate", "score"}
    assert first["predicates"] == [{"column": "position", "op": "=", "value": "off-centre"}]
    assert out["slices"][0]["score"] >= out["slices"][1]["score"]
    csv_out = run("slices", demo_path, "--columns", "stroke,position", "--max-predicates", "1", "--csv").stdout
    assert csv_out.splitlines()[0] == "slice,size,errors,error_rate,score"
    assert "position = off-centre" in csv_out
    text = run("slices", demo_path).stdout
    assert "position = off-centre" in text and "alpha 0.95" in text


def test_cli_slices_bad_input_exits_2(demo_path):  # the other bad options: test_bad_options_are_refused
    proc = run("slices", demo_path, "--columns", "stroke,nope", ok=False)
    message = "no column 'nope'"
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr


def test_review_and_cell_examples_keep_to_the_slice(demo_path):
    from analysis.review import examples, review_sample

    preds = load_predictions(demo_path)
    where = filter_sql(preds, parse_filter(preds, '[{"column": "position", "op": "=", "value": "off-centre"}]'))
    sample = review_sample(preds, split="dev", n=100, where=where)
    frame = pd.read_csv(demo_path, dtype={"y_true": str, "y_pred": str})
    dev = frame[(frame["split"] == "dev") & (frame["position"] == "off-centre")]
    assert sorted(sample["id"]) == sorted(dev.loc[dev["y_true"] != dev["y_pred"], "id"])
    true, pred = sample.iloc[0][["y_true", "y_pred"]]
    cell = examples(preds, split="dev", true_class=true, pred_class=pred, where=where)
    assert set(cell["position"]) == {"off-centre"} and sample.iloc[0]["id"] in set(cell["id"])
