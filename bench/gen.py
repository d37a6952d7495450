"""Synthetic predictions files for the benchmarks: deterministic, generated in chunks, cached in bench/data/.

Run from the project folder::

    python bench/gen.py 1000000 10000000           # CSV and Parquet of each size
    python bench/gen.py 100000000 --parquet-only   # Parquet only
    python bench/gen.py 10000000 --parquet-only --model b   # a second model of the same examples (compare)

Each file has ``id``, ``split`` (train, train_dev, dev, test), ``y_true`` and ``y_pred`` (the classes
"0".."9"), ``p_0``..``p_9`` (softmax outputs whose argmax is ``y_pred``, rounded to 8 decimals, so each row
sums to 1 within 5e-8) and ``weight``. Rows are made in chunks of one million, chunk ``i`` from its own seed
``(SEED, i)``, so a file of any size never sits in memory and the first million rows of every file are the
same. Labels are strings in Parquet; in the unquoted CSV they are bare digits (which readers take for
integers, as they would in a real export).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent / "data"
SEED = 20240611
CHUNK = 1_000_000
CLASSES = [str(c) for c in range(10)]
#: Share of rows in each split and the model's error rate there (train 7%, train_dev 10%, dev and test 12%).
SPLITS = {"train": (0.70, 0.07), "train_dev": (0.10, 0.10), "dev": (0.10, 0.12), "test": (0.10, 0.12)}
#: How often each true class occurs (mildly imbalanced, like most real label sets).
CLASS_SHARE = np.array([14, 12, 11, 10, 10, 10, 9, 9, 8, 7], dtype=float) / 100


def chunk_table(index: int, rows: int) -> pa.Table:
    """Rows ``index * CHUNK`` to ``index * CHUNK + rows`` of every benchmark file."""
    rng = np.random.default_rng([SEED, index])
    names = list(SPLITS)
    shares = np.array([SPLITS[s][0] for s in names])
    error_rates = np.array([SPLITS[s][1] for s in names])
    split = rng.choice(len(names), size=rows, p=shares)
    y_true = rng.choice(len(CLASSES), size=rows, p=CLASS_SHARE)
    wrong = rng.random(rows) < error_rates[split]
    y_pred = np.where(wrong, (y_true + rng.integers(1, len(CLASSES), size=rows)) % len(CLASSES), y_true)

    logits = rng.standard_normal((rows, len(CLASSES))) * 1.5
    top = logits.max(axis=1)
    logits[np.arange(rows), y_pred] = top + rng.exponential(1.5, size=rows) + 0.05
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs = np.round(probs, 8)

    weight = np.round(rng.gamma(4.0, 0.25, size=rows), 2)
    split_names = pa.array(names)
    labels = pa.array(CLASSES)
    columns = {
        "id": pa.array(np.arange(index * CHUNK, index * CHUNK + rows, dtype=np.int64)),
        "split": split_names.take(pa.array(split)),
        "y_true": labels.take(pa.array(y_true)),
        "y_pred": labels.take(pa.array(y_pred)),
    }
    for c, name in enumerate(CLASSES):
        columns[f"p_{name}"] = pa.array(probs[:, c])
    columns["weight"] = pa.array(weight)
    return pa.table(columns)


#: Model B (the compare benchmark): of model A's mistakes it fixes this share, of its right answers it breaks this.
B_FIXES, B_BREAKS = 0.4, 0.04


def second_model(table: pa.Table, index: int) -> pa.Table:
    """Model B's predictions of chunk ``index``: the same examples (ids, splits, labels, weights), A's predictions
    with some mistakes fixed and some right answers broken; each changed row's probabilities of its old and new
    predicted class swapped, so that the argmax stays the prediction and the row's sum is unchanged."""
    rng = np.random.default_rng([SEED, index, 2])
    rows = table.num_rows
    index_of = {c: i for i, c in enumerate(CLASSES)}
    y_true = np.array([index_of[c] for c in table["y_true"].to_pylist()])
    y_pred = np.array([index_of[c] for c in table["y_pred"].to_pylist()])
    wrong = y_pred != y_true
    fix = wrong & (rng.random(rows) < B_FIXES)
    broken = ~wrong & (rng.random(rows) < B_BREAKS)
    new = np.where(fix, y_true, y_pred)
    new = np.where(broken, (y_true + rng.integers(1, len(CLASSES), size=rows)) % len(CLASSES), new)
    probs = np.column_stack([table[f"p_{c}"].to_numpy() for c in CLASSES])
    changed = np.flatnonzero(new != y_pred)
    old_p, new_p = probs[changed, y_pred[changed]].copy(), probs[changed, new[changed]].copy()
    probs[changed, y_pred[changed]], probs[changed, new[changed]] = new_p, old_p
    table = table.set_column(table.schema.get_field_index("y_pred"), "y_pred", pa.array(CLASSES).take(pa.array(new)))
    for c, name in enumerate(CLASSES):
        table = table.set_column(table.schema.get_field_index(f"p_{name}"), f"p_{name}", pa.array(probs[:, c]))
    return table


def paths(rows: int, model: str = "a") -> tuple[Path, Path]:
    """The CSV and Parquet files of ``rows`` rows (of model B's predictions: ``preds_b_...``)."""
    stem = f"preds{'_b' if model == 'b' else ''}_"
    stem += f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows}"
    return DATA / f"{stem}.csv", DATA / f"{stem}.parquet"


def generate(rows: int, *, csv: bool = True, parquet: bool = True, quiet: bool = False, model: str = "a"
             ) -> list[Path]:
    """Write the missing files of ``rows`` rows (a file that exists is kept); return the requested paths.

    Each file is written under a temporary name and renamed when complete, so an interrupted run leaves no
    half-written file behind to be mistaken for a cached one.
    """
    csv_path, pq_path = paths(rows, model)
    wanted = [p for p, on in ((csv_path, csv), (pq_path, parquet)) if on]
    todo = [p for p in wanted if not p.exists()]
    if not todo:
        return wanted
    DATA.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if not quiet:
        print(f"generating {', '.join(p.name for p in todo)} ({rows:,} rows)...", file=sys.stderr, flush=True)
    tmp = {p: p.with_name(p.name + ".tmp") for p in todo}
    schema = chunk_table(0, 1).schema
    # Unquoted, like pandas' to_csv (no value here contains a comma or a quote).
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=64 * 1024)
    csv_writer = (pacsv.CSVWriter(str(tmp[csv_path]), schema, write_options=options)
                  if csv_path in tmp else None)
    pq_writer = (pq.ParquetWriter(str(tmp[pq_path]), schema, compression="snappy")
                 if pq_path in tmp else None)
    try:
        for index in range((rows + CHUNK - 1) // CHUNK):
            table = chunk_table(index, min(CHUNK, rows - index * CHUNK))
            if model == "b":
                table = second_model(table, index)
            if csv_writer is not None:
                csv_writer.write_table(table)
            if pq_writer is not None:
                pq_writer.write_table(table, row_group_size=CHUNK)
    except BaseException:
        for p in tmp.values():
            p.unlink(missing_ok=True)
        raise
    finally:
        if csv_writer is not None:
            csv_writer.close()
        if pq_writer is not None:
            pq_writer.close()
    for final, partial in tmp.items():
        os.replace(partial, final)
    if not quiet:
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:,.0f} MiB" for p in todo)
        print(f"  {sizes} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return wanted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="+", help="row counts")
    parser.add_argument("--parquet-only", action="store_true", help="skip the CSV")
    parser.add_argument("--model", choices=["a", "b"], default="a",
                        help="b: a second model's predictions of the same examples (preds_b_...)")
    args = parser.parse_args()
    for rows in args.rows:
        for path in generate(rows, csv=not args.parquet_only, model=args.model):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
