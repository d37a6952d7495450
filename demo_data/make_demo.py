"""Build errorscope's demo data set from scikit-learn's handwritten digits.

Run from the repository root::

    python demo_data/make_demo.py

It writes, next to this script:

- ``digits.csv``: one row per example with the model's predictions (the input format of errorscope);
- ``images/dNNNN.png``: each example's 8x8 image, exactly as the model saw it, upscaled to 64x64;
- ``mislabeled.csv``: the dev and test examples whose label was deliberately changed;
- ``digits_b.csv``: a second model's predictions of the same examples, trained differently (for comparing);
- ``demo.json``: the file name, the data set name, the human-level error and the second model's file.

Everything is derived from ``sklearn.datasets.load_digits`` (it ships with scikit-learn, nothing is
downloaded) and from one seed, so a second run rewrites the same bytes. See README.md beside this script for
what each step is meant to show.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.special import softmax
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from analysis.gaps import LABELS, decompose
from analysis.normalize import SPLITS

SEED = 0
OUT = Path(__file__).resolve().parent
IMAGE_DIR = "images"

# Split sizes; `test` gets the rest (1797 - 1200 = 597 examples).
SIZES = {"train": 600, "train_dev": 300, "dev": 300}
SHIFTED = ("dev", "test")

# The shift of dev and test, as from a different scanner: about half the digits get thicker strokes (a 3x3 grey
# dilation blended in at THICK_ALPHA of its intensity: a grey halo around each stroke), a few are cropped
# off-centre (moved by one pixel in one of the 8 directions), and every image gets Gaussian pixel noise whose
# standard deviation is drawn uniformly from [0, NOISE_MAX] (pixel scale 0..16 of load_digits).
THICK_PROB = 0.5
THICK_ALPHA = 0.5
MOVE_PROB = 0.05
MOVES = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
NOISE_MAX = 1.0
STROKES = ("normal", "thick")  # values of the `stroke` column
POSITIONS = ("centred", "off-centre")  # values of the `position` column

# Share of dev and test labels replaced by a wrong class.
FLIP_RATE = 0.03

# Model: L2-regularized logistic regression on the 64 pixels. C is picked on dev from this grid, then one
# additive logit offset per class is tuned on dev as well (coordinate descent over OFFSET_GRID).
C_GRID = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1, 1.0)
OFFSET_GRID = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.25), 2)
OFFSET_PASSES = 3

# Mistakes on examples labeled 1 or 7 cost three times as much (see README.md).
HEAVY_CLASSES = (1, 7)
HEAVY_WEIGHT = 3

HUMAN_ERROR = 0.01

# Model B (see write_second_model): its file and its own seed.
SECOND_FILE = "digits_b.csv"
SECOND_SEED = 1
UPSCALE = 8  # 8x8 -> 64x64 pixels


def quantize(images: np.ndarray) -> np.ndarray:
    """Ink levels 0..255 (uint8) of images on load_digits' 0..16 scale, clipped to that range."""
    return np.rint(np.clip(images, 0.0, 16.0) * (255.0 / 16.0)).astype(np.uint8)


def features(ink: np.ndarray) -> np.ndarray:
    """Model input: the quantized ink levels back on the 0..16 scale, one row of 64 pixels per image."""
    return ink.reshape(len(ink), -1).astype(np.float64) * (16.0 / 255.0)


def translate(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move an image by (dy, dx) pixels; what leaves the frame is lost, what enters is blank."""
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def shift(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thicken some strokes, move some digits off-centre and add noise.

    Returns the shifted images, the thick-stroke flags, the off-centre flags and the noise sd (0..16 pixel scale)
    of each image.
    """
    n = len(images)
    thick = rng.random(n) < THICK_PROB
    moved = rng.random(n) < MOVE_PROB
    direction = rng.integers(len(MOVES), size=n)
    noise_sd = rng.uniform(0.0, NOISE_MAX, n)
    out = images.astype(np.float64).copy()
    for i in range(n):
        if thick[i]:
            out[i] = np.maximum(out[i], THICK_ALPHA * ndimage.grey_dilation(out[i], size=(3, 3)))
        if moved[i]:
            out[i] = translate(out[i], *MOVES[direction[i]])
        out[i] = out[i] + rng.normal(0.0, noise_sd[i], out[i].shape)
    return out, thick, moved, noise_sd


def error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true != y_pred))


def tune_offsets(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class logit offsets that minimize the error on (logits, y); ties keep the smaller offset."""
    offsets = np.zeros(logits.shape[1])
    for _ in range(OFFSET_PASSES):
        for c in range(logits.shape[1]):
            best = None
            for g in OFFSET_GRID:
                trial = offsets.copy()
                trial[c] = g
                key = (error(y, np.argmax(logits + trial, axis=1)), abs(g), g)
                if best is None or key < best:
                    best = key
            offsets[c] = best[2]
    return offsets


def fmt_prob(p: float) -> str:
    return f"{p:.6g}"


def write_second_model(X, given, split, images, C, header, ids, weight, thick, moved, noise_sd, inked) -> np.ndarray:
    """Model B, trained differently: the same logistic regression, its training set doubled with a shifted copy
    of each training image (artificial data synthesis, as the data-mismatch advice says), no class offsets.

    Its own seed, drawn after everything else, so that digits.csv is unchanged. Writes SECOND_FILE beside
    digits.csv (same columns and images) and returns B's predictions.
    """
    rng = np.random.default_rng(SECOND_SEED)
    tr = np.flatnonzero(split == "train")
    synthetic = features(quantize(shift(images[tr], rng)[0]))
    model = LogisticRegression(C=C, max_iter=10_000).fit(np.vstack([X[tr], synthetic]),
                                                         np.concatenate([given[tr], given[tr]]))
    proba = model.predict_proba(X)
    pred = np.argmax(proba, axis=1)
    with open(OUT / SECOND_FILE, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i in range(len(ids)):
            probs = [fmt_prob(p) for p in proba[i]]
            if int(np.argmax([float(p) for p in probs])) != pred[i]:  # a tie broken otherwise by the rounding
                pred[i] = int(np.argmax([float(p) for p in probs]))
            w.writerow([ids[i], split[i], int(given[i]), int(pred[i]), *probs, int(weight[i]),
                        f"{IMAGE_DIR}/{ids[i]}.png", STROKES[int(thick[i])], POSITIONS[int(moved[i])],
                        f"{noise_sd[i] / 16.0:.4f}", f"{inked[i]:.4f}"])
    return pred


def main() -> None:
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images, labels = digits.images, digits.target.astype(int)
    n = len(labels)
    ids = np.array([f"d{i + 1:04d}" for i in range(n)])  # d0001 is row 0 of load_digits()

    # Split at random; train_dev is drawn from the same (clean) images as train.
    order = rng.permutation(n)
    split = np.empty(n, dtype=object)
    start = 0
    for name, size in SIZES.items():
        split[order[start : start + size]] = name
        start += size
    split[order[start:]] = "test"

    # Shift dev and test. Train and train_dev keep the original images.
    pixels = images.astype(np.float64).copy()
    thick = np.zeros(n, dtype=bool)
    moved = np.zeros(n, dtype=bool)
    noise_sd = np.zeros(n)
    for name in SHIFTED:
        rows = np.flatnonzero(split == name)
        pixels[rows], thick[rows], moved[rows], noise_sd[rows] = shift(images[rows], rng)
    ink = quantize(pixels)  # what the model sees and what the PNG shows
    X = features(ink)

    # Flip a few dev and test labels to another class.
    given = labels.copy()
    flipped: list[int] = []
    for name in SHIFTED:
        rows = np.flatnonzero(split == name)
        k = int(round(FLIP_RATE * len(rows)))
        chosen = np.sort(rng.choice(rows, size=k, replace=False))
        given[chosen] = (labels[chosen] + rng.integers(1, 10, size=k)) % 10
        flipped.extend(chosen.tolist())
    flipped.sort()
    assert np.all(given[flipped] != labels[flipped])

    # Train on train only; pick C on dev (with its given labels, as a team would), then tune class offsets
    # on dev too.
    tr, dv = split == "train", split == "dev"
    best = None
    for C in C_GRID:
        model = LogisticRegression(C=C, max_iter=10_000).fit(X[tr], given[tr])
        dev_err = error(given[dv], model.predict(X[dv]))
        if best is None or dev_err < best[0]:
            best = (dev_err, C, model)
    _, C, model = best
    logits = model.decision_function(X)
    offsets = tune_offsets(logits[dv], given[dv])
    proba = softmax(logits + offsets, axis=1)
    pred = np.argmax(proba, axis=1)

    weight = np.where(np.isin(given, HEAVY_CLASSES), HEAVY_WEIGHT, 1)
    inked = (ink.reshape(n, -1) >= 128).mean(axis=1)  # share of the 64 pixels at least half dark

    # Images: dark digit on white, nearest-neighbour upscale, exactly the quantized pixels the model saw.
    image_dir = OUT / IMAGE_DIR
    image_dir.mkdir(exist_ok=True)
    for old in image_dir.glob("*.png"):
        old.unlink()
    for i in range(n):
        tile = np.kron(255 - ink[i], np.ones((UPSCALE, UPSCALE), dtype=np.uint8))
        Image.fromarray(tile).save(image_dir / f"{ids[i]}.png", optimize=True)

    # Predictions file.
    header = ["id", "split", "y_true", "y_pred", *[f"p_{c}" for c in range(10)], "weight", "image"]
    header += ["stroke", "position", "noise", "ink"]
    with open(OUT / "digits.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i in range(n):
            probs = [fmt_prob(p) for p in proba[i]]
            assert int(np.argmax([float(p) for p in probs])) == pred[i], ids[i]
            w.writerow(
                [
                    ids[i],
                    split[i],
                    int(given[i]),
                    int(pred[i]),
                    *probs,
                    int(weight[i]),
                    f"{IMAGE_DIR}/{ids[i]}.png",
                    STROKES[int(thick[i])],
                    POSITIONS[int(moved[i])],
                    f"{noise_sd[i] / 16.0:.4f}",
                    f"{inked[i]:.4f}",
                ]
            )

    with open(OUT / "mislabeled.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "split", "true_label", "given_label"])
        for i in flipped:
            w.writerow([ids[i], split[i], int(labels[i]), int(given[i])])

    pred_b = write_second_model(X, given, split, images, C, header, ids, weight, thick, moved, noise_sd, inked)

    meta = {"file": "digits.csv", "dataset": "digits-demo", "human_error": HUMAN_ERROR, "second_model": SECOND_FILE}
    (OUT / "demo.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    # Report.
    for s in SHIFTED:
        rows = split == s
        print(f"{s:<4} model B error: {error(given[rows], pred_b[rows]):.2%} (A: {error(given[rows], pred[rows]):.2%})")
    wrong = given != pred
    is_flipped = np.isin(np.arange(n), flipped)
    errs = {s: float(wrong[split == s].mean()) for s in SPLITS}
    werrs = {s: float(np.average(wrong[split == s], weights=weight[split == s])) for s in SPLITS}
    print(f"C picked on dev: {C:g}; class offsets tuned on dev: {' '.join(f'{o:+g}' for o in offsets)}")
    print(f"{'split':<10} {'n':>4} {'error':>7} {'weighted':>9} {'mislabeled':>10} {'error vs true labels':>21}")
    for s in SPLITS:
        rows = split == s
        true_err = float(np.mean(labels[rows] != pred[rows]))
        counts = f"{s:<10} {rows.sum():>4} {errs[s]:>7.2%} {werrs[s]:>9.2%}"
        print(f"{counts} {(rows & is_flipped).sum():>10} {true_err:>21.2%}")
    print(f"human-level error: {HUMAN_ERROR:.2%}")
    gaps = decompose(human=HUMAN_ERROR, **errs)
    for name, value in gaps.known.items():
        print(f"{LABELS[name].lower():<16} {value:+.2%}")
    for s in SHIFTED:
        rows = split == s
        for column, flag, values in (("stroke", thick, STROKES), ("position", moved, POSITIONS)):
            for value, on in zip(values, (False, True), strict=True):
                sel = rows & (flag == on)
                print(f"{s:<4} {column + '=' + value:<20} n={sel.sum():>3} error={wrong[sel].mean():.2%}")
        sel = rows & is_flipped
        hits = (pred[sel] == labels[sel]).sum()
        print(
            f"{s:<4} mislabeled rows: {sel.sum()}, counted as errors: {wrong[sel].sum()},"
            f" model predicts the true label: {hits}"
        )


if __name__ == "__main__":
    main()
