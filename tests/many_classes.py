"""Predictions files with many classes, made on the spot: 20 Newsgroups' long class names, and 100 classes.

The names are the targets of scikit-learn's ``fetch_20newsgroups`` typed here (nothing is downloaded). The
predictions are synthetic, with the block structure of the real ones: a mistake mostly stays within the name's
group (``comp.*`` taken for another ``comp.*``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.class_order import name_prefix

NEWSGROUPS = [
    "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware", "comp.sys.mac.hardware",
    "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles", "rec.sport.baseball", "rec.sport.hockey",
    "sci.crypt", "sci.electronics", "sci.med", "sci.space", "soc.religion.christian", "talk.politics.guns",
    "talk.politics.mideast", "talk.politics.misc", "talk.religion.misc",
]
HUNDRED = [f"class_{i:03d}" for i in range(100)]


def predictions(classes: list[str], rows: int, *, seed: int = 0, accuracy: float = 0.75,
                within_group: float = 0.8) -> pd.DataFrame:
    """``rows`` examples over ``classes`` in a dev and a test split, each predicted right with ``accuracy``; a
    mistake picks a class of the same name prefix with ``within_group``, else any other class."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    groups = [name_prefix(c) for c in classes]
    true = rng.integers(0, k, rows)
    pred = true.copy()
    wrong = rng.random(rows) > accuracy
    for i in np.nonzero(wrong)[0]:
        mates = [j for j in range(k) if groups[j] == groups[true[i]] and j != true[i]]
        pool = mates if mates and rng.random() < within_group else [j for j in range(k) if j != true[i]]
        pred[i] = pool[rng.integers(len(pool))]
    names = np.asarray(classes, dtype=object)
    return pd.DataFrame({"id": [f"doc{i}" for i in range(rows)],
                         "split": np.where(np.arange(rows) % 2 == 0, "dev", "test"),
                         "y_true": names[true], "y_pred": names[pred],
                         "text": [f"Message {i} posted to {names[t]}." for i, t in enumerate(true)]})


def write(path: Path, classes: list[str], rows: int, **options) -> Path:
    predictions(classes, rows, **options).to_csv(path, index=False)
    return path
