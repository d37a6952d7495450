"""The committed demo data set (demo_data/, made by demo_data/make_demo.py) is complete and shows what it claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import DEMO as DEMO_DIR

CLASSES = [str(c) for c in range(10)]
PROBS = [f"p_{c}" for c in CLASSES]
COLUMNS = ["id", "split", "y_true", "y_pred", *PROBS, "weight", "image", "stroke", "position", "noise", "ink"]
SPLITS = ["train", "train_dev", "dev", "test"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    meta = json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))
    return pd.read_csv(DEMO_DIR / meta["file"], dtype={"id": str, "y_true": str, "y_pred": str})


@pytest.fixture(scope="module")
def mislabeled() -> pd.DataFrame:
    return pd.read_csv(DEMO_DIR / "mislabeled.csv", dtype={"id": str, "true_label": str, "given_label": str})


def split_errors(frame: pd.DataFrame) -> dict[str, float]:
    wrong = frame["y_true"] != frame["y_pred"]
    return {s: float(wrong[frame["split"] == s].mean()) for s in SPLITS}


def test_demo_json(demo_config):
    assert demo_config["file"] == "digits.csv"
    assert demo_config["dataset"] == "digits-demo"
    assert 0 < demo_config["human_error"] < 0.05


def test_columns_and_values(frame):
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 1797  # every image of sklearn.datasets.load_digits
    assert frame["id"].is_unique
    assert frame["id"].str.fullmatch(r"d\d{4}").all()
    assert set(frame["split"]) == set(SPLITS)
    assert set(frame["y_true"]) == set(CLASSES)
    assert set(frame["y_pred"]) <= set(CLASSES)
    assert frame.notna().all().all()
    assert set(frame["weight"]) == {1, 3}
    assert (frame.loc[frame["weight"] == 3, "y_true"].isin(["1", "7"])).all()
    assert set(frame["stroke"]) == {"normal", "thick"}
    assert set(frame["position"]) == {"centred", "off-centre"}
    assert frame["noise"].between(0, 1).all() and frame["ink"].between(0, 1).all()
    # train and train_dev are the clean images; only dev and test are shifted
    clean = frame[frame["split"].isin(["train", "train_dev"])]
    assert (clean["stroke"] == "normal").all() and (clean["position"] == "centred").all()
    assert (clean["noise"] == 0).all()


def test_probabilities(frame):
    p = frame[PROBS].to_numpy(dtype=float)
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)
    argmax = np.array(CLASSES)[p.argmax(axis=1)]
    assert (frame["y_pred"].to_numpy() == argmax).all()


def test_images(frame):
    assert (frame["image"] == "images/" + frame["id"] + ".png").all()
    for rel in frame["image"]:
        path = DEMO_DIR / rel
        assert path.is_file(), rel
        with Image.open(path) as im:
            assert im.format == "PNG", rel
            assert im.mode == "L" and im.size == (64, 64), rel
            im.load()
    on_disk = {p.name for p in (DEMO_DIR / "images").iterdir()}
    assert on_disk == {Path(rel).name for rel in frame["image"]}, "stray or missing image files"
    assert sum((DEMO_DIR / rel).stat().st_size for rel in frame["image"]) < 2_000_000


def test_images_are_dark_digits_on_white(frame):
    with Image.open(DEMO_DIR / frame["image"].iloc[0]) as im:
        pixels = np.asarray(im)
    # nearest-neighbour upscale of an 8x8 image: constant 8x8 blocks
    assert (pixels == np.kron(pixels[::8, ::8], np.ones((8, 8), dtype=pixels.dtype))).all()
    assert pixels.max() == 255 and pixels.min() < 128  # white background, dark strokes


def test_mislabeled(frame, mislabeled):
    assert list(mislabeled.columns) == ["id", "split", "true_label", "given_label"]
    assert mislabeled["id"].is_unique and len(mislabeled) > 0
    assert set(mislabeled["split"]) == {"dev", "test"}
    rows = frame.set_index("id").loc[mislabeled["id"]]
    assert (rows["split"].to_numpy() == mislabeled["split"].to_numpy()).all()
    assert (rows["y_true"].to_numpy() == mislabeled["given_label"].to_numpy()).all()
    assert (mislabeled["true_label"] != mislabeled["given_label"]).all()
    for split in ("dev", "test"):
        share = (mislabeled["split"] == split).sum() / (frame["split"] == split).sum()
        assert 0.02 <= share <= 0.05


def test_four_gaps_are_positive(frame, demo_config):
    err = split_errors(frame)
    gaps = {
        "avoidable bias": err["train"] - demo_config["human_error"],
        "variance": err["train_dev"] - err["train"],
        "data mismatch": err["dev"] - err["train_dev"],
        "dev overfitting": err["test"] - err["dev"],
    }
    assert all(g > 0.005 for g in gaps.values()), gaps
