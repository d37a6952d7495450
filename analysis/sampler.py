"""Random points for the next runs, each hyperparameter sampled on its natural scale (random rather than a grid).

A parameter is ``name=kind:low:high``:

- ``float`` (or ``linear``): uniform between low and high;
- ``log``: uniform in log10, for rates and weights (``lr=log:1e-4:1``);
- ``1-log``: 1 - beta uniform in log10, for momentum-like values near 1 (``beta=1-log:0.9:0.999``);
- ``int``: a whole number, uniform; ``int-log``: a whole number, uniform in log10 (``units=int-log:32:512``).

Given a runs table, each parameter it holds is narrowed to the promising region (coarse to fine, see
:func:`analysis.runs.next_ranges`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from analysis.errors import ErrorscopeError

KINDS = ("float", "linear", "log", "1-log", "int", "int-log")
_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*([a-z0-9\-]+)\s*:\s*([^:]+?)\s*:\s*([^:]+?)\s*$")


@dataclass(frozen=True)
class Param:
    """One hyperparameter to sample: its name, kind (:data:`KINDS`) and bounds (inclusive)."""

    name: str
    kind: str
    low: float
    high: float

    @property
    def scale(self) -> str:
        """Its scale in :mod:`analysis.runs` terms."""
        return {"log": "log", "int-log": "log", "1-log": "log1m"}.get(self.kind, "linear")


def parse_param(text: str) -> Param:
    """``"lr=log:1e-4:1"`` -> ``Param("lr", "log", 0.0001, 1.0)``, checking the bounds fit the kind.

    >>> parse_param("beta=1-log:0.9:0.999")
    Param(name='beta', kind='1-log', low=0.9, high=0.999)
    """
    match = _SPEC.match(str(text))
    if not match:
        raise ErrorscopeError(f"cannot read the parameter {text!r}; write NAME=KIND:LOW:HIGH with KIND one of "
                              f"{', '.join(KINDS)}, e.g. lr=log:1e-4:1")
    name, kind, low, high = match.groups()
    if kind not in KINDS:
        raise ErrorscopeError(f"unknown kind {kind!r} in {text!r}; use one of {', '.join(KINDS)}")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise ErrorscopeError(f"the bounds of {text!r} must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ErrorscopeError(f"the bounds of {text!r} must be finite numbers with LOW < HIGH")
    if kind in ("log", "int-log") and lo <= 0:
        raise ErrorscopeError(f"a log scale needs bounds > 0: {text!r}")
    if kind == "1-log" and hi >= 1:
        raise ErrorscopeError(f"1-log samples 1 - value on a log scale and needs bounds < 1: {text!r}")
    if kind.startswith("int") and (lo != int(lo) or hi != int(hi)):
        raise ErrorscopeError(f"an int parameter needs whole-number bounds: {text!r}")
    return Param(name, "float" if kind == "linear" else kind, lo, hi)


def sample(params: Sequence[Param], n: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` random points: for each parameter, ``n`` values on its scale. The same seed gives the same points,
    and asking for more points keeps the first ones."""
    if n < 1:
        raise ErrorscopeError(f"the number of points must be at least 1, not {n}")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ErrorscopeError("each parameter may be given once")
    uniform = np.random.default_rng(seed).random((n, len(params)))  # row i is point i, whatever n is
    out = {}
    for p, u in zip(params, uniform.T, strict=True):
        if p.kind == "float":
            out[p.name] = p.low + u * (p.high - p.low)
        elif p.kind == "log":
            out[p.name] = 10 ** (math.log10(p.low) + u * (math.log10(p.high) - math.log10(p.low)))
        elif p.kind == "1-log":
            lo, hi = math.log10(1 - p.high), math.log10(1 - p.low)
            out[p.name] = 1 - 10 ** (lo + u * (hi - lo))
        elif p.kind == "int":
            out[p.name] = np.floor(p.low + u * (p.high - p.low + 1)).astype(np.int64)
        else:  # int-log: uniform in log over [low, high + 1), floored
            lo, hi = math.log10(p.low), math.log10(p.high + 1)
            out[p.name] = np.minimum(np.floor(10 ** (lo + u * (hi - lo))), p.high).astype(np.int64)
    return out


def narrow(params: Sequence[Param], ranges: Mapping[str, tuple[float, float]]) -> list[Param]:
    """Each parameter with a promising range (``name -> (low, high)``) narrowed to it, within its own bounds."""
    out = []
    for p in params:
        if p.name not in ranges or not all(map(math.isfinite, ranges[p.name])):  # e.g. 1-log of values >= 1
            out.append(p)
            continue
        lo, hi = sorted(ranges[p.name])
        lo, hi = max(lo, p.low), min(hi, p.high)
        if p.kind.startswith("int"):
            lo, hi = math.ceil(lo), math.floor(hi)
        out.append(replace(p, low=lo, high=hi) if lo < hi else p)
    return out


def points_frame(points: Mapping[str, np.ndarray]):
    """The points as a DataFrame, one column per parameter in the order given."""
    import pandas as pd

    return pd.DataFrame(dict(points))
