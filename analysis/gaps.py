"""The bias/variance decomposition: human-level, train, train-dev, dev and test error, and the gaps between them.

>>> g = decompose(human=0.04, train=0.07, train_dev=0.10, dev=0.12, test=0.12)
>>> [round(v, 2) for v in (g.avoidable_bias, g.variance, g.data_mismatch, g.dev_overfitting)]
[0.03, 0.03, 0.02, 0.0]
>>> g.largest
'avoidable_bias'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analysis.counts import CountTable
from analysis.errors import ErrorscopeError, InputError
from analysis.metrics import error_rate
from analysis.normalize import SPLITS

#: Each gap: its name, the error below it and the one above it, what it means and what to try.
GAP_TABLE: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("avoidable_bias", "human", "train", "underfitting: the model does worse than people on its own training data",
     ("Train a bigger model", "Train longer or with a better optimizer (momentum, RMSprop, Adam)",
      "Search the architecture and hyperparameters")),
    ("variance", "train", "train_dev", "overfitting: the model does worse on unseen data of the training distribution",
     ("Get more training data", "Augment the training data", "Regularize (L2, dropout, early stopping)")),
    ("data_mismatch", "train_dev", "dev", "the dev data differ from the training data",
     ("Do error analysis on the dev set to see how it differs from training",
      "Make the training data more like dev (artificial data synthesis)", "Collect more data like dev")),
    ("dev_overfitting", "dev", "test", "the model and its settings were tuned too much to the dev set",
     ("Get a bigger dev set",)),
)
GAP_NAMES = tuple(row[0] for row in GAP_TABLE)
LEVELS = ("human", "train", "train_dev", "dev", "test")
LABELS = {"human": "Human-level", "train": "Train", "train_dev": "Train-dev", "dev": "Dev", "test": "Test",
          "avoidable_bias": "Avoidable bias", "variance": "Variance", "data_mismatch": "Data mismatch",
          "dev_overfitting": "Dev overfitting"}


@dataclass(frozen=True)
class Gaps:
    """Errors at each level (fractions) and the gaps between them; ``None`` where unknown."""

    human: float | None
    train: float | None
    train_dev: float | None
    dev: float | None
    test: float | None
    avoidable_bias: float | None
    variance: float | None
    data_mismatch: float | None
    dev_overfitting: float | None

    @property
    def known(self) -> dict[str, float]:
        """The gaps that could be computed."""
        return {name: getattr(self, name) for name in GAP_NAMES if getattr(self, name) is not None}

    @property
    def largest(self) -> str | None:
        """The name of the largest known gap, when it is positive (None otherwise: nothing to close)."""
        known = self.known
        name = max(known, key=known.__getitem__) if known else None
        return name if name is not None and known[name] > 0 else None

    def span(self, name: str) -> tuple[str, str]:
        """The two levels gap ``name`` lies between: as in :data:`GAP_TABLE`, except variance without a train-dev
        error, which spans train to dev."""
        low, high = next((row[1], row[2]) for row in GAP_TABLE if row[0] == name)
        if name == "variance" and self.train_dev is None:
            high = "dev"
        return low, high

    @property
    def advice(self) -> tuple[str, ...]:
        """What to try for the largest gap."""
        return advice_for(self.largest)

    def to_dict(self) -> dict:
        return {**asdict(self), "largest": self.largest, "advice": list(self.advice)}


def parse_fraction(text: str) -> float:
    """An error given as a fraction (``0.04``) or a percentage (``4%``).

    >>> parse_fraction("0.04"), parse_fraction(" 4% ")
    (0.04, 0.04)
    """
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number; give a fraction like 0.04 or 4%") from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{text!r} is not between 0 and 1; give a fraction like 0.04 or 4%")
    return value


def advice_for(gap: str | None) -> tuple[str, ...]:
    """What to try to close ``gap`` (one of :data:`GAP_NAMES`)."""
    return next((row[4] for row in GAP_TABLE if row[0] == gap), ())


def meaning_of(gap: str) -> str:
    return next(row[3] for row in GAP_TABLE if row[0] == gap)


def _diff(high: float | None, low: float | None) -> float | None:
    return None if high is None or low is None else high - low


def decompose(*, human: float | None = None, train: float | None = None, train_dev: float | None = None,
              dev: float | None = None, test: float | None = None) -> Gaps:
    """Split the errors into avoidable bias, variance, data mismatch and dev overfitting.

    Each error is a fraction in [0, 1] or None (unknown). Without a train-dev error, variance is dev - train and
    data mismatch is unknown; a gap that needs an unknown error is None, never a guess.
    """
    levels = {"human": human, "train": train, "train_dev": train_dev, "dev": dev, "test": test}
    for name, value in levels.items():
        if value is not None and not 0.0 <= value <= 1.0:
            raise ErrorscopeError(f"{name} error must be a fraction between 0 and 1 (0.07 for 7%), not {value}")
    variance = _diff(train_dev, train) if train_dev is not None else _diff(dev, train)
    return Gaps(**levels, avoidable_bias=_diff(train, human), variance=variance,
                data_mismatch=_diff(dev, train_dev), dev_overfitting=_diff(test, dev))


def gaps_from_counts(counts: CountTable, *, human: float | None = None) -> Gaps:
    """The decomposition of a file's per-split errors, with a human-level error given by the user."""
    errors = {s: error_rate(counts.where(split=s)) for s in SPLITS}
    return decompose(human=human, **errors)
