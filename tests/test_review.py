"""The review sample, the click-through rows of a confusion cell, and images made safe to show."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import ErrorscopeError, load_predictions
from analysis.images import MAX_IMAGE_BYTES, placeholder, resolve_image
from analysis.review import count_mistakes, examples, review_sample, split_rows, tagged_ids

# 10 mistakes (cat 6, dog 3, bird 1), 5 correct, 1 unlabeled in dev; 2 mistakes in test
ROWS = [
    ("c1", "dev", "cat", "dog"), ("c2", "dev", "cat", "dog"), ("c3", "dev", "cat", "bird"),
    ("c4", "dev", "cat", "dog"), ("c5", "dev", "cat", "bird"), ("c6", "dev", "cat", "dog"),
    ("d1", "dev", "dog", "cat"), ("d2", "dev", "dog", "cat"), ("d3", "dev", "dog", "bird"),
    ("b1", "dev", "bird", "cat"),
    ("k1", "dev", "cat", "cat"), ("k2", "dev", "dog", "dog"), ("k3", "dev", "bird", "bird"),
    ("k4", "dev", "cat", "cat"), ("k5", "dev", "dog", "dog"),
    ("u1", "dev", "", "cat"),
    ("t1", "test", "cat", "dog"), ("t2", "test", "dog", "cat"),
]
MISTAKES = [r[0] for r in ROWS if r[1] == "dev" and r[2] and r[2] != r[3]]
CORRECT = [r[0] for r in ROWS if r[1] == "dev" and r[2] and r[2] == r[3]]


def csv_of(rows) -> str:
    return "id,split,y_true,y_pred,text\n" + "".join(f"{i},{s},{t},{p},about {i}\n" for i, s, t, p in rows)


def by_hash(ids, seed=0):
    """The documented order: MD5 of f"{seed}:{id}", ties by id."""
    return sorted(ids, key=lambda i: (hashlib.md5(f"{seed}:{i}".encode()).hexdigest(), i))


@pytest.fixture
def small(write):
    return load_predictions(write("small.csv", csv_of(ROWS)))


# --- the sample ---------------------------------------------------------------------------------------------


def test_sample_is_the_n_mistakes_with_the_smallest_hash(small):
    sample = review_sample(small, n=4)
    assert sample["id"].tolist() == by_hash(MISTAKES)[:4]
    assert not sample["correct"].any()
    assert (sample["y_true"] != sample["y_pred"]).all()
    assert sample.columns.tolist() == ["row", "id", "split", "y_true", "y_pred", "weight", "confidence", "p_given",
                                       "text", "image", "correct"]
    first = sample.iloc[0]
    assert first["text"] == f"about {first['id']}" and first["split"] == "dev"


def test_another_seed_another_sample_and_all_when_n_is_large(small):
    assert review_sample(small, n=4, seed=7)["id"].tolist() == by_hash(MISTAKES, seed=7)[:4]
    everything = review_sample(small, n=100)
    assert everything["id"].tolist() == by_hash(MISTAKES)  # all 10; the unlabeled u1 and test rows never
    assert review_sample(small, n=0).empty


def test_sample_does_not_depend_on_the_file_order(small, write):
    shuffled = load_predictions(write("shuffled.csv", csv_of(list(reversed(ROWS)))))
    assert review_sample(shuffled, n=5)["id"].tolist() == review_sample(small, n=5)["id"].tolist()


def test_ids_still_mistakes_stay_in_the_sample_of_a_newer_model(small, write):
    old = review_sample(small, n=5)["id"].tolist()
    fixed = old[0]  # the newer model gets this one right and makes a new mistake on k1
    newer_rows = [(i, s, t, t if i == fixed else ("dog" if i == "k1" else p)) for i, s, t, p in ROWS]
    new = review_sample(load_predictions(write("newer.csv", csv_of(newer_rows))), n=5)["id"].tolist()
    assert fixed not in new
    assert set(old[1:]) <= set(new)


def test_stratified_sample_is_proportional_to_each_class_mistakes(small):
    # n=5 over cat 6, dog 3, bird 1: 3 + 1.5 + 0.5 -> cat 3, then the .5 tie goes to the larger class, dog
    sample = review_sample(small, n=5, stratify=True)
    assert sample["y_true"].value_counts().to_dict() == {"cat": 3, "dog": 2}
    cats = [i for i in by_hash(MISTAKES) if i.startswith("c")][:3]
    dogs = [i for i in by_hash(MISTAKES) if i.startswith("d")][:2]
    assert sample["id"].tolist() == [i for i in by_hash(MISTAKES) if i in cats + dogs]  # in sample order


def test_stratified_sample_gives_the_remainder_to_the_largest_fraction(small):
    # n=7 over cat 6, dog 3, bird 1: 4.2 + 2.1 + 0.7 -> 4 + 2 + 0, and the one left goes to bird (0.7)
    sample = review_sample(small, n=7, stratify=True, seed=3)
    assert sample["y_true"].value_counts().to_dict() == {"cat": 4, "dog": 2, "bird": 1}
    ranked = by_hash(MISTAKES, seed=3)
    firsts = [i for i in ranked if i.startswith("c")][:4] + [i for i in ranked if i.startswith("d")][:2] + [
        i for i in ranked if i.startswith("b")][:1]
    assert sample["id"].tolist() == [i for i in ranked if i in firsts]  # each class's first by hash, in hash order


def test_correct_predictions_mixed_in_with_a_flag(small):
    sample = review_sample(small, n=3, correct=2)
    assert sample.loc[~sample["correct"], "id"].tolist() == by_hash(MISTAKES)[:3]
    assert sample.loc[sample["correct"], "id"].tolist() == by_hash(CORRECT)[:2]
    assert sample["id"].tolist() == by_hash(by_hash(MISTAKES)[:3] + by_hash(CORRECT)[:2])
    assert (sample.loc[sample["correct"], "y_true"] == sample.loc[sample["correct"], "y_pred"]).all()


def test_filters_by_class_and_ids(small):
    assert review_sample(small, true_class="dog")["id"].tolist() == by_hash(["d1", "d2", "d3"])
    assert review_sample(small, pred_class="bird")["id"].tolist() == by_hash(["c3", "c5", "d3"])
    assert review_sample(small, true_class="cat", pred_class="bird")["id"].tolist() == by_hash(["c3", "c5"])
    assert review_sample(small, ids=["c1", "d2", "k1", "nope"])["id"].tolist() == by_hash(["c1", "d2"])
    assert review_sample(small, ids=[]).empty
    rest = review_sample(small, exclude_ids=["c1", "c2", "c3"])["id"].tolist()
    assert rest == by_hash([i for i in MISTAKES if i not in ("c1", "c2", "c3")])
    assert review_sample(small, split="test")["id"].tolist() == by_hash(["t1", "t2"])
    assert review_sample(small, split="validation", n=2)["id"].tolist() == by_hash(MISTAKES)[:2]


def test_ids_are_matched_as_the_file_has_them(write):
    preds = load_predictions(write("n.csv", "id,y_true,y_pred\n3,a,b\n4,a,b\n5,b,b\n"))
    assert review_sample(preds, ids=[3.0, " 4 ", np.int64(9)])["id"].tolist() == \
        review_sample(preds, ids=["3", "4"])["id"].tolist()
    assert len(review_sample(preds, ids=[3.0])) == 1
    with pytest.raises(ErrorscopeError, match="must be example ids, got None"):
        review_sample(preds, ids=["3", None])


def test_tagged_ids_feed_the_filters(small, store):
    store.add_category("pets", "blurry")
    store.edit("pets", "c1", categories={"blurry": True})
    store.edit("pets", "d1", categories={"blurry": True}, mislabeled=True)
    store.edit("pets", "c2", note="seen")
    assert tagged_ids(store, "pets", category="blurry") == ["c1", "d1"]
    assert tagged_ids(store, "pets", mislabeled=True) == ["d1"]
    assert tagged_ids(store, "pets") == ["c1", "c2", "d1"]
    unseen = review_sample(small, n=100, exclude_ids=tagged_ids(store, "pets", reviewed=True))
    assert set(unseen["id"]) == set(MISTAKES) - {"c1", "c2", "d1"}
    blurry = review_sample(small, ids=tagged_ids(store, "pets", category="blurry"))
    assert blurry["id"].tolist() == by_hash(["c1", "d1"])
    with pytest.raises(ErrorscopeError, match="no category 'dark'.*'blurry'"):
        tagged_ids(store, "pets", category="dark")


def test_sample_on_the_demo_data_matches_pandas(demo_path):
    preds = load_predictions(demo_path)
    frame = pd.read_csv(demo_path, dtype=str)
    dev = frame[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])]
    sample = review_sample(preds, n=100)
    assert 10 < len(dev) < 100
    assert count_mistakes(preds, "dev") == len(dev)
    assert sample["id"].tolist() == by_hash(dev["id"])  # fewer than 100 mistakes: all of them
    assert review_sample(preds, n=10, seed=1)["id"].tolist() == by_hash(dev["id"], seed=1)[:10]
    test = frame[(frame["split"] == "test") & (frame["y_true"] != frame["y_pred"])]
    assert count_mistakes(preds, "test") == len(test)
    assert count_mistakes(preds, "dev", true_class=3) == int((dev["y_true"] == "3").sum())


@pytest.mark.parametrize("kwargs,message", [
    ({"split": "holdout"}, "unknown split 'holdout'; use one of train, train_dev, dev, test"),
    ({"split": "train"}, "no split 'train'; the file has dev, test"),
    ({"n": -1}, "n must be >= 0, got -1"),
    ({"n": 2.5}, "n must be a whole number"),
    ({"correct": -3}, "correct must be >= 0, got -3"),
    ({"true_class": "fish"}, "no class 'fish' (true_class); the classes are bird, cat, dog"),
    ({"ids": "c1"}, "ids must be a collection of ids, not one string"),
])
def test_bad_arguments_are_refused(small, kwargs, message):
    with pytest.raises(ErrorscopeError) as info:
        review_sample(small, **kwargs)
    assert message in str(info.value)


# --- the rows of one confusion cell -------------------------------------------------------------------------


def test_examples_pages_through_one_cell_most_confident_first(demo_path):
    preds = load_predictions(demo_path)
    frame = pd.read_csv(demo_path, dtype={"id": str, "y_true": str, "y_pred": str, "split": str})
    frame["confidence"] = [row[f"p_{row['y_pred']}"] for _, row in frame.iterrows()]

    def ranked(part):  # highest confidence first, file order on ties
        return part.sort_values("confidence", ascending=False, kind="stable")["id"].tolist()

    wrong = frame[frame["y_true"] != frame["y_pred"]]
    true, pred = wrong.groupby(["y_true", "y_pred"]).size().idxmax()  # the most confused cell
    cell = frame[(frame["y_true"] == true) & (frame["y_pred"] == pred)]
    assert len(cell) >= 4
    first = examples(preds, true_class=true, pred_class=int(pred), limit=3)
    assert first["id"].tolist() == ranked(cell)[:3]
    assert first["confidence"].is_monotonic_decreasing
    rest = examples(preds, true_class=int(true), pred_class=pred, limit=100, offset=3)
    assert rest["id"].tolist() == ranked(cell)[3:]
    diagonal = examples(preds, split="test", true_class=true, pred_class=true, limit=1000)
    assert diagonal["id"].tolist() == ranked(frame[(frame["split"] == "test") & (frame["y_true"] == true)
                                                   & (frame["y_pred"] == true)])
    dev = examples(preds, split="dev", true_class=true, pred_class=pred)
    assert dev["id"].tolist() == ranked(cell[cell["split"] == "dev"])
    assert set(dev.columns) >= {"row", "id", "split", "image", "confidence", "stroke"}
    with pytest.raises(ErrorscopeError, match="no class '11'"):
        examples(preds, true_class="11", pred_class=pred)
    with pytest.raises(ErrorscopeError, match="offset must be >= 0"):
        examples(preds, true_class=true, pred_class=pred, offset=-1)


# --- images -------------------------------------------------------------------------------------------------


def png_bytes(size=(4, 4), color=(200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "images" / "a.png").write_bytes(png_bytes())
    (data / "notes.txt").write_text("not an image")
    (tmp_path / "secret.png").write_bytes(png_bytes(color=(0, 0, 0)))
    return data


def test_local_image_becomes_a_data_uri_of_its_bytes(folder):
    uri = resolve_image(folder, "images/a.png")
    assert uri == "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert resolve_image(str(folder), " images/../images/a.png ") == uri  # stays inside: fine


def test_demo_image_resolves_against_the_data_folder(demo_path):
    uri = resolve_image(demo_path.parent, "images/d0001.png")
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == (demo_path.parent / "images" / "d0001.png").read_bytes()


def test_urls_show_only_for_the_hosts_the_user_named(folder):
    url = "https://images.example.org/cat.png"
    assert resolve_image(folder, url) is None  # by default the browser fetches from no other host
    assert resolve_image(folder, url, hosts=["example.org"]) == url
    assert resolve_image(folder, url, hosts=["images.example.org"]) == url
    assert resolve_image(folder, "http://example.org.evil.com/a.png", hosts=["example.org"]) is None
    assert resolve_image(folder, "https://evil.com/?u=example.org", hosts=["example.org"]) is None
    plain = "http://example.org/a%20b"  # plain http and an encoded space, on a named host
    assert resolve_image(folder, plain, hosts=["example.org"]) == plain


def test_image_data_uris_pass_through_when_they_hold_an_image(folder):
    uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert resolve_image(folder, uri) == uri
    upper = "DATA:image/png;base64," + base64.b64encode(png_bytes()).decode()  # the scheme in capitals
    assert resolve_image(folder, upper) == uri  # read like the lower-case one, written back canonical
    assert resolve_image(folder, "data:image/png;base64,iVBORw0KGgo=") is None  # the magic number alone


def _huge_png(path, side: int) -> None:
    Image.new("1", (side, side), 1).save(path, format="PNG")  # one bit per pixel: small to make, small on disk


@pytest.mark.parametrize("side", [20_000, 13_000])
def test_an_image_too_large_to_decode_shows_a_placeholder_at_once(folder, side):
    _huge_png(folder / "images" / "huge.png", side)
    assert (folder / "images" / "huge.png").stat().st_size < 1_000_000
    placeholder()  # made once per process
    start = time.perf_counter()
    uri = resolve_image(folder, "images/huge.png")
    assert time.perf_counter() - start < 0.5  # decoding it took 5.5 s and 1.4 GB
    assert uri == placeholder()
    data = base64.b64encode((folder / "images" / "huge.png").read_bytes()).decode()
    assert resolve_image(folder, "data:image/png;base64," + data) == placeholder()


def test_a_small_file_of_many_pixels_is_shrunk(folder):
    Image.new("RGB", (4800, 300), (10, 200, 10)).save(folder / "images" / "wide.png")
    assert (folder / "images" / "wide.png").stat().st_size < MAX_IMAGE_BYTES
    with Image.open(io.BytesIO(base64.b64decode(resolve_image(folder, "images/wide.png").split(",", 1)[1]))) as t:
        assert t.size == (256, 16)


@pytest.mark.parametrize("value", [
    "../../etc/passwd", "../secret.png", "images/../../secret.png", "/etc/passwd", "file:///etc/passwd",
    "javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "images/missing.png", "notes.txt", "images",
    "data:image/svg+xml,<svg onload='alert(1)'/>", "data:image/png;base64,not base64!", "data:image/png,raw",
    "", "   ", None, 3.5, "C:\\Windows\\win.ini", "\\\\server\\share\\a.png", "images/a.png\x00.txt",
])
def test_unsafe_or_missing_images_are_refused(folder, value):
    assert resolve_image(folder, value) is None


def test_absolute_path_is_refused_even_inside_the_folder(folder):
    assert resolve_image(folder, str(folder / "images" / "a.png")) is None


def test_symlink_out_of_the_folder_is_refused(folder):
    os.symlink(folder.parent / "secret.png", folder / "images" / "link.png")
    os.symlink(folder.parent, folder / "up")
    os.symlink(folder / "images" / "a.png", folder / "inside.png")
    assert resolve_image(folder, "images/link.png") is None
    assert resolve_image(folder, "up/secret.png") is None
    assert resolve_image(folder, "inside.png") == resolve_image(folder, "images/a.png")


def test_large_image_is_shrunk_to_a_thumbnail(folder):
    noise = Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3))
    noise.save(folder / "images" / "big.png")
    assert (folder / "images" / "big.png").stat().st_size > MAX_IMAGE_BYTES
    uri = resolve_image(folder, "images/big.png")
    assert uri.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as thumb:
        assert thumb.size == (256, 192)


def test_parquet_gives_the_same_samples_and_examples_as_csv(tmp_path, demo_path):
    parquet = tmp_path / "demo.parquet"
    pd.read_csv(demo_path).to_parquet(parquet)
    a, b = load_predictions(demo_path), load_predictions(parquet)
    for kwargs in ({"n": 30, "seed": 3}, {"n": 20, "stratify": True, "correct": 5}, {"split": "test", "n": 10}):
        sample = review_sample(b, **kwargs)
        assert len(sample) == kwargs["n"] + kwargs.get("correct", 0)
        pd.testing.assert_frame_equal(review_sample(a, **kwargs), sample, check_dtype=False)
    cell = {"split": "dev", "true_class": "8", "pred_class": "1", "limit": 2, "offset": 1}
    pd.testing.assert_frame_equal(examples(a, **cell), examples(b, **cell), check_dtype=False)
    assert len(examples(b, **cell)) == 2


@pytest.mark.parametrize("options", [
    {}, {"seed": 7}, {"stratify": True}, {"correct": 40}, {"stratify": True, "correct": 25},
    {"true_class": "3"}, {"pred_class": "8", "n": 5}, {"ids": ["d0005", "d0010", "d0100"]},
], ids=lambda o: ",".join(o) or "plain")
def test_a_sample_from_the_split_rows_in_memory_is_the_sample_from_the_file(demo_path, options):
    """The app keeps the split's rows and draws every sample from them: the same rows as a read of the file."""
    preds = load_predictions(demo_path)
    rows = split_rows(preds, "dev")
    assert len(rows) == preds.counts.where(split="dev").labeled().rows
    excluded = rows["id"].iloc[::3].tolist()
    for extra in ({}, {"exclude_ids": excluded}):
        expected = review_sample(preds, split="dev", **options, **extra)
        got = review_sample(preds, split="dev", rows=rows, **options, **extra)
        pd.testing.assert_frame_equal(got, expected)
    with pytest.raises(ErrorscopeError, match="must be the 'test' split's rows"):
        review_sample(preds, split="test", rows=rows)
