"""The rankings of likely label errors, by name (no heavy import: the command line lists them)."""

from __future__ import annotations

#: Ranking methods: name -> (the score it reports, whether examples flagged by confident learning come first).
#: The scores are cleanlab's label-quality scores; ``ensemble`` is the mean of the three.
RANKINGS: dict[str, tuple[str, bool]] = {
    "self_confidence": ("self_confidence", False),
    "normalized_margin": ("normalized_margin", False),
    "confidence_weighted_entropy": ("confidence_weighted_entropy", False),
    "ensemble": ("ensemble", False),
    "flag_then_self_confidence": ("self_confidence", True),
    "flag_then_margin": ("normalized_margin", True),
}
#: The ranking methods.
METHODS: tuple[str, ...] = tuple(RANKINGS)
#: The method the review queue uses unless told otherwise. On the crowd-verified MNIST and IMDB files it finds as
#: many confirmed label errors in the top 20 and top 100 as cleanlab's self-confidence ranking (README, "Likely
#: label errors"), and its head is the examples confident learning flags, the count the queue reports.
DEFAULT_METHOD = "flag_then_margin"
