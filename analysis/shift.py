"""Do two splits come from one distribution? Per-column two-sample tests and a domain classifier.

Dev and test must come from one distribution; train (or train-dev) and dev may differ, and that data mismatch is
what the method asks to understand. Each column (the metadata, the model's confidence, the predicted-class mix and
the true-class mix) is compared between two splits:

- numbers by the two-sample Kolmogorov-Smirnov test, categories by the chi-squared test of their counts (categories
  expected fewer than 5 times merged), the p-values Bonferroni-corrected over every test run (the columns and the
  domain classifier), with an effect a person can read: the difference of means in standard deviations, the largest
  change of a category's share;
- a domain classifier (scikit-learn's HistGradientBoostingClassifier) learns to tell the two splits apart on a
  sample of each: trained on one half of the sample, scored on the other, its AUC there is tested against 0.5 by
  the Mann-Whitney U test (the exact distribution of the AUC under permuted split labels); the AUC of the same
  classifier trained and scored on permuted labels is shown as the baseline, and the columns it relies on are
  ranked by permutation importance.

After the load, the tests read the file again, never for the class mixes, which the load's count table already
holds; the rows of the two splits are picked by their split as written, and the file is not numbered. On Parquet
each test reads only its columns where they lie; a CSV is parsed once, the tests' columns of the two splits copied
into an engine table. One read counts each categorical column's values (a ``GROUP BY`` per
column, their results in one; a column with more than 10,000 values, an id or free text, is left out, its counts not
returned); one fetches the numbers of the two splits as arrays, so that the KS test is scipy's own ``ks_2samp`` on
the values (the exact statistic, scipy's exact p-value up to 10,000 rows a split, else Smirnov's asymptotic one; 8
bytes a value in memory, 16 MB per number column for two splits of a million rows), run in a thread while the
engine counts the categories; the model's confidence is picked by the predicted class as written, each written form
normalized once (normalizing every row's label costs more than reading its probabilities); and one reads the domain
classifier's sample.
"""

from __future__ import annotations

import importlib
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analysis.engine import open_engine
from analysis.errors import ErrorscopeError, InputError
from analysis.load import Predictions, check_split, split_wheres
from analysis.normalize import literal, numeric_type
from analysis.source import TEXT, Source
from analysis.view import RESERVED, classes_sql, ident, prob_exprs, view_sql

if TYPE_CHECKING:
    import pandas as pd

#: Runs a query in which ``preds`` names the normalized view of the file.
Query = Callable[..., object]

#: The model's outputs compared as columns, by their name in the normalized view.
OUTPUTS = {"confidence": "confidence (max p)", "y_pred": "predicted class", "y_true": "true class"}
#: Categorical columns with more distinct values are not compared (ids, free text).
MAX_CATEGORIES = 10_000
#: Categories the domain classifier tells apart per column (HistGradientBoosting's limit is 255); rarer ones merge.
MAX_CLASSIFIER_CATEGORIES = 250
#: A split needs this many sampled rows for the domain classifier.
MIN_CLASSIFIER_ROWS = 20
BLANK = "(blank)"
OTHER = "(other)"


@dataclass(frozen=True)
class ColumnShift:
    """One column compared between splits ``a`` and ``b``.

    ``p_value`` is Bonferroni-corrected, ``raw_p_value`` not. ``distance`` is comparable across columns: the KS
    statistic for numbers, the total variation distance (half the summed share changes) for categories. ``effect``
    is (mean b - mean a) / pooled standard deviation for numbers, the largest change of a category's share (b - a)
    for categories, that category being ``category``.
    """

    column: str
    kind: str
    test: str
    statistic: float
    raw_p_value: float
    p_value: float
    distance: float
    effect: float
    effect_text: str
    flagged: bool
    category: str | None = None


@dataclass(frozen=True)
class DomainCheck:
    """Can a classifier tell the two splits apart? ``auc`` on held-out rows, ``baseline_auc`` the mean AUC with
    permuted split labels, ``p_value`` (corrected) of the AUC against 0.5, ``sample``: rows sampled per split,
    ``importance``: column -> drop of the AUC when the column is shuffled, largest first (empty when the classifier
    cannot tell the splits apart)."""

    auc: float
    baseline_auc: float | None
    raw_p_value: float
    p_value: float
    flagged: bool
    sample: dict[str, int]
    importance: dict[str, float]


@dataclass(frozen=True)
class Shift:
    """Splits ``a`` and ``b`` compared: the columns most different first, the domain classifier, and the columns
    left out with the reason."""

    a: str
    b: str
    rows: dict[str, int]
    alpha: float
    columns: tuple[ColumnShift, ...]
    domain: DomainCheck | None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """Whether the splits differ: a column's corrected p-value or the domain classifier's is below alpha."""
        return any(c.flagged for c in self.columns) or bool(self.domain and self.domain.flagged)

    def to_dict(self) -> dict:
        d = self.domain
        return {"a": self.a, "b": self.b, "rows": self.rows, "alpha": self.alpha, "flagged": self.flagged,
                "domain_auc": None if d is None else d.auc, "baseline_auc": None if d is None else d.baseline_auc,
                "domain_p_value": None if d is None else d.p_value, "domain_sample": None if d is None else d.sample,
                "domain_importance": None if d is None else d.importance,
                "columns": [{k: _finite(v) for k, v in asdict(c).items()} for c in self.columns],
                "skipped": self.skipped}


def _finite(value: object) -> object:
    """``value``, except an infinite or NaN float (the effect between two constant columns), which is None in JSON."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


# --- the statistics, from grouped counts ---------------------------------------------------------------------


def chi2_from_counts(n_a: np.ndarray, n_b: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity of two samples' category counts (``scipy.stats.chi2_contingency``),
    the categories expected fewer than 5 times in either sample merged into one."""
    from scipy import stats

    table = np.array([n_a, n_b], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    rare = expected.min(axis=0) < 5
    if rare.any():
        table = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def mean_difference(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int) -> float:
    """(mean b - mean a) in pooled standard deviations (Cohen's d); 0 when both samples are constant and equal."""
    pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / max(n_a + n_b - 2, 1)
    diff = mean_b - mean_a
    if pooled <= 0 or not math.isfinite(pooled):
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(pooled)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _numeric_shift(name: str, x_a: np.ndarray, x_b: np.ndarray) -> ColumnShift:
    """The KS test of two samples of numbers (``scipy.stats.ks_2samp``, two-sided, ``method="auto"``)."""
    from scipy import stats

    result = stats.ks_2samp(x_a, x_b)
    ma, mb = float(x_a.mean()), float(x_b.mean())
    va, vb = (float(x.var(ddof=1)) if len(x) > 1 else 0.0 for x in (x_a, x_b))
    effect = mean_difference(ma, va, len(x_a), mb, vb, len(x_b))
    text = f"mean {_number(ma)} → {_number(mb)} ({effect:+.2f} SD)"
    d = float(result.statistic)
    return ColumnShift(name, "numeric", "ks", d, float(result.pvalue), float(result.pvalue), d, effect, text, False)


def _numeric_shifts(values: dict[str, np.ndarray], numbers: list[str]) -> dict[str, ColumnShift | str]:
    """The KS test of each of ``numbers`` between the rows of ``values`` outside and in split b (``__b``), NaN left
    out; for a column without a value in one of the splits, the reason it is skipped."""
    in_b = np.asarray(values["__b"], dtype=bool)
    tested: dict[str, ColumnShift | str] = {}
    for col in numbers:
        x = np.asarray(values[col], dtype=float)
        x_a, x_b = x[~in_b & ~np.isnan(x)], x[in_b & ~np.isnan(x)]
        tested[col] = _numeric_shift(col, x_a, x_b) if len(x_a) and len(x_b) else "no value in one of the splits"
    return tested


def _categorical_shift(name: str, categories: Sequence[str], n_a, n_b) -> ColumnShift:
    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    stat, p = chi2_from_counts(n_a, n_b)
    share_a = n_a / n_a.sum() if n_a.sum() else n_a
    share_b = n_b / n_b.sum() if n_b.sum() else n_b
    change = share_b - share_a
    top = int(np.argmax(np.abs(change)))
    text = f"{categories[top]}: {100 * share_a[top]:.1f}% → {100 * share_b[top]:.1f}%"
    return ColumnShift(name, "categorical", "chi2", stat, p, p, float(np.abs(change).sum() / 2), float(change[top]),
                       text, False, str(categories[top]))


# --- reading the file ------------------------------------------------------------------------------------------


def shift_columns(preds: Predictions) -> dict[str, str]:
    """The columns a shift check can compare, each with its kind (``numeric`` or ``categorical``): the metadata,
    then the model's confidence (with ``p_*`` columns), predicted class and true class."""
    kinds = {}
    for col in preds.columns.metadata:
        if col.lower() in RESERVED:
            continue
        typ = preds.types[preds.names.index(col)]
        kinds[col] = "numeric" if numeric_type(typ) else "categorical"
    if preds.columns.probs:
        kinds["confidence"] = "numeric"
    kinds["y_pred"] = kinds["y_true"] = "categorical"
    return kinds


def _chosen(preds: Predictions, columns: Sequence[str] | None) -> dict[str, str]:
    kinds = shift_columns(preds)
    if columns is None:
        return kinds
    if isinstance(columns, str):
        columns = [columns]
    unknown = [c for c in columns if c not in kinds]
    if unknown:
        raise ErrorscopeError(f"{preds.path}: no column {unknown[0]!r} to compare; the columns are "
                              f"{', '.join(kinds)}")
    if not columns:
        raise ErrorscopeError("give at least one column to compare")
    return {c: kinds[c] for c in dict.fromkeys(columns)}


@contextmanager
def _reader(preds: Predictions, a: str, b: str, kinds: dict[str, str], sample: int | None, seed: int
            ) -> Iterator[Query]:
    """One engine for the queries of a check: ``query(sql, read)`` (``read`` one of the engine's ``fetch``,
    ``arrays`` or ``frame``), with these tables of the rows of splits ``a`` and ``b``:

    - ``__rows``: ``__b`` (whether the row is in ``b``) and the metadata columns of ``kinds`` (:func:`_value`, the
      numbers as read); with the confidence among ``kinds``, also the predicted class and ``p_*`` columns as read;
    - ``__numbers``: ``__b`` and the number columns of ``kinds`` (NaN as read), with the model's ``confidence``
      (:func:`_confidence`);
    - unless ``sample`` is None, ``sampled``: the normalized view of about ``sample`` rows of each split (all of a
      smaller split), chosen by a hash of the row's id and ``seed`` (of its values when the file has no id:
      identical rows fall together).

    The rows are picked by the split values as written, and the file is not numbered (numbering a CSV's rows costs
    a window over the whole file): ``sampled``'s ``row`` is NULL. A Parquet file is read where it lies by each query
    (it reads only the columns a query names); a CSV, slow to parse, is parsed once, ``__rows`` copied into an
    engine-side table."""
    source, cm = preds.source, preds.columns
    hashed = [cm.id] if cm.id else [c for c in (cm.split, cm.y_true, cm.y_pred, cm.text, *cm.probs.values(),
                                                 *cm.metadata) if c]
    with open_engine(preds.engine) as engine:

        def query(sql: str, read: str = "fetch") -> object:
            try:
                return getattr(engine, read)(sql)
            except InputError as exc:
                raise InputError(f"{preds.path}: {exc}") from exc

        # the raw split values of a and b (a Parquet reader then skips the other splits' rows; no row normalized)
        where = split_wheres(engine, source, (a, b))
        table = engine.table(source, numbered=False)
        metadata = {c: k for c, k in kinds.items() if c not in OUTPUTS}
        outputs = [*(cm.probs.values() if "confidence" in kinds else ()),
                   *([cm.y_pred] if "confidence" in kinds and cm.y_pred else ())]
        cols = [f"({where[b]}) AS __b", *(f"CAST({ident(c)} AS DOUBLE) AS {ident(c)}" if k == "numeric" else
                                          f"{_value(c, k)} AS {ident(c)}" for c, k in metadata.items()),
                *map(ident, outputs)]
        kept = "VIEW" if preds.format == "parquet" or source.table else "TABLE"
        query(f"CREATE TEMP {kept} __rows AS SELECT {', '.join(cols)} FROM {table} "
              f"WHERE ({where[a]}) OR ({where[b]})")
        numbers = [ident(c) for c, k in metadata.items() if k == "numeric"]
        if "confidence" in kinds:
            numbers.append(f"{_confidence(query, source)} AS confidence")
        query(f"CREATE TEMP VIEW __numbers AS SELECT {', '.join(['__b', *numbers])} FROM __rows")
        if sample is not None:
            pick = []
            for s in (a, b):
                share = min(1.0, sample / max(preds.counts.where(split=s).rows, 1))
                pick.append(f"(({where[s]}) AND hash({', '.join(map(ident, hashed))}, {int(seed)}) % 1000000 "
                            f"< {round(share * 1e6)})")
            rows = f"(SELECT *, CAST(NULL AS BIGINT) AS __row FROM {table} WHERE {' OR '.join(pick)})"
            query(f"CREATE TEMP VIEW sampled AS {view_sql(source, rows)}")
        yield query


def _confidence(query: Query, source: Source) -> str:
    """The view's confidence (:func:`analysis.view.view_sql`) as an expression over ``__rows``: the probability of
    the predicted class, picked by the predicted class as written (each distinct value normalized once:
    :func:`analysis.view.classes_sql`), or the greatest when the prediction is their argmax."""
    ps, pred = prob_exprs(source), source.columns.y_pred
    if pred is None:
        return f"greatest({', '.join(ps)})"
    # no condition on the lookup's columns: the engine would push it below the DISTINCT, normalizing every row
    found = query(f"SELECT CAST(__raw AS VARCHAR) AS raw, __index FROM ({classes_sql(source, pred, '__rows')})")
    written: dict[int, list[str]] = {}
    for i, raw in sorted((i, raw) for raw, i in zip(found["raw"], found["__index"], strict=True) if i is not None):
        written.setdefault(i, []).append(literal(raw))
    col = ident(pred) if source.typed[pred] == TEXT else f"CAST({ident(pred)} AS VARCHAR)"
    # = for a class written one way: an engine compares it faster than a list of one
    cases = " ".join(f"WHEN {col} {'= ' + raws[0] if len(raws) == 1 else 'IN (' + ', '.join(raws) + ')'} "
                     f"THEN {ps[i]}" for i, raws in written.items())
    return f"CASE {cases} END" if cases else "CAST(NULL AS DOUBLE)"


def _value(col: str, kind: str) -> str:
    """The column as the tests read it: a double, or text with blanks as :data:`BLANK`."""
    if kind == "numeric":
        return f"CASE WHEN isnan(CAST({ident(col)} AS DOUBLE)) THEN NULL ELSE CAST({ident(col)} AS DOUBLE) END"
    return f"coalesce(CAST({ident(col)} AS VARCHAR), {literal(BLANK)})"


def _grouped(query: Query, columns: list[str]) -> tuple[dict[str, dict], dict[str, int]]:
    """Each categorical column's counts per value in the two splits (``na``, ``nb``), from one read of ``__rows``
    (a ``GROUP BY`` per column over it, their results in one); and, apart, the number of distinct values of the
    columns with more than :data:`MAX_CATEGORIES` (ids, free text), whose counts are not returned."""
    each = " UNION ALL ".join(f"SELECT {i} AS g, {ident(col)} AS v, count(*) FILTER (WHERE NOT __b) AS na, "
                              f"count(*) FILTER (WHERE __b) AS nb FROM __r GROUP BY {ident(col)}"
                              for i, col in enumerate(columns))
    frame = query(f"WITH __r AS (SELECT __b, {', '.join(map(ident, columns))} FROM __rows) "
                  f"SELECT g, v, na, nb, k FROM (SELECT *, count(*) OVER (PARTITION BY g) AS k, "
                  f"row_number() OVER (PARTITION BY g ORDER BY na DESC, v) AS r FROM ({each})) "
                  f"WHERE k <= {MAX_CATEGORIES} OR r = 1 ORDER BY g, na + nb DESC, v")
    counts, many = {}, {}
    for i, col in enumerate(columns):
        rows = [j for j, g in enumerate(frame["g"]) if g == i]
        if rows and frame["k"][rows[0]] > MAX_CATEGORIES:
            many[col] = int(frame["k"][rows[0]])
        else:
            counts[col] = {"value": [frame["v"][j] for j in rows], "na": [frame["na"][j] for j in rows],
                           "nb": [frame["nb"][j] for j in rows]}
    return counts, many


def _class_mix(preds: Predictions, key: str, a: str, b: str) -> dict[str, list]:
    """The counts of each true or predicted class (``key``) in the two splits, from the load's count table."""
    table = preds.counts.where(split=[a, b])
    counts: dict[str, list[int]] = {}
    for split, value, n in zip(table.column("split"), table.column(key), table.n, strict=True):
        counts.setdefault(BLANK if value is None else str(value), [0, 0])[split == b] += int(n)
    return {"value": list(counts), "na": [na for na, _ in counts.values()], "nb": [nb for _, nb in counts.values()]}


def _numbers(query: Query, numbers: list[str]) -> dict[str, np.ndarray]:
    """The ``numbers`` of every row of the two splits (NaN as read), with ``__b`` (:func:`_reader`)."""
    return query(f"SELECT __b, {', '.join(map(ident, numbers))} FROM __numbers", "arrays")


def _sample(query: Query, kinds: dict[str, str]) -> pd.DataFrame:
    """The rows of the view ``sampled`` (:func:`_reader`), with the columns of ``kinds``."""
    cols = ", ".join(f"{_value(c, k)} AS {ident(c)}" for c, k in kinds.items())
    return query(f"SELECT split, {cols} FROM sampled", "frame")


# --- the domain classifier -----------------------------------------------------------------------------------------


def _features(sample: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    x = pd.DataFrame(index=sample.index)
    for col, kind in kinds.items():
        if kind == "numeric":
            x[col] = pd.to_numeric(sample[col], errors="coerce").astype(float)
            continue
        values = sample[col].astype(str)
        common = values.value_counts().index[:MAX_CLASSIFIER_CATEGORIES]
        x[col] = pd.Categorical(values.where(values.isin(common), OTHER))
    return x


def domain_classifier(x: pd.DataFrame, is_b: np.ndarray, *, permutations: int = 3, seed: int = 0,
                      max_iter: int = 50, explain_below: float = 1.0
                      ) -> tuple[float, float | None, float, dict[str, float]]:
    """AUC of a classifier telling ``is_b`` rows from the others, trained on half of ``x`` and scored on the other
    half; the mean AUC over ``permutations`` runs with shuffled labels; the one-sided Mann-Whitney p-value of the
    held-out AUC; and, when that p-value is below ``explain_below`` (the classifier tells the splits apart), each
    column's permutation importance (drop of the held-out AUC; else empty)."""
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime, so that the limit below reaches it)
    from threadpoolctl import threadpool_limits

    # One thread: on a sample this small, OpenMP threads cost more than they save, and on a loaded machine each of
    # the thousands of parallel regions waits for descheduled threads (minutes instead of seconds). threadpoolctl
    # limits only the runtimes loaded when it is entered, hence the import above.
    with threadpool_limits(1, user_api="openmp"):
        return _domain_classifier(x, np.asarray(is_b, dtype=int), permutations, seed, max_iter, explain_below)


def _domain_classifier(x: pd.DataFrame, is_b: np.ndarray, permutations: int, seed: int, max_iter: int,
                       explain_below: float) -> tuple[float, float | None, float, dict[str, float]]:
    from scipy import stats
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(is_b)), test_size=0.5, stratify=is_b, random_state=seed)

    def fit(labels: np.ndarray) -> tuple[object, np.ndarray]:
        model = HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=False, random_state=seed,
                                               categorical_features="from_dtype")
        model.fit(x.iloc[train], labels[train])
        return model, model.predict_proba(x.iloc[test])[:, 1]

    model, scores = fit(is_b)
    auc = float(roc_auc_score(is_b[test], scores))
    p = float(stats.mannwhitneyu(scores[is_b[test] == 1], scores[is_b[test] == 0], alternative="greater").pvalue)
    rng = np.random.default_rng(seed)
    baseline = []
    for _ in range(permutations):
        shuffled = rng.permutation(is_b)
        baseline.append(float(roc_auc_score(shuffled[test], fit(shuffled)[1])))
    importance = {}
    if p < explain_below:
        found = permutation_importance(model, x.iloc[test], is_b[test], scoring="roc_auc", n_repeats=3,
                                       random_state=seed)
        importance = dict(sorted(zip(x.columns, map(float, found.importances_mean), strict=True),
                                 key=lambda kv: -kv[1]))
    return auc, (float(np.mean(baseline)) if baseline else None), p, importance


# --- the check -------------------------------------------------------------------------------------------------------


def _import_meanwhile(module: str) -> None:
    """Import ``module`` in a thread while the engine reads the file (it releases the GIL): scipy.stats takes about
    1 s to import, as long as the scans; the tests' own import waits for this one to finish."""
    if module not in sys.modules:
        threading.Thread(target=importlib.import_module, args=(module,), daemon=True,
                         name="errorscope-import").start()


def _check(preds: Predictions, a: str, b: str, alpha: float, sample: int, permutations: int) -> tuple[str, str]:
    a, b = check_split(preds, a), check_split(preds, b)
    if a == b:
        raise ErrorscopeError(f"compare two different splits, not {a} with itself")
    if not 0.0 < alpha < 1.0:
        raise ErrorscopeError(f"alpha must be between 0 and 1 (0.05), got {alpha!r}")
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < MIN_CLASSIFIER_ROWS:
        raise ErrorscopeError(f"the sample must be a whole number of at least {MIN_CLASSIFIER_ROWS} rows per "
                              f"split, got {sample!r}")
    if isinstance(permutations, bool) or not isinstance(permutations, int) or permutations < 0:
        raise ErrorscopeError(f"permutations must be a whole number >= 0, got {permutations!r}")
    return a, b


def _need_ml() -> None:
    """Refuse early when scipy or scikit-learn is missing (found, not imported: scikit-learn takes a second)."""
    from importlib.util import find_spec

    if find_spec("scipy") is None or find_spec("sklearn") is None:
        raise ErrorscopeError("the distribution checks need scipy and scikit-learn: "
                              "pip install 'errorscope[ml]'")


def shift(preds: Predictions, *, a: str = "train_dev", b: str = "dev", columns: Sequence[str] | None = None,
          alpha: float = 0.05, domain: bool = True, sample: int = 5_000, permutations: int = 3,
          seed: int = 0) -> Shift:
    """Compare the distributions of two splits, column by column and with a domain classifier.

    Parameters
    ----------
    preds : Predictions
    a, b : str
        The two splits (aliases such as ``val`` accepted): ``train_dev`` and ``dev`` for the data mismatch,
        ``dev`` and ``test`` to check that they come from one distribution.
    columns : sequence of str, optional
        The columns to compare (:func:`shift_columns`); all by default.
    alpha : float, default 0.05
        The family-wise error rate: each test is flagged when its p-value times the number of tests is below it.
    domain : bool, default True
        Whether to train the domain classifier.
    sample : int, default 5,000
        Rows per split the domain classifier samples (all of a smaller split).
    permutations : int, default 3
        Runs of the domain classifier on shuffled split labels, for the baseline AUC (0: no baseline).
    seed : int, default 0

    Returns
    -------
    Shift
        Flagged columns first, then by ``distance``, largest first.
    """
    a, b = _check(preds, a, b, alpha, sample, permutations)
    _need_ml()
    _import_meanwhile("scipy.stats")
    kinds = _chosen(preds, columns)
    rows = {s: preds.counts.where(split=s).rows for s in (a, b)}
    metadata = [c for c, k in kinds.items() if k == "categorical" and c not in OUTPUTS]
    numbers = [c for c, k in kinds.items() if k == "numeric"]
    with _reader(preds, a, b, kinds, sample if domain else None, seed) as query, ThreadPoolExecutor(1) as pool:
        values = _numbers(query, numbers) if numbers else None
        # the KS tests (numpy and scipy sort without holding the GIL) run while the engine counts the categories
        numeric = pool.submit(_numeric_shifts, values, numbers) if numbers else None
        grouped, many = _grouped(query, metadata) if metadata else ({}, {})
        skipped = {c: f"{n:,} distinct values (an id or free text?); not compared" for c, n in many.items()}
        if domain:
            frame = _sample(query, {c: k for c, k in kinds.items() if c not in skipped})
        tested = numeric.result() if numeric else {}
    found = []
    for col, kind in kinds.items():
        if col in skipped:
            continue
        if kind == "numeric":
            if isinstance(tested[col], str):
                skipped[col] = tested[col]
                continue
            found.append(tested[col])
        else:
            c = grouped[col] if col in grouped else _class_mix(preds, col, a, b)
            found.append(_categorical_shift(col, [str(v) for v in c["value"]], c["na"], c["nb"]))
    kept = {c: k for c, k in kinds.items() if c not in skipped}
    tests = len(found) + (1 if domain and kept else 0)
    check = None
    if domain and kept:
        taken = {s: int((frame["split"] == s).sum()) for s in (a, b)}
        if min(taken.values()) >= MIN_CLASSIFIER_ROWS:
            auc, base, p, importance = domain_classifier(_features(frame, kept), (frame["split"] == b).to_numpy(),
                                                         permutations=permutations, seed=seed,
                                                         explain_below=alpha / tests)
            check = DomainCheck(auc, base, p, min(1.0, p * tests), p * tests < alpha, taken, importance)
        else:
            skipped["domain classifier"] = (f"fewer than {MIN_CLASSIFIER_ROWS} rows in a split "
                                            f"({', '.join(f'{s}: {n}' for s, n in taken.items())})")
    found = sorted((_corrected(c, tests, alpha) for c in found), key=lambda c: (not c.flagged, -c.distance))
    return Shift(a, b, rows, alpha, tuple(found), check, skipped)


def _corrected(c: ColumnShift, tests: int, alpha: float) -> ColumnShift:
    from dataclasses import replace

    p = min(1.0, c.raw_p_value * tests)
    return replace(c, p_value=p, flagged=p < alpha)
