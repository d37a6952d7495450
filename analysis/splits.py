"""Are the splits big enough? Each split's error with its 95 % interval, whether each gap between two splits is
larger than their sampling noise, the dev size a difference needs, and the rule of thumb for a file's size.

Pure arithmetic on the count table (the normal distribution of the standard library): no scipy needed, so that the
Gaps page can warn about a gap within the noise without the ``ml`` extra.

>>> math.ceil(dev_size_needed(0.02, error=0.10))
3841
>>> rule_of_thumb(5_000)["shares"]
{'train': 0.7, 'dev': 0.15, 'test': 0.15}
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

from analysis.counts import CountTable
from analysis.errors import ErrorscopeError
from analysis.gaps import GAP_TABLE, Gaps, gaps_from_counts
from analysis.metrics import error_count
from analysis.normalize import SPLITS
from analysis.tallies import wilson_interval

_NORMAL = NormalDist()
#: Dev and test sizes of the rule of thumb: 15 % each up to this many rows, then this many, then 1 % each.
SMALL_FILE, DEV_ROWS, LARGE_FILE = 10_000, 10_000, 1_000_000


@dataclass(frozen=True)
class SplitError:
    """One split's labeled examples, its errors and the 95 % Wilson interval of its error."""

    split: str
    rows: int
    errors: int
    error_rate: float | None
    low: float
    high: float


@dataclass(frozen=True)
class GapNoise:
    """Whether a gap between two levels is larger than their sampling noise.

    ``smallest`` is the smallest gap the two splits' sizes tell from zero (two-sided, at ``1 - alpha``, at their
    pooled error); ``p_value`` tests the gap (two-proportion z-test; against the human-level error, a one-sample
    test of the train error); ``real`` is ``p_value < alpha``, that is a gap larger than ``smallest``.
    """

    gap: str
    low: str
    high: str
    value: float
    smallest: float
    p_value: float
    real: bool


@dataclass(frozen=True)
class SplitAdvice:
    splits: tuple[SplitError, ...]
    gaps: tuple[GapNoise, ...]
    rule: dict
    alpha: float

    def noisy(self) -> tuple[GapNoise, ...]:
        """The gaps within the noise of the splits they span."""
        return tuple(g for g in self.gaps if not g.real)

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "splits": [asdict(s) for s in self.splits],
                "gaps": [asdict(g) for g in self.gaps], "rule_of_thumb": self.rule}


def _check_rates(alpha: float, power: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ErrorscopeError(f"the confidence must be between 0 and 1 (0.95 for 95 %), got {1 - alpha:g}")
    if not 0.0 < power < 1.0:
        raise ErrorscopeError(f"the power must be between 0 and 1 (0.8 for 80 %), got {power:g}")


def _z(alpha: float, power: float) -> tuple[float, float]:
    return _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)


def dev_size_needed(difference: float, *, error: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Examples per split needed to tell an error of ``error`` from one of ``error + difference``.

    The closed form of the two-sided two-proportion z-test (Fleiss, without continuity correction):
    ``n = (z_{1-alpha/2} sqrt(2 p q) + z_power sqrt(p1 q1 + p2 q2))^2 / d^2``, ``p`` the mean of the two errors.
    When ``error + difference`` passes 1, the difference is taken below ``error``. Round it up for a count.
    """
    _check_rates(alpha, power)
    if not 0.0 < difference < 1.0:
        raise ErrorscopeError(f"the difference must be a fraction between 0 and 1 (0.01 for 1 point), got "
                              f"{difference:g}")
    if not 0.0 <= error <= 1.0:
        raise ErrorscopeError(f"the error must be a fraction between 0 and 1, got {error:g}")
    p1 = error
    p2 = error + difference if error + difference <= 1.0 else error - difference
    if p2 < 0.0:
        raise ErrorscopeError(f"no error differs by {difference:g} from {error:g} within 0 to 1")
    za, zb = _z(alpha, power)
    mean = (p1 + p2) / 2
    root = za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / difference**2


def smallest_difference(error: float, n1: int, n2: int | None = None, *, alpha: float = 0.05,
                        power: float | None = None) -> float:
    """The smallest error difference that splits of ``n1`` and ``n2`` examples tell from zero (``n2`` None:
    against a known value, such as the human-level error): ``z_{1-alpha/2} sqrt(p q (1/n1 + 1/n2))``, at an
    error ``p``; with ``power``, the difference they detect that often (``+ z_power`` in the factor)."""
    _check_rates(alpha, 0.5 if power is None else power)
    za, zb = _z(alpha, 0.5 if power is None else power)
    spread = 1 / n1 + (1 / n2 if n2 else 0.0)
    return (za + zb) * math.sqrt(max(error * (1 - error), 0.0) * spread)


def gap_p_value(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the two-proportion z-test (pooled) that ``k1 / n1`` and ``k2 / n2`` are equal."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return 2 * _NORMAL.cdf(-abs(k2 / n2 - k1 / n1) / se)


def _one_sample_p(k: int, n: int, value: float) -> float:
    """Two-sided p-value that ``k / n`` comes from an error of ``value`` (z-test with the known value's variance;
    a value of 0 or 1 is refuted by any error on the other side of it)."""
    se = math.sqrt(value * (1 - value) / n)
    if se == 0:
        return 1.0 if k / n == value else 0.0
    return 2 * _NORMAL.cdf(-abs(k / n - value) / se)


def rule_of_thumb(rows: int) -> dict:
    """The method's split for a file of ``rows`` examples: 70/15/15 for a small set, 98/1/1 for a large one, and in
    between dev and test of about 10,000 each (enough to see a 1-point change of a 10 % error in both)."""
    if rows < 1:
        raise ErrorscopeError(f"a file needs at least one row, got {rows}")
    dev = max(0.01 * rows, min(0.15 * rows, DEV_ROWS))
    shares = {"train": round(1 - 2 * dev / rows, 4), "dev": round(dev / rows, 4), "test": round(dev / rows, 4)}
    sizes = {"dev": round(dev), "test": round(dev)}
    sizes["train"] = rows - 2 * sizes["dev"]
    return {"rows": rows, "shares": shares, "sizes": {k: sizes[k] for k in shares}}


def split_errors(counts: CountTable) -> dict[str, SplitError]:
    """Each split's labeled examples, errors and 95 % interval (unweighted counts), in :data:`SPLITS` order."""
    out = {}
    for split in SPLITS:
        table = counts.where(split=split).labeled()
        n = table.rows
        if not n:
            continue
        k = error_count(table)
        out[split] = SplitError(split, n, k, k / n, *wilson_interval(k, n))
    return out


def split_advice(counts: CountTable, *, human: float | None = None, alpha: float = 0.05) -> SplitAdvice:
    """The sizes, errors and intervals of a file's splits, and whether each gap of the decomposition is larger
    than the noise of the splits it spans."""
    _check_rates(alpha, 0.5)
    errors = split_errors(counts)
    gaps: Gaps = gaps_from_counts(counts, human=human)
    noise = []
    for name, *_ in GAP_TABLE:
        value = getattr(gaps, name)
        if value is None:
            continue
        low, high = gaps.span(name)
        b = errors[high]
        if low == "human":
            smallest = smallest_difference(human, b.rows, alpha=alpha)
            p = _one_sample_p(b.errors, b.rows, human)
        else:
            a = errors[low]
            pooled = (a.errors + b.errors) / (a.rows + b.rows)
            smallest = smallest_difference(pooled, a.rows, b.rows, alpha=alpha)
            p = gap_p_value(a.errors, a.rows, b.errors, b.rows)
        noise.append(GapNoise(name, low, high, value, smallest, p, p < alpha))
    return SplitAdvice(tuple(errors.values()), tuple(noise), rule_of_thumb(counts.rows), alpha)
