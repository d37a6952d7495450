"""The ``errorscope`` command line.

Bad input exits with status 2 and one ``error: ...`` line on stderr. The analysis commands import neither
streamlit nor scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from analysis.errors import ErrorscopeError

#: Files larger than this get a progress line on stderr while they are read.
PROGRESS_BYTES = 50 * 1024 * 1024
APP_SCRIPT = Path(__file__).resolve().parent.parent / "app" / "main.py"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def fraction(text: str) -> float:
    """A fraction from ``0.04`` or ``4%`` (argparse shows only an ArgumentTypeError's own message)."""
    from analysis.gaps import parse_fraction

    try:
        return parse_fraction(text)
    except ErrorscopeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _load(path: str, task: str | None = None, *, every_task: bool = False, engine: str = "duckdb"):
    """The file's predictions; for a multi-task file, those of ``task`` (or, with ``every_task``, the TaskSet)."""
    from analysis.load import load_predictions
    from analysis.tasks import file_layout, load_tasks

    multi = file_layout(path, engine=engine).kind != "single"
    if task is not None and not multi:
        raise ErrorscopeError(f"{path}: one task only (no task column, no wide task columns); drop --task")
    if multi and task is None and not every_task:
        raise ErrorscopeError(f"{path} holds several tasks; pick one with --task (see 'errorscope summary {path}')")
    read = ((lambda: load_tasks(path, task=task, engine=engine)) if multi
            else (lambda: load_predictions(path, engine=engine)))
    loaded = _reading([path], read, engine)
    return loaded.task(task) if multi and task is not None else loaded


def _reading(paths: list[str], read, engine: str = "duckdb"):
    """``read()``, with a line on stderr before and after when the files are large."""
    size = sum(os.path.getsize(p) if os.path.isfile(p) else 0 for p in paths)
    if size < PROGRESS_BYTES:
        return read()
    print(f"errorscope: reading {' and '.join(paths)} ({size / 2**20:,.0f} MiB) with {engine}...", file=sys.stderr,
          flush=True)
    start = time.perf_counter()
    loaded = read()
    print(f"errorscope: {loaded.counts.rows:,} rows in {time.perf_counter() - start:.1f} s", file=sys.stderr,
          flush=True)
    return loaded


def _metrics_table(counts) -> list[str]:
    """One line per split, one column per registered metric (those that need weights only for a weighted file)."""
    from analysis.registry import shown_for

    shown = shown_for(counts)
    cells = [["split", *(m.label for m in shown)]]
    cells += [[split, *(m.text(table) for m in shown)] for split, table in counts.by("split")]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [f"{row[0]:<{widths[0]}}" + "".join(f"{c:>{w + 2}}" for c, w in zip(row[1:], widths[1:], strict=True))
            for row in cells]


def cmd_summary(args: argparse.Namespace) -> None:
    from analysis.gaps import LABELS, meaning_of
    from analysis.registry import percent
    from analysis.summary import summarize
    from analysis.tasks import TaskSet

    preds = _load(args.file, args.task, every_task=True, engine=args.engine)
    if isinstance(preds, TaskSet):
        return _tasks_summary(preds, args)
    summary = summarize(preds, human=args.human_error)
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
        return
    lines = [f"{summary['file']}: {summary['rows']:,} rows, {len(summary['classes'])} classes", ""]
    lines += _metrics_table(preds.counts)
    gaps = summary["gaps"]
    lines += ["", f"{'human-level error':<18}{percent(gaps['human_error']):>9}"]
    for name in ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting"):
        lines.append(f"{LABELS[name].lower():<18}{percent(gaps[name]):>9}")
    if gaps["largest"]:
        lines += ["", f"largest gap: {LABELS[gaps['largest']].lower()} ({meaning_of(gaps['largest'])})"]
        lines += [f"  try: {tip}" for tip in gaps["advice"]]
    lines += _noise_lines(preds.counts, args.human_error)
    if gaps["human_error"] is None:
        lines += ["", "give --human-error to measure avoidable bias"]
    print("\n".join(lines))


def _tasks_summary(tasks, args: argparse.Namespace) -> None:
    """A multi-task file's summary: the tasks side by side (JSON: :func:`analysis.masked.summarize_tasks`)."""
    from analysis.masked import summarize_tasks, task_rows
    from analysis.registry import FORMATS, percent

    summary = summarize_tasks(tasks, human=args.human_error)
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
        return
    rows = task_rows(summary)
    splits = list(rows[0]["errors"])
    ratio = FORMATS["ratio"].text
    cells = [["task", "labeled", "coverage", *(f"{s} error" for s in splits), "AUROC", "avg precision", "log loss"]]
    cells += [[r["task"], f"{r['labeled']:,}", percent(r["coverage"]),
               *(e if isinstance(e, str) else percent(e) for e in r["errors"].values()), ratio(r["auroc"]),
               ratio(r["average_precision"]), ratio(r["log_loss"])] for r in rows]
    macro, micro = summary["macro"], summary["micro"]
    cells.append(["macro", "", "", *[""] * len(splits), ratio(macro["auroc"]), ratio(macro["average_precision"]),
                  ratio(macro["log_loss"])])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [f"{summary['file']}: {summary['examples']:,} examples, {len(summary['tasks'])} tasks, "
             f"{tasks.counts.labeled().rows:,} labeled pairs", ""]
    lines += [f"{row[0]:<{widths[0]}}" + "".join(f"{c:>{w + 2}}" for c, w in zip(row[1:], widths[1:], strict=True))
              for row in cells]
    lines += ["", f"error over every labeled pair (micro): {percent(micro['error_rate'])}; mean over tasks (macro): "
              f"{percent(macro['error_rate'])}", f"masked loss J (log loss summed over labeled pairs / examples): "
              f"{ratio(summary['masked_loss'])}", "one task's metrics, gaps and confusion: --task TASK"]
    print("\n".join(lines))


def cmd_confusion(args: argparse.Namespace) -> None:
    from analysis.load import check_split
    from analysis.metrics import confusion_matrix

    preds = _load(args.file, args.task, engine=args.engine)
    table = preds.counts if args.split is None else preds.counts.where(split=check_split(preds, args.split))
    conf = confusion_matrix(table, weighted=args.weighted, normalize=args.normalize)
    integral = not args.weighted and args.normalize is None
    matrix = conf.matrix.astype(int).tolist() if integral else conf.matrix.tolist()
    if args.json:
        print(json.dumps({"labels": list(conf.labels), "matrix": matrix}, allow_nan=False))
        return
    frame = conf.to_frame()
    if args.csv:
        from analysis.export import sheet_csv

        sys.stdout.write(sheet_csv(frame.reset_index()))  # class names are user text: no formulas
        return
    print(frame.to_string(float_format=lambda v: f"{v:.4g}"))


def cmd_label_issues(args: argparse.Namespace) -> None:
    from analysis.label_issues import label_issues, split_label_issues
    from analysis.tasks import TaskSet, file_layout

    if args.task is None and file_layout(args.file).kind == "single":  # the split's rows alone are read and checked
        found = split_label_issues(args.file, split=args.split, method=args.method, top=args.top, engine=args.engine)
    else:
        preds = _load(args.file, args.task, every_task=True, engine=args.engine)
        if isinstance(preds, TaskSet):
            return _multilabel_issues(preds, args)
        found = label_issues(preds, split=args.split, method=args.method, top=args.top)
    if args.json:  # from the plain lists: pandas is not imported for JSON
        r = found.ranked
        issues = [{"id": i, "given": g, "suggested": s, "score": float(v), "flagged": bool(f)}
                  for i, g, s, v, f in zip(r["id"], r["given"], r["suggested"], r["score"], r["flagged"], strict=True)]
        print(json.dumps({"split": found.split, "method": found.method, "flagged": found.flagged,
                          "estimated_errors": found.estimated_errors, "issues": issues}, indent=2))
        return
    shown = found.issues[["rank", "id", "given", "suggested", "score", "flagged"]]
    if args.csv:
        from analysis.export import sheet_csv

        sys.stdout.write(sheet_csv(shown))  # ids and labels are user text: no formulas
        return
    lines = [f"{args.file} [{found.split}]: {found.flagged:,} flagged by confident learning, about "
             f"{found.estimated_errors:,} label errors estimated; ranked by {found.method} (lower score = more "
             "likely wrong)", ""]
    lines += shown.to_string(index=False, float_format=lambda v: f"{v:.4g}").splitlines()
    print("\n".join(lines))


def _multilabel_issues(tasks, args: argparse.Namespace) -> None:
    """A multi-task file's examples ranked by cleanlab's multi-label score over their labeled tasks."""
    from analysis.multilabel import multilabel_issues

    ranked = multilabel_issues(tasks, split=args.split).head(args.top)
    if args.json:
        issues = [{"id": r.id, "score": float(r.score), "labeled": int(r.labeled), "worst": r.worst,
                   "worst_score": float(r.worst_score)} for r in ranked.itertuples()]
        print(json.dumps({"split": args.split, "method": "multilabel self_confidence", "issues": issues}, indent=2))
        return
    if args.csv:
        from analysis.export import sheet_csv

        sys.stdout.write(sheet_csv(ranked))
        return
    print(f"{args.file} [{args.split}]: examples ranked by the multi-label score over their labeled tasks (lower = "
          f"more likely wrong; one task's queue: --task TASK)\n")
    print(ranked.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _noise_lines(counts, human: float | None) -> list[str]:
    """The gaps the split sizes cannot tell from zero (``errorscope splits`` has the detail)."""
    from analysis.gaps import LABELS
    from analysis.splits import split_advice

    noisy = split_advice(counts, human=human).noisy()
    return [f"{LABELS[g.gap].lower()} ({100 * g.value:+.2f} pp) is within the noise: at the sizes of "
            f"{LABELS[g.low].lower()} and {LABELS[g.high].lower()} a gap below {100 * g.smallest:.2f} pp cannot be "
            f"told from zero (p = {g.p_value:.2g}; errorscope splits)" for g in noisy]


def cmd_splits(args: argparse.Namespace) -> None:
    import math

    from analysis.gaps import LABELS
    from analysis.registry import percent
    from analysis.splits import dev_size_needed, split_advice

    preds = _load(args.file)
    advice = split_advice(preds.counts, human=args.human_error)
    out, needed = advice.to_dict(), None
    if args.difference is not None:
        dev = next((s for s in advice.splits if s.split == "dev"), None)
        error = dev.error_rate if dev else advice.splits[0].error_rate
        examples = math.ceil(dev_size_needed(args.difference, error=error, alpha=1 - args.confidence,
                                             power=args.power))
        needed = out["dev_size_needed"] = {"difference": args.difference, "error": error,
                                           "confidence": args.confidence, "power": args.power, "examples": examples}
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return
    lines = [f"{args.file}: {preds.rows:,} rows", "", f"{'split':<10}{'labeled':>9}{'errors':>8}{'error':>9}"
             f"{'95% interval':>18}"]
    lines += [f"{s.split:<10}{s.rows:>9,}{s.errors:>8,}{percent(s.error_rate):>9}"
              f"{percent(s.low) + '-' + percent(s.high):>18}" for s in advice.splits]
    lines += ["", f"{'gap':<16}{'between':>22}{'size':>10}{'detectable':>12}{'p-value':>10}  verdict"]
    for g in advice.gaps:
        verdict = "real" if g.real else "within the noise"
        lines.append(f"{LABELS[g.gap].lower():<16}{LABELS[g.low] + ' -> ' + LABELS[g.high]:>22}"
                     f"{100 * g.value:>+9.2f}p{100 * g.smallest:>11.2f}p{g.p_value:>10.3g}  {verdict}")
    rule = advice.rule
    lines += ["", "detectable: the smallest gap the two splits' sizes tell from zero (95% confidence)",
              f"rule of thumb for {rule['rows']:,} rows: " + ", ".join(
                  f"{k} {100 * v:g}% ({rule['sizes'][k]:,})" for k, v in rule["shares"].items())]
    if needed:
        lines.append(f"to tell an error of {percent(needed['error'])} from one {100 * needed['difference']:g} points "
                     f"away: {needed['examples']:,} examples in each set ({100 * needed['confidence']:g}% "
                     f"confidence, {100 * needed['power']:g}% power)")
    print("\n".join(lines))


def cmd_shift(args: argparse.Namespace) -> None:
    from analysis.shift import OUTPUTS, shift

    preds = _load(args.file, engine=args.engine)
    found = shift(preds, a=args.a, b=args.b, columns=args.columns, sample=args.sample, domain=not args.no_domain)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, allow_nan=False, default=float))
        return
    verdict = "differ" if found.flagged else "show no difference"
    lines = [f"{args.file}: {found.a} ({found.rows[found.a]:,} rows) vs {found.b} ({found.rows[found.b]:,} rows): "
             f"the splits {verdict} (Bonferroni-corrected, family-wise alpha {found.alpha:g})", ""]
    if found.domain is not None:
        d = found.domain
        base = "" if d.baseline_auc is None else f" (with shuffled split labels: {d.baseline_auc:.3f})"
        lines.append(f"domain classifier AUC {d.auc:.3f}{base}, p = {d.p_value:.3g}, on a sample of "
                     + ", ".join(f"{n:,} {s}" for s, n in d.sample.items()))
        if d.importance:
            lines.append("  relies on: " + ", ".join(f"{c} ({v:.3f})" for c, v in list(d.importance.items())[:5]))
        lines.append("")
    width = max([len(c.column) for c in found.columns] + [6]) + 2
    lines.append(f"{'column':<{width}}{'test':>5}{'distance':>10}{'p-value':>10}  flagged  effect")
    for c in found.columns:
        lines.append(f"{c.column:<{width}}{c.test:>5}{c.distance:>10.3f}{c.p_value:>10.3g}  "
                     f"{'yes' if c.flagged else 'no':<7}  {c.effect_text}")
    lines += [f"{name}: {reason}" for name, reason in found.skipped.items()]
    shown = [f"{k} = {v}" for k, v in OUTPUTS.items()]
    lines += ["", "distance: KS statistic (numbers) or total variation (categories); " + "; ".join(shown)]
    print("\n".join(lines))


def _shift_parsers(sub) -> None:
    """``errorscope splits`` and ``errorscope shift``."""
    p = sub.add_parser("splits", help="split sizes, error intervals, and whether each gap is beyond the noise")
    p.add_argument("file", help="predictions file (CSV or Parquet)")
    p.add_argument("--human-error", type=fraction, help="human-level error, a fraction (0.04) or percentage (4%%)")
    p.add_argument("--difference", type=fraction, help="also the dev size that detects this error difference "
                   "(0.01 or 1%%) at dev's error")
    p.add_argument("--confidence", type=fraction, default=0.95, help="for --difference (default: 0.95)")
    p.add_argument("--power", type=fraction, default=0.8, help="for --difference (default: 0.8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_splits)
    p = sub.add_parser("shift", help="do two splits come from one distribution? (column tests, domain classifier)")
    p.add_argument("file", help="predictions file (CSV or Parquet)")
    p.add_argument("--a", default="train_dev", help="first split (default: train_dev)")
    p.add_argument("--b", default="dev", help="second split (default: dev)")
    p.add_argument("--columns", nargs="+", metavar="COLUMN", help="columns to compare (default: all)")
    p.add_argument("--sample", type=_positive, default=5_000,
                   help="rows per split for the domain classifier (default: 5000)")
    p.add_argument("--no-domain", action="store_true", help="the column tests only, no domain classifier")
    p.add_argument("--json", action="store_true", help="print JSON")
    _engine_options(p)
    p.set_defaults(run=cmd_shift)


def cmd_slices(args: argparse.Namespace) -> None:
    from analysis.registry import percent
    from analysis.slices import find_slices

    preds = _load(args.file, engine=args.engine)
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    if os.path.isfile(args.file) and os.path.getsize(args.file) >= PROGRESS_BYTES:
        print(f"errorscope: finding slices of up to {args.max_predicates} values...", file=sys.stderr, flush=True)
    found = find_slices(preds, args.split, columns, max_predicates=args.max_predicates,
                        min_support=args.min_support, alpha=args.alpha, top=args.top)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, allow_nan=False))
        return
    if args.csv:
        from analysis.export import sheet_csv

        sys.stdout.write(sheet_csv(found.to_frame()))  # values are user text: no formulas
        return
    lines = [f"{args.file} [{found.split}]: {found.rows:,} labeled rows, {percent(found.error_rate)} error; "
             f"slices of at least {found.min_support:,} rows, alpha {found.alpha:g}", ""]
    if found.slices:
        lines += found.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}").splitlines()
    else:
        lines.append("no slice has a higher error than the split's at this size; try a lower --min-support")
    lines += [f"left out: {c} ({why})" for c, why in found.skipped.items()]
    print("\n".join(lines))


def _open_store(db: str | None, *, dataset: str | None = None):
    """The tag store; with ``dataset``, it must exist and know that dataset (a typo would give empty output)."""
    from analysis.tags import default_db, is_url, open_store, shown_target

    target = db if is_url(db) else Path(db) if db else default_db()  # a server's URL, or a file's path
    if dataset is not None and isinstance(target, Path) and not target.exists():
        raise ErrorscopeError(f"no tag store at {target}; give its path with --db (or set ERRORSCOPE_DB)")
    store = open_store(target)
    if dataset is not None and dataset not in store.datasets():
        store.close()
        raise ErrorscopeError(f"dataset {dataset!r} has no categories and no tags in the tag store "
                              f"{shown_target(target)}; check the dataset name")
    return store


def cmd_tags_import(args: argparse.Namespace) -> None:
    from analysis.export import import_sheet

    preds = _load(args.predictions, args.task, engine=args.engine)
    store = _open_store(args.db)
    try:
        changed = import_sheet(store, args.dataset, preds, args.sheet,
                               create_categories=args.create_categories)
    finally:
        store.close()
    print(f"imported {args.sheet} into dataset {args.dataset!r}: {changed:,} example(s) changed")


def cmd_tags_export(args: argparse.Namespace) -> None:
    from analysis.export import export_sheet, write_sheet

    preds = _load(args.predictions, args.task, engine=args.engine) if args.predictions else None
    store = _open_store(args.db, dataset=args.dataset)
    try:
        sheet = export_sheet(store, args.dataset, preds)
    finally:
        store.close()
    if args.output:
        try:
            write_sheet(sheet, args.output)
        except OSError as exc:
            raise ErrorscopeError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {len(sheet):,} tagged example(s) to {args.output}", file=sys.stderr)
    else:
        write_sheet(sheet, sys.stdout)


def cmd_tallies(args: argparse.Namespace) -> None:
    from analysis.registry import percent
    from analysis.tallies import tally

    preds = _load(args.predictions, args.task, engine=args.engine)
    store = _open_store(args.db, dataset=args.dataset)
    try:
        result = tally(preds, store, args.dataset, split=args.split)
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        return
    if args.csv:
        from analysis.export import sheet_csv

        sys.stdout.write(sheet_csv(result.to_frame()))  # category names are user text: no formulas
        return
    reviewed = result.reviewed_errors
    lines = [f"{args.predictions} [{result.split}]: {result.errors:,} errors ({percent(result.error_rate)} "
             f"error), {reviewed:,} of them reviewed in dataset {args.dataset!r}", ""]
    width = max([len(c.category) for c in result.categories] + [len("unexplained"), len("category")]) + 2
    lines.append(f"{'category':<{width}}{'count':>7}{'share':>9}{'95% interval':>20}{'ceiling':>10}")
    for c in result.rows:
        interval = f"{percent(c.share_low)}-{percent(c.share_high)}"
        lines.append(f"{c.category:<{width}}{c.count:>7,}{percent(c.share):>9}{interval:>20}"
                     f"{percent(c.ceiling):>10}")
    lines += ["", "share: of the reviewed errors; ceiling: share x error rate, the most that fixing that "
              "cause could lower the error",
              f"reviewed correct predictions: {result.reviewed_correct:,}, "
              f"mislabeled among them: {result.mislabeled_among_correct:,}"]
    if not reviewed:
        lines.append(f"no reviewed errors in {result.split} yet: tag some in the app or import a sheet")
    print("\n".join(lines))


def cmd_compare(args: argparse.Namespace) -> None:
    from analysis.compare import CELLS, compare_files, per_class, report, significance
    from analysis.registry import percent
    from analysis.tasks import file_layout

    for path in (args.a, args.b):
        if file_layout(path, engine=args.engine).kind != "single":
            _load(path, engine=args.engine)  # refuses a file of several tasks
    cmp = _reading([args.a, args.b], lambda: compare_files(args.a, args.b, shared=args.shared, engine=args.engine),
                   args.engine)
    result = report(cmp, splits=[args.split] if args.split else None, metric=args.metric)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return
    lines = [f"A: {args.a}", f"B: {args.b}"]
    if cmp.only_a or cmp.only_b:
        lines.append(f"on the shared ids only: {cmp.only_a:,} only in A and {cmp.only_b:,} only in B left out")
    for split, r in result["splits"].items():
        d, m, t = r["difference"], r["mcnemar"], r["table"]
        lines += ["", f"[{split}] {r['rows']:,} examples: error A {percent(r['a']['error_rate'])}, "
                  f"B {percent(r['b']['error_rate'])}"]
        if d["value"] is not None:
            lines.append(f"  {d['metric']} B - A: {100 * d['value']:+.2f} points, 95% paired bootstrap interval "
                         f"{100 * d['low']:+.2f} to {100 * d['high']:+.2f}")
        lines.append("  " + "  ".join(f"{CELLS[c]}: {t[c]:,}" for c in CELLS))
        exact = "-" if m["exact_p_value"] is None else f"{m['exact_p_value']:.3g}"
        chi = "-" if m["statistic"] is None else f"{m['statistic']:.3f} (p = {m['p_value']:.3g})"
        lines.append(f"  McNemar: chi-squared {chi}, exact p = {exact}: {significance(m['exact_p_value'])}")
        worse = per_class(cmp, split)
        worse = worse[worse["difference"] < 0].head(3)
        if len(worse):
            lines.append("  B worse on class " + ", ".join(f"{r['class']} ({100 * r['difference']:+.1f} points)"
                                                         for r in worse.to_dict("records")))
    print("\n".join(lines))


def cmd_runs(args: argparse.Namespace) -> None:
    from analysis.runs import parse_objective, parse_threshold, read_runs, runs_report

    frame = read_runs(args.file)
    objective = parse_objective(args.optimize)
    thresholds = [parse_threshold(t) for t in args.satisfy]
    overrides = dict(_pair(s, "--scale", "PARAM=linear|log|log1m") for s in args.scale)
    params = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    result = runs_report(frame, objective, thresholds, params=params, scale_overrides=overrides)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return
    lines = [f"{args.file}: {result['runs']:,} runs; optimizing {objective.metric} ({objective.direction})"
             + (f" subject to {', '.join(result['thresholds'])}" if thresholds else ""),
             f"feasible: {result['feasible']:,} of {result['runs']:,}"]
    best = result["best"]
    if best is None:
        lines.append("no run meets every threshold: loosen one, or run more")
    else:
        lines.append("best: " + ", ".join(f"{k}={v}" for k, v in best.items()))
    behind = sorted(result["behind"].items(), key=lambda kv: kv[1])[1:6]
    if behind:
        lines.append("next feasible runs, behind the best by: " + ", ".join(f"{k} {v:.4g}" for k, v in behind))
    if result["excluded"]:
        shown = result["excluded"][:5]
        lines.append(f"excluded: {len(result['excluded']):,} runs, e.g. "
                     + "; ".join(f"{e['run_id']} ({', '.join(e['failed'])})" for e in shown))
    lines.append("scales: " + ", ".join(f"{p} {s}" for p, s in result["scales"].items()))
    if result["importance"]:
        lines.append("importance: " + ", ".join(f"{p} {100 * v:.0f}%" for p, v in
                                                sorted(result["importance"].items(), key=lambda kv: -kv[1])))
    if result["next_ranges"]:
        ranges = " ".join(f"--param {r}" for r in result["next_ranges"])
        lines.append(f"next, finer search: errorscope suggest {ranges}")
    print("\n".join(lines))


def _pair(text: str, option: str, form: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ErrorscopeError(f"cannot read {option} {text!r}; write {form}")
    return name.strip(), value.strip()


def cmd_suggest(args: argparse.Namespace) -> None:
    from analysis.sampler import narrow, parse_param, points_frame, sample

    params = [parse_param(p) for p in args.param]
    if args.from_runs:
        from analysis.runs import choose, next_ranges, parse_objective, parse_threshold, read_runs

        if not args.optimize:
            raise ErrorscopeError("--from-runs needs --optimize METRIC:min|max to find the promising runs")
        frame = read_runs(args.from_runs)
        choice = choose(frame, parse_objective(args.optimize), [parse_threshold(t) for t in args.satisfy])
        known = [p for p in params if p.name in frame.columns]
        ranges = next_ranges(frame, choice, {p.name: p.scale for p in known})
        params = narrow(params, {r.param: (r.low, r.high) for r in ranges})
    frame = points_frame(sample(params, args.n, seed=args.seed))
    if args.csv:
        sys.stdout.write(frame.to_csv(index=False, float_format="%.6g"))
        return
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def _serve(file: str | None, *, db: str | None, host: str, port: int, dataset: str | None = None,
           human: float | None = None, data_root: str | None = None, image_hosts: Sequence[str] = (),
           media: str | None = None, media_pattern: str | None = None, texts: str | None = None,
           engine: str = "duckdb") -> int:
    """Start the dashboard (blocks until it stops); the uploads of this run are deleted when it stops."""
    import shutil
    import signal
    import subprocess
    import tempfile

    from analysis.limits import MAX_UPLOAD_MB
    from analysis.tags import is_url

    env = dict(os.environ)
    env["ERRORSCOPE_DATA_ROOT"] = str(Path(data_root or os.getcwd()).resolve())
    env["ERRORSCOPE_IMAGE_HOSTS"] = ",".join(image_hosts)
    env["ERRORSCOPE_ENGINE"] = engine  # the Data page's choice at start
    uploads = tempfile.mkdtemp(prefix="errorscope-uploads-")
    env["ERRORSCOPE_UPLOAD_DIR"] = uploads
    if file is not None:
        env["ERRORSCOPE_FILE"] = str(Path(file).resolve())
    if db is not None:
        env["ERRORSCOPE_DB"] = db if is_url(db) else str(Path(db).resolve())
    if dataset is not None:
        env["ERRORSCOPE_DATASET"] = dataset
    if human is not None:
        env["ERRORSCOPE_HUMAN_ERROR"] = str(human)
    if media is not None:
        env["ERRORSCOPE_MEDIA"], env["ERRORSCOPE_MEDIA_PATTERN"] = str(Path(media).resolve()), media_pattern
    if texts is not None:
        env["ERRORSCOPE_TEXTS"] = str(Path(texts).resolve())
    # -P: a module in the working folder (say a click.py) must not shadow the ones streamlit imports
    cmd = [sys.executable, "-P", "-m", "streamlit", "run", str(APP_SCRIPT), "--server.headless", "true",
           "--client.toolbarMode", "minimal", "--client.showErrorDetails", "none",
           "--server.maxUploadSize", str(MAX_UPLOAD_MB),
           "--browser.gatherUsageStats", "false", "--server.address", host, "--server.port", str(port)]
    print(f"errorscope: serving on http://{host}:{port}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped by a service manager: still clean up
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(uploads, ignore_errors=True)


def cmd_app(args: argparse.Namespace) -> int:
    if args.file is not None:  # refuse a missing file or unknown columns here; the app reports the rest
        from analysis.columns import detect_columns
        from analysis.load import file_columns
        from analysis.tasks import detect_layout

        names = file_columns(args.file)
        if detect_layout(names, source=args.file).kind == "single":
            detect_columns(names, source=args.file)
    if args.media is not None:
        from analysis.images import check_media_pattern

        check_media_pattern(args.media_pattern)
        if not Path(args.media).is_dir():
            raise ErrorscopeError(f"--media {args.media}: no such folder")
    if args.texts is not None:
        from analysis.texts import read_texts

        read_texts(args.texts, [])
    return _serve(args.file, db=args.db, host=args.host, port=args.port, dataset=args.dataset,
                  human=args.human_error, data_root=args.data_root, image_hosts=args.allow_image_host,
                  media=args.media, media_pattern=args.media_pattern, texts=args.texts, engine=args.engine)


def cmd_demo(args: argparse.Namespace) -> int:
    from analysis.demo import demo_config

    config = demo_config()
    return _serve(config["path"], db=args.db, host=args.host, port=args.port, dataset=config["dataset"],
                  human=config["human_error"], data_root=args.data_root, image_hosts=args.allow_image_host,
                  engine=args.engine)


def _engine_options(parser: argparse.ArgumentParser) -> None:
    from analysis.engine import ENGINES

    parser.add_argument("--engine", choices=ENGINES, default=os.environ.get("ERRORSCOPE_ENGINE", "duckdb"),
                        help="engine that reads the file (default: $ERRORSCOPE_ENGINE or duckdb; spark needs "
                             "pip install 'errorscope[spark]')")
    parser.add_argument("--spark-remote", metavar="URL",
                        help="a Spark Connect server for --engine spark, e.g. sc://host:15002 (default: "
                             "$SPARK_REMOTE, else a local Spark)")


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="tag database: a SQLite file or a postgresql://user@host/db URL "
                        "(default: $ERRORSCOPE_DB or ./errorscope.db)")


def _format_options(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")


def _server_options(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    _engine_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8501, help="port (default: 8501)")
    parser.add_argument("--data-root", help="the folder whose files the app may open (default: the working folder)")
    parser.add_argument("--allow-image-host", action="append", default=[], metavar="HOST",
                        help="a host whose http(s) image URLs the browser may load (repeat for more; default: none)")


def _task_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="one task of a multi-task file (README, 'Several tasks')")


def _tag_options(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    _engine_options(parser)
    parser.add_argument("--dataset", required=True, help="dataset name of the tags")
    _task_option(parser)


def _tags_parser(sub) -> None:
    """``errorscope tags import|export``."""
    p = sub.add_parser("tags", help="import or export the tag sheet (one column per error category)")
    tags = p.add_subparsers(dest="tags_command", metavar="{import,export}", required=True,
                            parser_class=_Parser)
    t = tags.add_parser("import", help="read a tag sheet (CSV) into the tag store: all of it or nothing")
    t.add_argument("predictions", help="predictions file the sheet's ids come from (CSV or Parquet)")
    t.add_argument("sheet", help="the tag sheet (CSV)")
    _tag_options(t)
    t.add_argument("--create-categories", action="store_true",
                   help="add the categories of unknown columns instead of refusing the sheet")
    t.set_defaults(run=cmd_tags_import)
    t = tags.add_parser("export", help="write the tag sheet as CSV")
    _tag_options(t)
    t.add_argument("--predictions",
                   help="predictions file: adds y_true, y_pred, split (and confidence) columns")
    t.add_argument("-o", "--output", help="file to write (default: standard output)")
    t.set_defaults(run=cmd_tags_export)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("errorscope")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``, looked up only when asked (the lookup would cost every command ~50 ms)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"errorscope {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from analysis.rankings import DEFAULT_METHOD, METHODS

    parser = _Parser(prog="errorscope", description="Error analysis for classifiers.")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("summary", help="per-split metrics and the bias/variance gaps of a predictions file")
    p.add_argument("file", help="predictions file (CSV or Parquet)")
    p.add_argument("--human-error", type=fraction, help="human-level error, a fraction (0.04) or percentage (4%%)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _task_option(p)
    _engine_options(p)
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser("confusion", help="the confusion matrix (rows true, columns predicted)")
    p.add_argument("file", help="predictions file (CSV or Parquet)")
    p.add_argument("--split", help="one split (default: all rows)")
    _task_option(p)
    p.add_argument("--weighted", action="store_true", help="sum example weights instead of counting")
    p.add_argument("--normalize", choices=["true", "pred", "all"], help="divide by row, column or total sums")
    _format_options(p)
    _engine_options(p)
    p.set_defaults(run=cmd_confusion)

    p = sub.add_parser("label-issues", help="likely label errors of a split, most likely first (needs p_* columns); "
                       "reads and checks the rows of that split alone")
    p.add_argument("file", help="predictions file (CSV or Parquet) with out-of-sample p_<class> columns")
    p.add_argument("--split", default="dev", help="split to rank (default: dev)")
    _task_option(p)
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                   help=f"ranking (default: {DEFAULT_METHOD})")
    p.add_argument("--top", type=_positive, default=20, help="how many examples to list (default: 20)")
    _format_options(p)
    _engine_options(p)
    p.set_defaults(run=cmd_label_issues)

    p = sub.add_parser("slices", help="the slices (conjunctions of metadata values) where the model errs most")
    p.add_argument("file", help="predictions file (CSV or Parquet)")
    p.add_argument("--split", default="dev", help="split to slice (default: dev)")
    p.add_argument("--columns", help="comma-separated columns to slice by (default: all)")
    p.add_argument("--max-predicates", type=_positive, default=3, help="values per slice, 1 to 3 (default: 3)")
    p.add_argument("--min-support", type=_positive, help="fewest rows in a slice (default: 1%% of the split)")
    p.add_argument("--alpha", type=float, default=0.95, help="weight of error against size (default: 0.95)")
    p.add_argument("--top", type=_positive, default=10, help="how many slices (default: 10)")
    _format_options(p)
    _engine_options(p)
    p.set_defaults(run=cmd_slices)

    _tags_parser(sub)
    _shift_parsers(sub)

    p = sub.add_parser("tallies",
                       help="which error category explains what share of a split's reviewed errors")
    p.add_argument("predictions", help="predictions file (CSV or Parquet)")
    _tag_options(p)
    p.add_argument("--split", default="dev", help="split to tally (default: dev)")
    _format_options(p)
    p.set_defaults(run=cmd_tallies)

    p = sub.add_parser("compare", help="two models' predictions of the same examples: differences and their "
                       "significance")
    p.add_argument("a", help="predictions of model A, the baseline (CSV or Parquet)")
    p.add_argument("b", help="predictions of model B of the same examples (same ids)")
    p.add_argument("--split", help="one split (default: every split)")
    p.add_argument("--metric", choices=["accuracy", "error_rate", "macro_f1"], default="accuracy",
                   help="the metric whose difference B - A gets an interval (default: accuracy)")
    p.add_argument("--shared", action="store_true", help="compare on the ids both files hold when they differ")
    p.add_argument("--json", action="store_true", help="print JSON")
    _engine_options(p)
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("runs", help="the best run meeting every threshold, scales and importance of hyperparameters")
    p.add_argument("file", help="runs table (CSV or Parquet, one row per run), or a folder with params.csv")
    p.add_argument("--optimize", required=True, metavar="METRIC:min|max",
                   help="the optimizing metric, a column or an expression of columns (dev_error:min)")
    p.add_argument("--satisfy", action="append", default=[], metavar="METRIC<=X",
                   help="a satisficing threshold (latency_ms<=100); repeat for more")
    p.add_argument("--params", help="the hyperparameter columns, comma-separated (default: the non-metric columns)")
    p.add_argument("--scale", action="append", default=[], metavar="PARAM=SCALE",
                   help="a hyperparameter's scale: linear, log or log1m (default: detected)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_runs)

    p = sub.add_parser("suggest", help="random points for the next runs, each parameter on its scale")
    p.add_argument("--param", action="append", required=True, metavar="NAME=KIND:LOW:HIGH",
                   help="kind: float, log, 1-log, int or int-log (lr=log:1e-4:1); repeat for each parameter")
    p.add_argument("--from-runs", metavar="FILE", help="narrow to the promising region of this runs table")
    p.add_argument("--optimize", metavar="METRIC:min|max", help="with --from-runs: the optimizing metric")
    p.add_argument("--satisfy", action="append", default=[], metavar="METRIC<=X",
                   help="with --from-runs: a satisficing threshold")
    p.add_argument("--n", type=_positive, default=20, help="how many points (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--csv", action="store_true", help="print CSV: a header of the names, one row per point")
    p.set_defaults(run=cmd_suggest)

    p = sub.add_parser("app", help="start the dashboard")
    p.add_argument("file", nargs="?", help="predictions file to open")
    p.add_argument("--dataset", help="dataset name for tags (default: the file's name)")
    p.add_argument("--human-error", type=fraction, help="human-level error, a fraction or percentage")
    p.add_argument("--media", metavar="DIR", help="folder of the examples' images, for a file without an image "
                   "column (each named by --media-pattern)")
    p.add_argument("--media-pattern", default="{id}.png", help="an image's name in --media, {id} for the "
                   "example's id (default: {id}.png)")
    p.add_argument("--texts", metavar="FILE", help="a CSV or Parquet file of the examples' texts (columns id and "
                   "text), for a file without a text column")
    _server_options(p)
    p.set_defaults(run=cmd_app)

    p = sub.add_parser("demo", help="start the dashboard on the demo data")
    _server_options(p)
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "spark_remote", None):  # read by the Spark engine, here and in the app's server
        os.environ["SPARK_REMOTE"] = args.spark_remote
    try:
        return args.run(args) or 0
    except ErrorscopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
