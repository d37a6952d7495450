"""Runs tables: one row per training run, its hyperparameters and its metrics; choosing among runs with one
optimizing metric and satisficing thresholds, reading each hyperparameter on its natural scale, and the promising
region the next, finer search should sample.

A runs table is a CSV or Parquet file (a run id column, hyperparameter columns, metric columns such as dev error,
latency or size), or a folder of predictions files with a parameters file (:func:`runs_from_folder`). A composite
metric is an arithmetic expression of the columns (``accuracy - 0.5 * latency``), parsed into a tree of allowed
operations and computed over the columns: never ``eval``'d.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import ErrorscopeError, InputError

if TYPE_CHECKING:
    import pandas as pd

#: Names a run id column may have, in order of preference (matched case-insensitively).
RUN_ID_NAMES = ("run_id", "run", "trial", "id", "name")
#: Column names that read as metrics rather than hyperparameters, when the user does not name the hyperparameters.
METRIC_WORDS = re.compile(r"(error|loss|acc|f1|auc|score|perplexity|latency|time|duration|seconds|_ms$|_mb$|bytes|"
                          r"model_size|memory|cost|precision|recall|objective)", re.IGNORECASE)
#: The share of best runs that makes the promising region.
PROMISING_SHARE = 0.15
SCALES = ("linear", "log", "log1m")


# --- reading --------------------------------------------------------------------------------------------------

def read_runs(path: str | Path) -> pd.DataFrame:
    """A runs table from a CSV or Parquet file, or from a folder (:func:`runs_from_folder`), with its run ids in a
    ``run_id`` column (text; the row number from 1 when the table has no id column).

    Raises
    ------
    InputError
        A missing or unreadable file, an empty table, repeated run ids.
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        return runs_from_folder(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; give a runs table (CSV or Parquet, one row per run)")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, skipinitialspace=True)
    except Exception as exc:  # the reader's own message, on one line
        raise InputError(f"{path}: cannot read it as a runs table: {str(exc).splitlines()[0]}") from None
    return _with_run_ids(frame, str(path))


def _with_run_ids(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    import pandas as pd

    if frame.empty:
        raise InputError(f"{where}: the runs table has no rows; it needs one row per run")
    lower = {str(c).lower(): c for c in frame.columns}
    column = next((lower[n] for n in RUN_ID_NAMES if n in lower), None)
    ids = (frame[column].astype(str).str.strip() if column is not None
           else pd.Series([str(i + 1) for i in range(len(frame))]))
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise InputError(f"{where}: the run id {repeated.iloc[0]!r} is in {int((ids == repeated.iloc[0]).sum())} rows; "
                         "give every run an id of its own")
    frame = frame.drop(columns=[column]) if column is not None else frame
    frame.insert(0, "run_id", ids.to_numpy())
    return frame.reset_index(drop=True)


def runs_from_folder(folder: str | Path) -> pd.DataFrame:
    """A runs table from a folder of predictions files, one per run, and a parameters file.

    ``params.csv`` (or ``parameters.csv``) holds one row per run: its ``run_id`` and its hyperparameters; the run's
    predictions file is ``<run_id>.csv`` or ``<run_id>.parquet`` beside it. Each run gets the columns
    ``<split>_error`` and ``<split>_accuracy`` of every split its file has.
    """
    import pandas as pd

    from analysis.load import load_predictions
    from analysis.metrics import accuracy, error_rate

    folder = Path(folder)
    params = next((folder / n for n in ("params.csv", "parameters.csv") if (folder / n).is_file()), None)
    if params is None:
        raise InputError(f"{folder}: no params.csv in the folder; add one with a run_id column and one column per "
                         "hyperparameter, and a predictions file <run_id>.csv or .parquet per run")
    frame = _with_run_ids(pd.read_csv(params, skipinitialspace=True), str(params))
    metrics: list[dict] = []
    for run in frame["run_id"]:
        found = [folder / f"{run}{ext}" for ext in (".csv", ".parquet") if (folder / f"{run}{ext}").is_file()]
        if not found:
            raise InputError(f"{params}: run {run!r} has no predictions file {run}.csv or {run}.parquet in {folder}")
        preds = load_predictions(found[0])
        row = {}
        for split, table in preds.counts.by("split"):
            row[f"{split}_error"] = error_rate(table)
            row[f"{split}_accuracy"] = accuracy(table)
        metrics.append(row)
    return pd.concat([frame, pd.DataFrame(metrics)], axis=1)


# --- the metric to optimize, the thresholds, the composite ------------------------------------------------------

@dataclass(frozen=True)
class Objective:
    """The optimizing metric: a column (or a composite expression) and its direction."""

    metric: str
    direction: str = "min"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "min" else a > b


def parse_objective(text: str) -> Objective:
    """``"dev_error:min"``, ``"accuracy:max"``, or an expression with its direction (``"acc - 0.5*lat:max"``).

    >>> parse_objective("dev_error:min"), parse_objective("accuracy : MAX").direction
    (Objective(metric='dev_error', direction='min'), 'max')
    """
    metric, sep, direction = str(text).rpartition(":")
    direction = direction.strip().lower()
    if not sep or direction not in ("min", "max") or not metric.strip():
        raise ErrorscopeError(f"cannot read the objective {text!r}; write METRIC:min or METRIC:max, e.g. "
                              "dev_error:min")
    return Objective(metric.strip(), direction)


_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}
_THRESHOLD = re.compile(r"^\s*([^<>=!]+?)\s*(<=|>=|==|<|>)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Threshold:
    """A satisficing metric: ``metric op value`` must hold (``latency_ms <= 100``)."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Where it holds; a missing value never does."""
        with np.errstate(invalid="ignore"):
            return _OPS[self.op](values, self.value) & ~np.isnan(values)


def parse_threshold(text: str) -> Threshold:
    """``"latency_ms<=100"`` (also ``<``, ``>=``, ``>``, ``==``).

    >>> parse_threshold("latency_ms <= 100")
    Threshold(metric='latency_ms', op='<=', value=100.0)
    """
    match = _THRESHOLD.match(str(text))
    if not match:
        raise ErrorscopeError(f"cannot read the threshold {text!r}; write METRIC<=NUMBER (or <, >=, >, ==), e.g. "
                              "latency_ms<=100")
    return Threshold(match.group(1), match.group(2), float(match.group(3)))


_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_FUNCTIONS = {"log": np.log, "log10": np.log10, "log2": np.log2, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}


def expression_columns(expression: str) -> list[str]:
    """The column names an expression uses (checking that it is one: :func:`evaluate`)."""
    tree = _parse(expression)
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS})


def _parse(expression: str) -> ast.Expression:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ErrorscopeError(f"cannot read the expression {expression!r}; write arithmetic on column names, e.g. "
                              "accuracy - 0.5 * latency") from None
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Call, *_BINARY, *_UNARY)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            continue
        if not isinstance(node, allowed):
            raise ErrorscopeError(f"the expression {expression!r} may only hold numbers, column names, + - * / ** "
                                  f"and {', '.join(_FUNCTIONS)}; it has {type(node).__name__.lower()}")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS
                                           or len(node.args) != 1 or node.keywords):
            raise ErrorscopeError(f"the expression {expression!r} calls something other than one of "
                                  f"{', '.join(_FUNCTIONS)} with one argument")
    return tree


def evaluate(expression: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """The value of an arithmetic expression of columns, for every row; parsed, never ``eval``'d.

    >>> evaluate("acc - 0.5 * lat", {"acc": np.array([0.9, 0.8]), "lat": np.array([0.2, 0.0])}).tolist()
    [0.8, 0.8]
    """
    tree = _parse(expression)

    def value(node: ast.AST) -> np.ndarray | float:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in columns:
                raise ErrorscopeError(f"the expression {expression!r} names {node.id!r}, which is not a numeric "
                                      f"column; the columns are {', '.join(columns)}")
            return np.asarray(columns[node.id], dtype=float)
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](value(node.operand))
        return _FUNCTIONS[node.func.id](value(node.args[0]))  # a checked call

    with np.errstate(all="ignore"):
        out = np.asarray(value(tree), dtype=float)
    return np.broadcast_to(out, (len(next(iter(columns.values()))),)) if columns else out


def numeric_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The table's numeric columns (besides ``run_id``) as float arrays."""
    import pandas as pd

    return {str(c): frame[c].to_numpy(dtype=float) for c in frame.columns
            if c != "run_id" and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}


def metric_values(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """A numeric column's values, or a composite expression's."""
    columns = numeric_columns(frame)
    if metric in columns:
        return columns[metric]
    if metric in frame.columns:
        raise ErrorscopeError(f"the column {metric!r} does not hold numbers; a metric must")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", metric):
        raise ErrorscopeError(f"the runs table has no column {metric!r}; its numeric columns are "
                              f"{', '.join(columns) or 'none'}")
    return evaluate(metric, columns)


# --- choosing ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """The outcome of choosing among runs.

    ``best``: the index (row) of the best run meeting every threshold, or None; ``values``: the objective of each
    run; ``failed``: per run, the thresholds it fails (empty for feasible runs); ``behind``: how far each feasible
    run is from the best (0 for it, positive = worse, in the objective's units).
    """

    objective: Objective
    thresholds: tuple[Threshold, ...]
    values: np.ndarray
    failed: tuple[tuple[str, ...], ...]
    best: int | None
    behind: np.ndarray = field(repr=False)

    @property
    def feasible(self) -> np.ndarray:
        return np.array([not f for f in self.failed], dtype=bool)


def choose(frame: pd.DataFrame, objective: Objective, thresholds: Sequence[Threshold] = ()) -> Choice:
    """The best run that meets every threshold (the first in the table on a tie), and why each other run is
    not it: the thresholds it fails, or how far it is behind. A run whose objective is missing is excluded."""
    values = metric_values(frame, objective.metric)
    fails: list[list[str]] = [[] for _ in range(len(frame))]
    for threshold in thresholds:
        held = threshold.holds(metric_values(frame, threshold.metric))
        for i in np.flatnonzero(~held):
            fails[i].append(str(threshold))
    for i in np.flatnonzero(np.isnan(values)):
        fails[i].append(f"{objective.metric} is missing")
    feasible = np.array([not f for f in fails], dtype=bool)
    best = None
    if feasible.any():
        scores = np.where(feasible, values if objective.direction == "min" else -values, np.inf)
        best = int(np.argmin(scores))
    sign = 1 if objective.direction == "min" else -1
    behind = np.where(feasible, sign * (values - values[best]), np.nan) if best is not None else np.full(len(frame),
                                                                                                       np.nan)
    return Choice(objective, tuple(thresholds), values, tuple(tuple(f) for f in fails), best, behind)


# --- scales, the promising region, importance ---------------------------------------------------------------------

def detect_scale(values: Sequence[float]) -> str:
    """The natural scale of a hyperparameter from its values: ``log1m`` for momentum-like values near 1 whose
    distance to 1 spans an order of magnitude or more (0.9 to 0.999), ``log`` for positive values spanning two
    orders or more (rates, weights, sizes), else ``linear``; in either case only when the distinct values tried
    spread more evenly on that scale than on a linear one (uniform draws from 0 to 0.5 stay linear).

    >>> detect_scale([1e-4, 1e-3, 0.1]), detect_scale([0.9, 0.99, 0.999]), detect_scale([0.5, 0.7, 1.0])
    ('log', 'log1m', 'linear')
    """
    v = np.unique(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return "linear"
    lo, hi = v.min(), v.max()
    if 0.5 <= lo and hi < 1 and (1 - lo) / (1 - hi) >= 10 and _off_centre(np.log10(1 - v)) < _off_centre(v):
        return "log1m"
    if lo > 0 and hi / lo >= 100 and _off_centre(np.log10(v)) < _off_centre(v):
        return "log"
    return "linear"


def _off_centre(v: np.ndarray) -> float:
    """How far the median of the values tried lies from the middle of their range (0 to 0.5): values tried on a
    scale spread evenly over it (a grid 1, 4, 16... crowds the bottom of a linear axis)."""
    return abs((np.median(v) - v.min()) / (v.max() - v.min()) - 0.5)


def to_scale(values: np.ndarray, scale: str) -> np.ndarray:
    """Values on their scale: log10 for ``log``, log10(1 - v) for ``log1m``."""
    values = np.asarray(values, dtype=float)
    if scale == "log":
        return np.log10(values)
    if scale == "log1m":
        return np.log10(1 - values)
    return values


def from_scale(values: np.ndarray, scale: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if scale == "log":
        return 10 ** values
    if scale == "log1m":
        return 1 - 10 ** values
    return values


def hyperparameters(frame: pd.DataFrame, metrics: Sequence[str] = ()) -> list[str]:
    """The hyperparameter columns when the user names none: the columns besides ``run_id``, the ``metrics`` (and
    the columns their expressions use) and columns whose names read as metrics (error, loss, time, size...)."""
    used = set()
    for m in metrics:
        used |= {m} | (set(expression_columns(m)) if m not in frame.columns else set())
    return [str(c) for c in frame.columns if c != "run_id" and c not in used and not METRIC_WORDS.search(str(c))]


def scales(frame: pd.DataFrame, params: Sequence[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each numeric hyperparameter's scale (:func:`detect_scale`), with the user's ``overrides``."""
    numeric = numeric_columns(frame)
    out = {p: detect_scale(numeric[p]) for p in params if p in numeric}
    for p, s in (overrides or {}).items():
        if s not in SCALES:
            raise ErrorscopeError(f"unknown scale {s!r} for {p!r}; use one of {', '.join(SCALES)}")
        if p not in out:
            raise ErrorscopeError(f"no numeric hyperparameter {p!r} to put on a {s} scale")
        values = numeric[p]
        if (s == "log" and np.nanmin(values) <= 0) or (s == "log1m" and np.nanmax(values) >= 1):
            raise ErrorscopeError(f"{p!r} cannot go on a {s} scale: it has values "
                                  f"{'<= 0' if s == 'log' else '>= 1'}")
        out[p] = s
    return out


def promising(choice: Choice, share: float = PROMISING_SHARE) -> np.ndarray:
    """The rows of the best ``share`` of the feasible runs (at least one): the promising region's runs."""
    feasible = np.flatnonzero(choice.feasible)
    if not len(feasible):
        return feasible
    k = max(1, int(math.ceil(share * len(feasible))))
    sign = 1 if choice.objective.direction == "min" else -1
    order = feasible[np.argsort(sign * choice.values[feasible], kind="stable")]
    return order[:k]


@dataclass(frozen=True)
class Range:
    """The next range of a hyperparameter, on its scale: ``low`` and ``high`` in the parameter's own units."""

    param: str
    scale: str
    low: float
    high: float
    integer: bool = False

    def spec(self) -> str:
        """As an ``errorscope suggest --param`` value (``int`` or ``int-log`` for whole-number values)."""
        lo, hi = sorted((self.low, self.high))
        if self.integer and self.scale != "log1m":
            lo, hi = math.floor(lo + 1e-9), math.ceil(hi - 1e-9)  # not past the values tried by a rounding
            return f"{self.param}={'int-log' if self.scale == 'log' else 'int'}:{lo}:{hi}"
        kind = {"linear": "float", "log": "log", "log1m": "1-log"}[self.scale]
        return f"{self.param}={kind}:{lo:.6g}:{hi:.6g}"


def next_ranges(frame: pd.DataFrame, choice: Choice, scale_of: Mapping[str, str], *,
                share: float = PROMISING_SHARE, margin: float = 0.1) -> list[Range]:
    """Coarse to fine: each numeric hyperparameter's span among the promising runs, on its scale, widened by
    ``margin`` of the whole table's span on each side (within the values tried)."""
    rows = promising(choice, share)
    out = []
    if not len(rows):
        return out
    numeric = numeric_columns(frame)
    for param, scale in scale_of.items():
        scaled = to_scale(numeric[param], scale)
        lo_all, hi_all = np.nanmin(scaled), np.nanmax(scaled)
        lo, hi = np.nanmin(scaled[rows]), np.nanmax(scaled[rows])
        pad = margin * (hi_all - lo_all)
        lo, hi = max(lo_all, lo - pad), min(hi_all, hi + pad)
        whole = bool(np.all(numeric[param][~np.isnan(numeric[param])] % 1 == 0))
        out.append(Range(param, scale, float(from_scale(lo, scale)), float(from_scale(hi, scale)), whole))
    return out


def importance(frame: pd.DataFrame, choice: Choice, scale_of: Mapping[str, str], *, evaluator: str = "ped_anova",
               seed: int = 0) -> dict[str, float]:
    """Each hyperparameter's share of the objective's variation, as Optuna computes it (``ped_anova``, Optuna's
    default, or ``fanova``) over the runs with an objective; the runs enter a study as finished trials.

    Needs optuna (``pip install 'errorscope[ml]'``).
    """
    try:
        import optuna
    except ImportError:
        raise ErrorscopeError("hyperparameter importance needs optuna: pip install 'errorscope[ml]'") from None
    from optuna.distributions import FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    numeric = numeric_columns(frame)
    params = [p for p in scale_of if len(np.unique(numeric[p][~np.isnan(numeric[p])])) > 1]
    if not params:
        return {}
    dists, columns = {}, {}
    for p in params:
        values = numeric[p] if scale_of[p] != "log1m" else 1 - numeric[p]  # 1 - beta on a log scale
        columns[p] = values
        dists[p] = FloatDistribution(float(np.nanmin(values)), float(np.nanmax(values)),
                                     log=scale_of[p] in ("log", "log1m"))
    study = optuna.create_study(direction="minimize" if choice.objective.direction == "min" else "maximize")
    trials = [optuna.trial.create_trial(params={p: float(columns[p][i]) for p in params}, distributions=dists,
                                        value=float(choice.values[i]))
              for i in range(len(frame))
              if not np.isnan(choice.values[i]) and not any(np.isnan(columns[p][i]) for p in params)]
    if len(trials) < 2:
        return {}
    study.add_trials(trials)
    if evaluator == "fanova":
        chosen = FanovaImportanceEvaluator(seed=seed)
    elif evaluator == "ped_anova":
        chosen = PedAnovaImportanceEvaluator()
    else:
        raise ErrorscopeError(f"unknown importance evaluator {evaluator!r}; use ped_anova or fanova")
    found = get_param_importances(study, evaluator=chosen, normalize=True)
    return {p: float(found.get(p, 0.0)) for p in params}


# --- the whole report ---------------------------------------------------------------------------------------------

def runs_report(frame: pd.DataFrame, objective: Objective, thresholds: Sequence[Threshold] = (), *,
                params: Sequence[str] | None = None, scale_overrides: Mapping[str, str] | None = None,
                evaluator: str = "ped_anova") -> dict:
    """``errorscope runs --json``: ``objective``, ``best`` (the best feasible run's row, with ``run_id``; None
    without one), ``feasible`` (count), ``excluded`` (``run_id`` and the thresholds each failed), ``behind``
    (each feasible run's distance to the best), ``importance``, ``scales`` and ``next_ranges``."""
    choice = choose(frame, objective, thresholds)
    metrics = [objective.metric, *(t.metric for t in thresholds)]
    params = list(params) if params is not None else hyperparameters(frame, metrics)
    missing = [p for p in params if p not in frame.columns]
    if missing:
        raise ErrorscopeError(f"the runs table has no column {missing[0]!r}; its columns are "
                              f"{', '.join(map(str, frame.columns))}")
    scale_of = scales(frame, params, scale_overrides)
    ids = frame["run_id"].tolist()
    best = None
    if choice.best is not None:
        best = {k: _plain(v) for k, v in frame.iloc[choice.best].items()}
        if objective.metric not in frame.columns:
            best[objective.metric] = float(choice.values[choice.best])
    return {
        "objective": {"metric": objective.metric, "direction": objective.direction},
        "thresholds": [str(t) for t in thresholds],
        "runs": len(frame),
        "best": best,
        "feasible": int(choice.feasible.sum()),
        "excluded": [{"run_id": ids[i], "failed": list(f)} for i, f in enumerate(choice.failed) if f],
        "behind": {ids[i]: float(choice.behind[i]) for i in np.flatnonzero(choice.feasible)},
        "importance": importance(frame, choice, scale_of, evaluator=evaluator) if choice.best is not None else {},
        "scales": scale_of,
        "next_ranges": [r.spec() for r in next_ranges(frame, choice, scale_of)],
    }


def _plain(value: object) -> object:
    """A table cell as a JSON value (numpy numbers as Python ones, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
