"""Confident learning on the small tables: the thresholds, the calibrated confident joint and the prune counts.

The engine counts (:mod:`analysis.label_issues`); what is done here with the K x K counts follows cleanlab 2.9
(``cleanlab.count`` and ``cleanlab.filter``) rule for rule, so that the flagged examples are cleanlab's:

- the threshold of class k is the mean probability of k over the examples labeled k, 2 for a class without
  examples, clipped below at 2e-6 (``get_confident_thresholds``);
- an example counts in the joint when some probability reaches its class's threshold less 1e-6; its true class is
  that class, or the argmax of all probabilities when several reach theirs; the diagonal is at least 1
  (``compute_confident_joint``);
- calibration scales each row to the count of its given class, the whole to the number of examples, and rounds
  each row keeping its total (largest fractional parts first: ``calibrate_confident_joint``,
  ``round_preserving_row_totals``);
- the prune counts keep at least ``min_examples_per_class`` examples per class (``_keep_at_least_n_per_class``
  with ``frac_noise=1``).

Matrices are indexed ``[given, true]`` as cleanlab's confident joint.
"""

from __future__ import annotations

import numpy as np

#: cleanlab's fuzzy comparison of probabilities.
EPSILON = 1e-6
#: The lowest threshold, and the threshold of a class no example is labeled with.
LOWEST_THRESHOLD = 2 * EPSILON
ABSENT_THRESHOLD = 2.0
_TINY = 1e-100


def thresholds(means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per class: the mean probability of the class among its examples (``means``), 2 without examples."""
    out = np.where(np.asarray(counts) > 0, np.asarray(means, dtype=float), ABSENT_THRESHOLD)
    return np.clip(out, LOWEST_THRESHOLD, None)


def round_preserving_sum(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to integers that keep their rounded sum (cleanlab's ``round_preserving_sum``).

    >>> round_preserving_sum(np.array([0.4, 0.4, 0.2, 2.0])).tolist()
    [1, 0, 0, 2]
    """
    floats = np.asarray(values, dtype=float)
    ints = floats.round()
    orig_sum = np.sum(floats).round()
    int_sum = np.sum(ints).round()
    while abs(int_sum - orig_sum) > EPSILON:
        diff = np.round(orig_sum - int_sum)
        increment = -1 if int(diff < 0.0) else 1
        changes = min(int(abs(diff)), len(floats))
        for i in np.argsort(floats - ints)[::-increment][:changes]:
            ints[i] = ints[i] + increment
        int_sum = np.sum(ints).round()
    return ints.astype(int)


def round_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row rounded keeping its total."""
    return np.array([round_preserving_sum(row) for row in np.asarray(matrix, dtype=float)], dtype=int)


def confident_joint(counts: np.ndarray) -> np.ndarray:
    """The raw joint (``[given, true]`` counts of the confident examples) with its diagonal at least 1."""
    joint = np.array(counts, dtype=np.int64)
    np.fill_diagonal(joint, joint.diagonal().clip(min=1))
    return joint


def calibrate(joint: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    """The joint with each row summing to its class's count and the whole to the number of examples."""
    label_counts = np.asarray(label_counts)
    scaled = (joint.T / np.clip(joint.sum(axis=1), _TINY, None) * label_counts).T
    scaled = scaled / np.clip(np.sum(scaled), _TINY, None) * sum(label_counts)
    return round_rows(scaled)


def estimated_errors(calibrated: np.ndarray, label_counts: np.ndarray) -> int:
    """cleanlab's ``num_label_issues(..., estimation_method="off_diagonal_calibrated")``: the examples off the
    diagonal of the calibrated joint, normalized to a distribution and scaled back to the number of examples."""
    again = calibrate(calibrated, label_counts)
    joint = again / np.clip(float(np.sum(again)), _TINY, None)
    return int(np.rint((1.0 - joint.trace()) * int(np.sum(label_counts))))


def prune_counts(calibrated: np.ndarray, min_examples_per_class: int = 1) -> np.ndarray:
    """How many examples of each given class to remove for each true class, ``[given, true]``.

    At least ``min_examples_per_class`` stay on the diagonal; what that adds to a diagonal is taken evenly from
    the row's non-zero noise counts, and the counts are truncated to integers, as cleanlab's
    ``_keep_at_least_n_per_class`` does with the transposed joint.
    """
    matrix = np.asarray(calibrated).T  # cleanlab's prune_count_matrix: [true, given]
    diagonal = np.diagonal(matrix)
    new_diagonal = np.maximum(diagonal, min_examples_per_class)
    diff = new_diagonal - diagonal
    noise_rates = np.maximum(np.count_nonzero(matrix, axis=0) - 1.0, 1.0)
    new = matrix - diff / noise_rates
    new[new < 0] = 0
    np.fill_diagonal(new, new_diagonal)
    new = new.astype(int)  # _reduce_prune_counts with frac_noise=1 truncates
    return round_rows(new).T
